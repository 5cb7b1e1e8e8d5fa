#!/usr/bin/env bash
# test_file_channel_check.sh - `relayd --check` names file-channel directories that cannot be used.
#
# One agent has a good file channel c0 (used by the sink) and one channel per problem: checkpointDir is a
# regular file (c1); a data directory lies under a regular file, so it can never be created (c2; this
# stands for "no write permission", which root, who runs CI, does not feel); backupCheckpointDir under a
# regular file with useDualCheckpoints (c3); a channel whose dataDirs is c0's data directory (c4, written
# with a trailing slash: the same directory) and one whose checkpointDir is c0's data directory (c5); one
# channel that lists a directory twice in dataDirs (c6). --check must print one "FILE:LINE: channels.cN:
# KEY: ..." line for each, at the line of that key, exit 1, and create nothing. When not run as root, a
# read-only directory (chmod 0500) is checked too. Then a configuration with the good channel alone passes
# --check (exit 0, no problem line), and relayd run for real on the bad file logs the same problems at WARN
# and runs with c0 (the seq source's events are put into it).
. "$(dirname "$0")/lib.sh"

d="$IT_TMP/d"
mkdir -p "$d"
: >"$d/plain-file"
conf="$IT_TMP/bad.conf"
cat >"$conf" <<EOF
a.sources = r1
a.channels = c0 c1 c2 c3 c4 c5 c6
a.sinks = k1
a.sources.r1.type = seq
a.sources.r1.totalEvents = 10
a.sources.r1.channels = c0 c1 c2 c3 c4 c5 c6
a.sinks.k1.type = null
a.sinks.k1.channel = c0
a.channels.c0.type = file
a.channels.c0.checkpointDir = $d/c0/checkpoint
a.channels.c0.dataDirs = $d/c0/data
a.channels.c0.minimumRequiredSpace = 1048576
a.channels.c1.type = file
a.channels.c1.checkpointDir = $d/plain-file
a.channels.c1.dataDirs = $d/c1/data
a.channels.c2.type = file
a.channels.c2.checkpointDir = $d/c2/checkpoint
a.channels.c2.dataDirs = $d/c2/data1, $d/plain-file/data2
a.channels.c3.type = file
a.channels.c3.checkpointDir = $d/c3/checkpoint
a.channels.c3.dataDirs = $d/c3/data
a.channels.c3.useDualCheckpoints = true
a.channels.c3.backupCheckpointDir = $d/plain-file/backup
a.channels.c4.type = file
a.channels.c4.checkpointDir = $d/c4/checkpoint
a.channels.c4.dataDirs = $d/c0/data/
a.channels.c5.type = file
a.channels.c5.checkpointDir = $d/c0/data
a.channels.c5.dataDirs = $d/c5/data
a.channels.c6.type = file
a.channels.c6.checkpointDir = $d/c6/checkpoint
a.channels.c6.dataDirs = $d/c6/data,$d/c6/data
EOF

# line_of TEXT: number of the first line of the configuration that contains TEXT.
line_of() {
  grep -nF -- "$1" "$conf" | head -n 1 | cut -d: -f1
}

# expect OUTPUT CHANNEL KEY REGEX: OUTPUT has "CONF:N: channels.CHANNEL: KEY: " + REGEX + "; channel
# CHANNEL removed" (or, from a running relayd, the same after "WARN  [...] "), N the line of that key.
expect() {
  local output=$1 ch=$2 key=$3 n
  n=$(line_of "a.channels.$ch.$key =")
  it_assert_grep "$ch: $key on line $n" "$output" \
    "$(printf '%s' "$conf" | sed 's/[.[\*^$]/\\&/g'):$n: channels\\.$ch: $key: $4; channel $ch removed\$"
}

expect_all() {
  local esc_d
  esc_d=$(printf '%s' "$d" | sed 's/[.[\*^$]/\\&/g')
  expect "$1" c1 checkpointDir "$esc_d/plain-file cannot be used: not a directory"
  expect "$1" c2 dataDirs "$esc_d/plain-file/data2 cannot be used: not a directory"
  expect "$1" c3 backupCheckpointDir "$esc_d/plain-file/backup cannot be used: not a directory"
  expect "$1" c4 dataDirs "$esc_d/c0/data is also used by channel c0"
  expect "$1" c5 checkpointDir "$esc_d/c0/data is also used by channel c0"
  expect "$1" c6 dataDirs "$esc_d/c6/data is listed twice or is also a checkpoint directory"
}

it_run_expect check 1 -n a -f "$conf" --check
out="$IT_TMP/check.out"
cat "$IT_TMP/check.log" >>"$out"
expect_all "$out"
# six channels removed, each also dropped from r1's list: 12 problems, nothing else
it_assert_grep "problem count" "$out" "agent a: 12 problem\\(s\\)"
it_assert_eq "--check created no directory" "plain-file" "$(ls "$d")"

if [ "$(id -u)" != 0 ]; then
  mkdir -p "$d/readonly"
  chmod 0500 "$d/readonly"
  sed -i "s#^a.channels.c6.dataDirs = .*#a.channels.c6.dataDirs = $d/readonly/data#" "$conf"
  it_run_expect check-ro 1 -n a -f "$conf" --check
  cat "$IT_TMP/check-ro.log" >>"$IT_TMP/check-ro.out"
  it_assert_grep "read-only parent" "$IT_TMP/check-ro.out" \
    "channels\\.c6: dataDirs: .*/readonly/data cannot be used: Permission denied; channel c6 removed"
  chmod 0700 "$d/readonly"
  rmdir "$d/readonly"
  sed -i "s#^a.channels.c6.dataDirs = .*#a.channels.c6.dataDirs = $d/c6/data,$d/c6/data#" "$conf"
else
  it_log "running as root: permission bits are not checked (root may write anywhere)"
fi

good="$IT_TMP/good.conf"
sed -e 's/^a.channels = .*/a.channels = c0/' -e 's/^a.sources.r1.channels = .*/a.sources.r1.channels = c0/' \
  -e '/^a\.channels\.c[1-9]\./d' "$conf" >"$good"
it_run_expect good 0 -n a -f "$good" --check
it_assert_no_grep "good configuration: no problem" "$IT_TMP/good.out" ': channels\.'
it_assert_no_grep "good configuration: no problem" "$IT_TMP/good.log" ': channels\.'

# Run for real: the same problems at WARN, c0 starts (and creates its directories) and takes the events.
it_start run -n a -f "$conf"
it_wait_log run 'all events generated'
expect_run() {
  local n
  n=$(line_of "a.channels.$1.$2 =")
  it_assert_grep "running: $1 $2" "$IT_TMP/run.log" "WARN +.*:$n: channels\\.$1: $2: .*; channel $1 removed\$"
}
expect_run c1 checkpointDir
expect_run c4 dataDirs
expect_run c5 checkpointDir
[ -f "$d/c0/data/in_use.lock" ] || it_fail "c0 did not start: no lock file in its data directory"
it_stop run
it_assert_grep "c0 took the seq source's events" "$IT_TMP/run.log" 'channel:file:c0\] counters .*EventPutSuccessCount=10 '
echo "PASS: $IT_NAME"
