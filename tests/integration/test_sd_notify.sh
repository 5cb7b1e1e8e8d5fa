#!/usr/bin/env bash
# test_sd_notify.sh - systemd's notify protocol (issue 15): READY=1 once every source listens, RELOADING=1
# then READY=1 around SIGHUP, STOPPING=1 on SIGTERM, STATUS= lines, WATCHDOG=1 every WATCHDOG_USEC/2, an
# abstract NOTIFY_SOCKET (@name), no watchdog pings when WATCHDOG_PID names another process, and no
# notification variables left for the commands the exec source runs. The test is the service manager: it
# binds the datagram socket itself (tests/tools/dgram_sink.py).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/dgram_lib.sh"

p1=$(it_free_port)
p2=$(it_free_port)
cat >"$IT_TMP/a.conf" <<EOF2
a.sources = n1 n2 x
a.channels = c
a.sinks = k
a.sources.n1.type = netcat
a.sources.n1.bind = 127.0.0.1
a.sources.n1.port = $p1
a.sources.n1.channels = c
a.sources.n2.type = netcat
a.sources.n2.bind = 127.0.0.1
a.sources.n2.port = $p2
a.sources.n2.channels = c
a.sources.x.type = exec
a.sources.x.shell = /bin/sh -c
a.sources.x.command = echo "env:\${NOTIFY_SOCKET:-none}:\${WATCHDOG_USEC:-none}"
a.sources.x.channels = c
a.channels.c.type = memory
a.sinks.k.type = logger
a.sinks.k.channel = c
EOF2

dgram_listen notify "$IT_TMP/notify.sock"
NOTIFY_SOCKET="$IT_TMP/notify.sock" WATCHDOG_USEC=1000000 it_start a -n a -f "$IT_TMP/a.conf"
dgram_wait "$IT_TMP/notify.jsonl" 'READY=1'
# READY came after both sources listened: their lines are in the log already and the ports accept.
[ "$(it_count "$IT_TMP/a.log" 'INFO +\[source:netcat:n[12]\] listening ')" -eq 2 ] ||
  it_fail "READY=1 sent before both sources were listening"
(exec 8<>"/dev/tcp/127.0.0.1/$p1") 2>/dev/null || it_fail "READY=1 but port $p1 refuses"
it_assert_grep "STATUS with READY" "$IT_TMP/notify.jsonl" 'READY=1\\nSTATUS=agent a running: 3 source\(s\), 1 channel\(s\), 1 sink\(s\)"'
it_assert_no_grep "nothing before READY" <(head -n 1 "$IT_TMP/notify.jsonl") 'RELOADING|STOPPING'
# The exec source's command sees no notification variables.
it_wait_log a 'env:none:none'

# Watchdog pings: WATCHDOG_USEC=1 s, so every 0.5 s. Generous bounds on a loaded machine: no two pings
# closer than 0.35 s, and never a gap the service manager would punish (1 s).
dgram_wait "$IT_TMP/notify.jsonl" 'WATCHDOG=1' 6
"$PYTHON" - "$IT_TMP/notify.jsonl" <<'PY' || it_fail "watchdog pings not at WATCHDOG_USEC/2"
import json, sys
t = [m["t"] for m in map(json.loads, open(sys.argv[1])) if m["data"] == "WATCHDOG=1"]
gaps = [b - a for a, b in zip(t, t[1:])]
print("# watchdog gaps: " + " ".join("%.3f" % g for g in gaps))
sys.exit(0 if gaps and min(gaps) >= 0.35 and max(gaps) < 1.0 and 0.4 <= sum(gaps) / len(gaps) <= 0.8 else 1)
PY

# SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1 again.
kill -HUP "$(it_pid a)"
dgram_wait "$IT_TMP/notify.jsonl" 'READY=1' 2
"$PYTHON" - "$IT_TMP/notify.jsonl" <<'PY' || it_fail "SIGHUP: RELOADING=1 then READY=1 expected"
import json, sys
states = [m["data"] for m in map(json.loads, open(sys.argv[1])) if m["data"] != "WATCHDOG=1"]
print("# " + repr(states))
ok = (len(states) == 3 and states[0].startswith("READY=1\n") and states[1].startswith("RELOADING=1\nMONOTONIC_USEC=")
      and states[2].startswith("READY=1\nSTATUS=agent a running"))
sys.exit(0 if ok else 1)
PY

it_stop a
dgram_wait "$IT_TMP/notify.jsonl" 'STOPPING=1'
it_assert_grep "STOPPING with a status" "$IT_TMP/notify.jsonl" '"STOPPING=1\\nSTATUS=stopping"'

# Abstract socket; WATCHDOG_PID of another process: READY, but no pings.
abstract="@relayd-test-$$-$RANDOM"
dgram_listen abs "$abstract"
cat >"$IT_TMP/b.conf" <<EOF2
b.sources = s
b.channels = c
b.sinks = k
b.sources.s.type = seq
b.sources.s.totalEvents = 1
b.sources.s.channels = c
b.channels.c.type = memory
b.sinks.k.type = null
b.sinks.k.channel = c
EOF2
NOTIFY_SOCKET="$abstract" WATCHDOG_USEC=200000 WATCHDOG_PID=1 it_start b -n b -f "$IT_TMP/b.conf"
dgram_wait "$IT_TMP/abs.jsonl" 'READY=1'
sleep 0.6
it_stop b
dgram_wait "$IT_TMP/abs.jsonl" 'STOPPING=1'
it_assert_no_grep "no watchdog for another WATCHDOG_PID" "$IT_TMP/abs.jsonl" 'WATCHDOG=1'

# A start that fails says why in STATUS= (systemctl status shows it), and never READY=1.
sed -e 's/^b.sinks.k.type = null/b.sinks.k.type = file_roll/' "$IT_TMP/b.conf" >"$IT_TMP/fail.conf"
echo "b.sinks.k.sink.directory = $IT_TMP/no/such/dir" >>"$IT_TMP/fail.conf"
dgram_listen failing "$IT_TMP/fail.sock"
NOTIFY_SOCKET="$IT_TMP/fail.sock" it_run_expect fail 1 -n b -f "$IT_TMP/fail.conf"
dgram_wait "$IT_TMP/failing.jsonl" '"STATUS=cannot start agent b: sink k'
it_assert_no_grep "no READY after a failed start" "$IT_TMP/failing.jsonl" 'READY=1'

# Without NOTIFY_SOCKET nothing is sent anywhere, and nothing is said about systemd.
it_start c -n b -f "$IT_TMP/b.conf"
it_wait_log c 'agent b ready in'
it_stop c
it_assert_no_grep "silent without NOTIFY_SOCKET" "$IT_TMP/c.log" 'systemd|NOTIFY'
