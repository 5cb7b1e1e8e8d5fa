#!/usr/bin/env bash
# test_log_targets.sh - where relayd logs (issue 15): --log-target=syslog with --log-facility (BSD syslog
# datagrams, facility and severity in <PRI>), the agent's log.target = journal key (journald's native
# protocol: MESSAGE, PRIORITY, COMPONENT and one field per key=value detail), the command line winning over
# the configuration, bad values (usage error, --check naming file:line), and stderr when nobody listens.
# The test binds the datagram sockets itself (tests/tools/dgram_sink.py); no syslog daemon or journald needed.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/dgram_lib.sh"

port=$(it_free_port)
cat >"$IT_TMP/a.conf" <<EOF2
a.sources = n
a.channels = c
a.sinks = k
a.sources.n.type = netcat
a.sources.n.bind = 127.0.0.1
a.sources.n.port = $port
a.sources.n.max-line-length = 16
a.sources.n.channels = c
a.channels.c.type = memory
a.sinks.k.type = null
a.sinks.k.channel = c
EOF2

# too_long: one line over max-line-length, which the source refuses with a warning.
too_long() {
  (exec 8<>"/dev/tcp/127.0.0.1/$port" && printf 'this line is longer than sixteen bytes\n' >&8) 2>/dev/null ||
    it_fail "cannot connect to port $port"
}

# ---- syslog, chosen on the command line: local3 = 19, so info is <158> and warn <156> ----
dgram_listen syslog "$IT_TMP/syslog.sock"
it_start s -n a -f "$IT_TMP/a.conf" --log-target=syslog --log-facility=local3 --log-socket="$IT_TMP/syslog.sock"
dgram_wait "$IT_TMP/syslog.jsonl" 'agent a ready in'
too_long
dgram_wait "$IT_TMP/syslog.jsonl" 'line too long'
pid=$(it_pid s)
it_assert_grep "syslog info line" "$IT_TMP/syslog.jsonl" \
  "\"<158>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} relayd\\[$pid\\]: \\[source:netcat:n\\] listening bind=127.0.0.1 port=$port\""
it_assert_grep "syslog warn line" "$IT_TMP/syslog.jsonl" "\"<156>.* relayd\\[$pid\\]: \\[source:netcat:n\\] line too long, closing connection peer="
it_stop s
it_assert_no_grep "nothing on stderr once the target is syslog" "$IT_TMP/s.log" 'listening|ready in'

# ---- journal, chosen by the configuration (log.* keys) ----
dgram_listen journal "$IT_TMP/journal.sock"
cp "$IT_TMP/a.conf" "$IT_TMP/j.conf"
cat >>"$IT_TMP/j.conf" <<EOF2
a.log.target = journal
a.log.socket = $IT_TMP/journal.sock
a.log.facility = local5
a.log.level = debug
EOF2
it_check_clean jcheck -n a -f "$IT_TMP/j.conf"
it_start j -n a -f "$IT_TMP/j.conf"
dgram_wait "$IT_TMP/journal.jsonl" 'agent a ready in'
too_long
dgram_wait "$IT_TMP/journal.jsonl" 'line too long'
it_stop j
"$PYTHON" - "$IT_TMP/journal.jsonl" "$port" <<'PY' || it_fail "journal fields"
import json, struct, sys

def fields(data):
    out, b = {}, data.encode("latin-1")
    while b:
        line, sep, rest = b.partition(b"\n")
        if b"=" in line:
            k, _, v = line.partition(b"=")
            out[k.decode()] = v.decode()
            b = rest
        else:  # binary form: NAME\n, le64 length, bytes, \n
            n = struct.unpack("<Q", rest[:8])[0]
            out[line.decode()] = rest[8:8 + n].decode()
            b = rest[8 + n + 1:]
    return out

msgs = [fields(m["data"]) for m in map(json.loads, open(sys.argv[1]))]
listen = [m for m in msgs if "listening" in m.get("MESSAGE", "")]
warn = [m for m in msgs if "line too long" in m.get("MESSAGE", "")]
debug = [m for m in msgs if m.get("PRIORITY") == "7"]
print("# " + repr(listen[:1] + warn[:1]))
want = {"MESSAGE": "[source:netcat:n] listening bind=127.0.0.1 port=" + sys.argv[2], "PRIORITY": "6",
        "SYSLOG_IDENTIFIER": "relayd", "SYSLOG_FACILITY": "21", "COMPONENT": "source:netcat:n",
        "BIND": "127.0.0.1", "PORT": sys.argv[2], "RELAYD_LEVEL": "INFO"}
ok = len(listen) == 1 and all(listen[0].get(k) == v for k, v in want.items())
ok = ok and len(warn) == 1 and warn[0]["PRIORITY"] == "4" and warn[0]["LIMIT"] == "16" and "PEER" in warn[0]
ok = ok and len(debug) > 0  # log.level = debug applied
sys.exit(0 if ok else 1)
PY

# ---- the command line wins over log.target; the configuration's level is not used with --log-level ----
it_start o -n a -f "$IT_TMP/j.conf" --log-target=stderr --log-level=info
it_wait_log o 'agent a ready in'
it_stop o
n_before=$(wc -l <"$IT_TMP/journal.jsonl")
it_assert_no_grep "--log-level wins over log.level" "$IT_TMP/o.log" 'DEBUG'
[ "$(wc -l <"$IT_TMP/journal.jsonl")" -eq "$n_before" ] || it_fail "--log-target=stderr still wrote to the journal"

# ---- nobody listening: lines go to stderr rather than being lost ----
it_start f -n a -f "$IT_TMP/a.conf" --log-target=journal --log-socket="$IT_TMP/nobody.sock"
it_wait_log f 'INFO +\[source:netcat:n\] listening'
it_stop f

# ---- bad values ----
it_run_expect badtarget 2 -n a -f "$IT_TMP/a.conf" --log-target=file
it_assert_grep "bad --log-target named" "$IT_TMP/badtarget.log" "unknown --log-target 'file'"
it_run_expect badfacility 2 -n a -f "$IT_TMP/a.conf" --log-target=syslog --log-facility=local9
it_assert_grep "bad --log-facility named" "$IT_TMP/badfacility.log" "local9"
cp "$IT_TMP/a.conf" "$IT_TMP/bad.conf"
printf 'a.log.target = file\na.log.facility = nowhere\na.log.colour = red\n' >>"$IT_TMP/bad.conf"
it_run_expect badconf 1 --check -n a -f "$IT_TMP/bad.conf"
it_assert_grep "bad log.target with file:line" "$IT_TMP/badconf.out" "bad.conf:12: log: target: 'file' is not one of stderr, syslog, journal"
it_assert_grep "bad log.facility" "$IT_TMP/badconf.out" "bad.conf:13: log: facility: 'nowhere'"
it_assert_grep "unknown log key" "$IT_TMP/badconf.out" "bad.conf:14: log: colour: unknown key"
