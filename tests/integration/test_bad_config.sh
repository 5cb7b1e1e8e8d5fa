#!/usr/bin/env bash
# test_bad_config.sh - configuration problems: the right FILE:LINE lines and exit statuses.
#
# One file plants a problem of each kind (malformed line, bad \u escape, unknown type, port out of range on a
# continued line, unknown channel in a source, transactionCapacity > capacity, source and sink batch sizes >
# transactionCapacity). `relayd --check` must print one "FILE:LINE: component: key: message" line for each,
# naming the line where the entry starts, and exit 1; run for real, relayd logs the same lines at WARN and
# starts what survived. Then: nothing runnable (exit 1 with a message, with and without --check), an agent
# name the file does not have, a missing file, ${env:VAR} substitution, and good configurations (the
# bundled conf/relayd.conf agents edge, collector, terminal and demo included) for which --check prints no
# problem and exits 0.
. "$(dirname "$0")/lib.sh"

# line_of FILE TEXT: number of the first line of FILE containing TEXT.
line_of() {
  grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1
}

# expect_problem OUTPUT CONF TEXT REGEX [warn]: OUTPUT has a line "CONF:N: " + REGEX, N the line of CONF holding
# TEXT; with "warn", a log line "... WARN  [...] CONF:N: " + REGEX instead (relayd running, not --check).
expect_problem() {
  local output=$1 conf=$2 n lead=^
  n=$(line_of "$conf" "$3")
  [ -n "$n" ] || it_fail "test bug: '$3' not in $conf"
  [ "${5:-}" = warn ] && lead='WARN +\[[^]]*\] '
  it_assert_grep "problem on line $n ($3)" "$output" "$lead$(printf '%s' "$conf" | sed 's/[.[\*^$]/\\&/g'):$n: $4"
}

port=$(it_free_port)
bad="$IT_TMP/bad.conf"
cat >"$bad" <<EOF
# Every line marked below holds one problem that --check must name.
a.sources = r1 r2 r3 r4
a.channels = c1 c2
a.sinks = k1 k2
a.sources.r1.type = seq
a.sources.r1.totalEvents = 5
# r1: an unknown channel is dropped from the list, r1 keeps c1
a.sources.r1.channels = c1 nosuch
# r2: unknown type
a.sources.r2.type = nosuchtype
a.sources.r2.channels = c1
a.sources.r3.type = seq
# r3: batch size above c1's transactionCapacity
a.sources.r3.batchSize = 500
a.sources.r3.channels = c1
a.sources.r4.type = netcat
a.sources.r4.bind = 127.0.0.1
# r4: port out of range, on a continued line
a.sources.r4.port = 70\\
   000
a.sources.r4.channels = c1
a.channels.c1.type = memory
a.channels.c1.capacity = 1000
a.channels.c1.transactionCapacity = 100
a.channels.c2.type = memory
a.channels.c2.capacity = 10
# c2: transactionCapacity above capacity
a.channels.c2.transactionCapacity = 20
a.sinks.k1.type = null
a.sinks.k1.channel = c1
# k1: batch size above c1's transactionCapacity
a.sinks.k1.batchSize = 200
a.sinks.k2.type = logger
a.sinks.k2.channel = c1
# malformed: a key without a value
a.sinks.k2.maxBytesToLog
# malformed: a bad \\u escape
a.sinks.k2.bogus\\uZZ = 1
EOF

it_run_expect check-bad 1 --check -n a -f "$bad"
out="$IT_TMP/check-bad.out"
expect_problem "$out" "$bad" "r2.type = nosuchtype" 'sources\.r2: type: .*nosuchtype'
expect_problem "$out" "$bad" "r3.batchSize = 500" 'sources\.r3: batchSize: '
expect_problem "$out" "$bad" "r4.port = 70" 'sources\.r4: port: .*70000'
expect_problem "$out" "$bad" "r1.channels = c1 nosuch" 'sources\.r1: channels: .*nosuch'
expect_problem "$out" "$bad" "c2.transactionCapacity = 20" 'channels\.c2: transactionCapacity: '
expect_problem "$out" "$bad" "k1.batchSize = 200" 'sinks\.k1: batchSize: '
expect_problem "$out" "$bad" "k2.maxBytesToLog" ''
expect_problem "$out" "$bad" 'bogus\uZZ' ''
it_assert_grep "--check summary" "$out" "agent a: [0-9]+ problem"
it_assert_no_grep "--check output is for stdout only" "$IT_TMP/check-bad.log" 'problem'

