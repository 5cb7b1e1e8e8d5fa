#!/usr/bin/env bash
# test_operator_config.sh - what a new operator (or one coming from Flume) types and gets (issue 19).
#
# ssl = true works on RPC sinks while Kerberos is refused, a number that does not parse removes its
# component, a channel nothing reads is reported at start and on /health, a component that cannot start
# makes relayd exit 1 (Flume's keep-running behaviour behind --keep-running-on-start-failure) and --check
# finds what it can in advance (port in use, missing sink directory), messages say what to do (known
# types, "did you mean", the agents a file defines, ${env:NAME}, the configuration file in use), and
# Flume's command line works.
. "$(dirname "$0")/lib.sh"

# ---- security keys on sinks: ssl = true is accepted (TLS, issue 13); kerberos removes the sink
sec="$IT_TMP/sec.conf"
cat >"$sec" <<EOF
s.sources = r1
s.channels = c1
s.sinks = k1 k2 k3
s.sources.r1.type = seq
s.sources.r1.channels = c1
s.channels.c1.type = memory
s.sinks.k1.type = avro
s.sinks.k1.hostname = 127.0.0.1
s.sinks.k1.port = 4141
s.sinks.k1.ssl = true
s.sinks.k1.channel = c1
s.sinks.k2.type = thrift
s.sinks.k2.hostname = 127.0.0.1
s.sinks.k2.port = 4142
s.sinks.k2.ssl = true
s.sinks.k2.channel = c1
s.sinks.k3.type = thrift
s.sinks.k3.hostname = 127.0.0.1
s.sinks.k3.port = 4143
s.sinks.k3.kerberos = true
s.sinks.k3.channel = c1
EOF
it_run_expect sec 1 --check -n s -f "$sec"
it_assert_no_grep "ssl on an avro sink is accepted" "$IT_TMP/sec.out" "sinks\.k1: ssl"
it_assert_no_grep "ssl on a thrift sink is accepted" "$IT_TMP/sec.out" "sinks\.k2: ssl"
it_assert_no_grep "sinks with ssl are not removed" "$IT_TMP/sec.out" "sink k[12] removed"
it_assert_grep "kerberos on a thrift sink" "$IT_TMP/sec.out" "^$sec:20: sinks\.k3: kerberos: Kerberos.*sink k3 removed"
it_assert_no_grep "ssl is not an unknown key" "$IT_TMP/sec.out" 'ssl: unknown key'

# ---- a number that does not parse removes the component, it is not replaced by the default
num="$IT_TMP/num.conf"
cat >"$num" <<EOF
n.sources = r1
n.channels = c1 c2
n.sinks = k1 k2
n.sources.r1.type = seq
n.sources.r1.channels = c1 c2
n.channels.c1.type = memory
n.channels.c1.capacity = 10k
n.channels.c2.type = memory
n.sinks.k1.type = null
n.sinks.k1.channel = c1
n.sinks.k2.type = null
n.sinks.k2.channel = c2
EOF
it_run_expect num 1 --check -n n -f "$num"
it_assert_grep "10k is refused" "$IT_TMP/num.out" "^$num:7: channels\.c1: capacity: '10k' is not an integer; channel c1 removed"
it_assert_no_grep "no default instead" "$IT_TMP/num.out" 'using default'

# ---- a channel nothing reads: a WARN line at start and /health says so
port=$(it_free_port)
mport=$(it_free_port)
unread="$IT_TMP/unread.conf"
cat >"$unread" <<EOF
u.sources = r1
u.channels = c1 c2
u.sinks = k1 k2
u.sources.r1.type = netcat
u.sources.r1.bind = 127.0.0.1
u.sources.r1.port = $port
u.sources.r1.channels = c1 c2
u.channels.c1.type = memory
u.channels.c2.type = memory
u.sinks.k1.type = null
u.sinks.k1.channel = c1
u.sinks.k2.type = null
u.sinks.k2.channel = c2
u.sinks.k2.batchSize = lots
EOF
it_run_expect unread-check 1 --check -n u -f "$unread"
it_assert_grep "--check: unread channel" "$IT_TMP/unread-check.out" \
  "^$unread:9: channels\.c2: nothing reads this channel: its sink\(s\) k2 do not run"
it_start unread -n u -f "$unread" --metrics-port "$mport"
it_wait_listening unread 1
it_assert_grep "WARN at start" "$IT_TMP/unread.log" 'WARN .*channels\.c2: nothing reads this channel'
health=$("$PYTHON" - "$mport" <<'PYEOF'
import json, sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=10)
    code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
doc = json.loads(body)
print(code, doc["status"], doc["down"].get("CHANNEL.c2", "-"), doc["components"].get("CHANNEL.c1", "-"))
PYEOF
)
case "$health" in
"503 DOWN nothing reads this channel"*" UP") ;;
*) it_fail "/health should name the unread channel c2 (and c1 UP): $health" ;;
esac
it_stop unread

# ---- a component that cannot start: exit 1 by default, Flume's behaviour on request; --check knows
busy="$IT_TMP/busy.conf"
cat >"$busy" <<EOF
b.sources = r1 r2
b.channels = c1
b.sinks = k1
b.sources.r1.type = netcat
b.sources.r1.bind = 127.0.0.1
b.sources.r1.port = $port
b.sources.r1.channels = c1
b.sources.r2.type = seq
b.sources.r2.channels = c1
b.channels.c1.type = memory
b.sinks.k1.type = null
b.sinks.k1.channel = c1
EOF
it_start holder -n u -f "$unread" # holds $port
it_wait_listening holder 1
it_run_expect busy-check 1 --check -n b -f "$busy"
it_assert_grep "--check: port in use" "$IT_TMP/busy-check.out" \
  "^$busy:4: sources\.r1: would not start: cannot listen on 127\.0\.0\.1:$port: Address already in use"