# Run for real: the same lines as warnings, and r1 (seq) -> c1 -> k2 (logger) still runs.
it_start bad -n a -f "$bad"
it_wait_log bad 'agent a ready'
expect_problem "$IT_TMP/bad.log" "$bad" "r2.type = nosuchtype" 'sources\.r2: type: .*nosuchtype' warn
expect_problem "$IT_TMP/bad.log" "$bad" "c2.transactionCapacity = 20" 'channels\.c2: transactionCapacity: ' warn
it_wait_log bad 'INFO +\[sink:logger:k2\] .*Event' 5
it_assert_no_grep "removed components do not start" "$IT_TMP/bad.log" '\[source:[^]]*:(r2|r3|r4)\].*listening'
it_stop bad

# Nothing runnable: the only source has an unknown type, the only sink an unknown channel.
dead="$IT_TMP/dead.conf"
cat >"$dead" <<EOF
d.sources = r1
d.channels = c1
d.sinks = k1
d.sources.r1.type = nosuchtype
d.sources.r1.channels = c1
d.channels.c1.type = memory
d.sinks.k1.type = null
d.sinks.k1.channel = nosuchchannel
EOF
it_run_expect dead-run 1 -n d -f "$dead"
it_assert_grep "nothing runnable message" "$IT_TMP/dead-run.log" 'ERROR.*nothing runnable'
expect_problem "$IT_TMP/dead-run.log" "$dead" "r1.type = nosuchtype" 'sources\.r1: type: ' warn
it_run_expect dead-check 1 --check -n d -f "$dead"
it_assert_grep "nothing runnable in --check" "$IT_TMP/dead-check.out" 'nothing runnable'
expect_problem "$IT_TMP/dead-check.out" "$dead" "k1.channel = nosuchchannel" 'sinks\.k1: channel: .*nosuchchannel'

# An agent the file does not define, and a file that does not exist.
it_run_expect no-agent 1 -n nosuchagent -f "$bad"
it_assert_grep "unknown agent is named" "$IT_TMP/no-agent.log" 'nosuchagent'
it_run_expect no-file 1 -n d -f "$IT_TMP/missing.conf"
it_assert_grep "missing file is named" "$IT_TMP/no-file.log" 'missing\.conf'

# Good configurations: no problem lines, exit 0.
good="$IT_TMP/good.conf"
cat >"$good" <<EOF
# a comment
! another comment
g.sources = r1
g.channels = c1
g.sinks = k1
g.sources.r1.type = netcat
g.sources.r1.bind : 127.0.0.1
g.sources.r1.port   \${env:IT_GOOD_PORT}
g.sources.r1.channels = c1
g.channels.c1.type = MEMORY
g.channels.c1.capacity = 100
g.channels.c1.transactionCapacity = 100
g.sinks.k1.type = org.apache.flume.sink.NullSink
g.sinks.k1.channel = c1
g.sinks.k1.batchSize = 100
# other agents in the same file are not looked at
other.sources.r1.type = nosuchtype
EOF
export IT_GOOD_PORT=$port
it_run_expect good 0 --check -n g -f "$good"
it_assert_eq "good --check output" "$good: agent g: 0 problem(s)" "$(cat "$IT_TMP/good.out")"
it_start good -n g -f "$good"
it_wait_listening good 1
it_assert_grep "port from \${env:IT_GOOD_PORT}" "$IT_TMP/good.log" "listening bind=127\.0\.0\.1 port=$port( |$)"
it_stop good
# Without the variable, the reference cannot be resolved: a problem on that line.
unset IT_GOOD_PORT
it_run_expect good-noenv 1 --check -n g -f "$good"
expect_problem "$IT_TMP/good-noenv.out" "$good" 'IT_GOOD_PORT' ''

mkdir -p /tmp/relayd-demo # the demo agent's file_roll directory, as scripts/demo creates it
for agent in edge collector terminal demo; do
  it_check_clean "bundled-$agent" -n "$agent" -f "$TOP_SRCDIR/conf/relayd.conf"
done
echo "PASS: $IT_NAME"