it_run_expect busy 1 -n b -f "$busy"
it_assert_grep "start failure named" "$IT_TMP/busy.log" "ERROR .*cannot start agent b: source r1 cannot start: .*$port"
it_assert_no_grep "never ready" "$IT_TMP/busy.log" 'agent b (started|ready)'
it_start keep -n b -f "$busy" --keep-running-on-start-failure
it_wait_log keep 'agent b ready'
it_assert_grep "keep-running drops the source" "$IT_TMP/keep.log" 'ERROR +\[source:netcat:r1\] cannot start, source removed'
it_stop keep
it_stop holder

roll="$IT_TMP/roll.conf"
cat >"$roll" <<EOF
f.sources = r1
f.channels = c1
f.sinks = k1
f.sources.r1.type = seq
f.sources.r1.channels = c1
f.channels.c1.type = memory
f.sinks.k1.type = file_roll
f.sinks.k1.channel = c1
f.sinks.k1.sink.directory = $IT_TMP/no-such-dir
EOF
it_run_expect roll-check 1 --check -n f -f "$roll"
it_assert_grep "--check: missing directory" "$IT_TMP/roll-check.out" \
  "^$roll:7: sinks\.k1: would not start: .*no-such-dir: No such file or directory"
it_run_expect roll 1 -n f -f "$roll"
it_assert_grep "missing directory at start" "$IT_TMP/roll.log" 'ERROR .*cannot start agent f: sink k1 cannot start'
mkdir "$IT_TMP/no-such-dir"
it_run_expect roll-ok 0 --check -n f -f "$roll"

# ---- messages that say what to do
typo="$IT_TMP/typo.conf"
cat >"$typo" <<EOF
t.sources = r1 r2
t.channels = c1
t.sinks = k1
t.sources.r1.type = netcta
t.sources.r1.channels = c1
t.sources.r2.type = netcat
t.sources.r2.bind = 127.0.0.1
t.sources.r2.prot = 4444
t.sources.r2.port = 0
t.sources.r2.channels = c1
t.channels.c1.type = memory
t.sinks.k1.type = null
t.sinks.k1.channel = c1
t.sinks.k1.batchsize = \${BATCH}
EOF
it_run_expect typo 1 --check -n t -f "$typo"
out="$IT_TMP/typo.out"
it_assert_grep "unknown type lists the known ones" "$out" \
  "^$typo:4: sources\.r1: type: unknown source type 'netcta' \(did you mean netcat\? known: [A-Za-z_, ]*seq[A-Za-z_, ]*\)"
it_assert_grep "did you mean port" "$out" "^$typo:8: sources\.r2: prot: unknown key for type netcat, ignored \(did you mean port\?\)"
it_assert_grep "did you mean batchSize" "$out" "^$typo:14: sinks\.k1: batchsize: .*did you mean batchSize\?"
it_assert_grep "\${NAME} points to \${env:NAME}" "$out" '\$\{BATCH\}: no such property.*\$\{env:BATCH\}'
it_assert_grep "configuration file logged" "$IT_TMP/typo.log" "INFO .*configuration file=$typo agent=t"
it_run_expect wrong-agent 1 --check -n colector -f "$typo"
it_assert_grep "-n lists the file's agents" "$IT_TMP/wrong-agent.out" 'no properties for agent colector; the file defines: t$'

# ---- Flume's command line
ok="$IT_TMP/ok.conf"
cat >"$ok" <<EOF
o.sources = r1
o.channels = c1
o.sinks = k1
o.sources.r1.type = seq
o.sources.r1.channels = c1
o.channels.c1.type = memory
o.sinks.k1.type = null
EOF
printf 'o.sinks.k1.channel = c1\n' >"$IT_TMP/ok2.conf"
it_run_expect flume-verb 0 agent --name o --conf-file "$ok" -f "$IT_TMP/ok2.conf" --check
it_assert_grep "-f twice merges" "$IT_TMP/flume-verb.out" "agent o: 0 problem"
it_run_expect flume-style 0 agent -n o -c "$IT_TMP" -f "$ok" -f "$IT_TMP/ok2.conf" --no-reload-conf \
  -Dflume.root.logger=INFO,LOGFILE --check
log="$IT_TMP/flume-style.log"
it_assert_grep "-c with -f explained" "$log" "INFO .*-c $IT_TMP: relayd reads no flume-env\.sh"
it_assert_grep "--no-reload-conf explained" "$log" 'INFO .*--no-reload-conf: the configuration files are not polled'
it_assert_grep "LOGFILE appender explained" "$log" "INFO .*appender 'LOGFILE' is not used"
it_run_expect stray 2 agent -n o -f "$ok" surplus
it_assert_grep "unexpected argument named" "$IT_TMP/stray.log" "unexpected argument 'surplus'"
it_run_expect avro-client 2 avro-client -H localhost -p 4141
it_assert_grep "flume-ng avro-client points to relay-send" "$IT_TMP/avro-client.log" 'relay-send'
echo "PASS: $IT_NAME"
