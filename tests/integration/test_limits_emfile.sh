#!/usr/bin/env bash
# test_limits_emfile.sh - out of file descriptors, every listener rests instead of spinning (issue 16, fault 2).
#
# relayd runs with `ulimit -n 64`: an Avro, a Thrift, an HTTP and a syslogtcp source and the monitoring
# endpoint. A client opens 120 idle connections to the Avro source, more than relayd has descriptors for, and
# keeps them open; two more clients then connect to the HTTP and syslog sources (their connections wait in
# the kernel's backlog, so those listeners fail to accept too). Then:
#   - relayd uses little CPU over 3 s (under 0.5 s of user+system time; before the fix the Avro listener spun
#     in libevent's accept loop, using a whole core and logging "Error from accept() call" thousands of times
#     a second);
#   - the log holds at most a few "accept failed" lines (one per 10 s per listener), among them one from
#     each of the Avro, HTTP and syslog listeners;
#   - the start-up warned that max-connections (default 512) is above the descriptor limit;
#   - once the client closes its connections, every listener accepts again by itself: an Avro ping is
#     answered, the Thrift source takes an event, the HTTP source answers a JSON post with 200, the syslog
#     source takes a message (EventAcceptedCount, SIGUSR1), and /health answers.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PEER="$IT_TOOLS/limits_peer.py"
pa=$(it_free_port)
pt=$(it_free_port)
pm=$(it_free_port)
ph=$(it_free_port)
ps=$(it_free_port)
cat >"$IT_TMP/e.conf" <<CONF
e.sources = a t h s
e.channels = c1
e.sinks = k1
e.sources.a.type = avro
e.sources.a.bind = 127.0.0.1
e.sources.a.port = $pa
e.sources.a.channels = c1
e.sources.t.type = thrift
e.sources.t.bind = 127.0.0.1
e.sources.t.port = $pt
e.sources.t.channels = c1
e.sources.h.type = http
e.sources.h.bind = 127.0.0.1
e.sources.h.port = $ph
e.sources.h.channels = c1
e.sources.s.type = syslogtcp
e.sources.s.host = 127.0.0.1
e.sources.s.port = $ps
e.sources.s.channels = c1
e.channels.c1.type = memory
e.sinks.k1.type = null
e.sinks.k1.channel = c1
CONF
# relayd alone gets the small descriptor limit (exec keeps the pid it_start records).
cat >"$IT_TMP/relayd-64" <<WRAP
#!/usr/bin/env bash
ulimit -n 64
exec "$RELAYD" "\$@"
WRAP
chmod +x "$IT_TMP/relayd-64"
RELAYD="$IT_TMP/relayd-64" it_start e -n e -f "$IT_TMP/e.conf" --metrics-port "$pm"
it_wait_listening e 4
pid=$(it_pid e)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

mkfifo "$IT_TMP/hold"
waiters=()
"$PY" "$PEER" many "$pa" 120 <"$IT_TMP/hold" >"$IT_TMP/many.out" 2>&1 &
client=$!
exec 9>"$IT_TMP/hold"
deadline=$(($(it_now_ms) + 30000))
until grep -q '^opened=' "$IT_TMP/many.out"; do
  kill -0 "$client" 2>/dev/null || it_fail "client died: $(cat "$IT_TMP/many.out")"
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "client did not connect in 30 s"
  sleep 0.1
done
for p in "$ph" "$ps"; do
  "$PY" "$PEER" many "$p" 3 <"$IT_TMP/hold" >"$IT_TMP/many-$p.out" 2>&1 9>&- &
  waiters+=($!)
done
sleep 1 # relayd has accepted what it could
t0=$(cpu_ticks)
sleep 3
t1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
it_log "relayd CPU over 3 s while out of descriptors: $((t1 - t0)) ticks (CLK_TCK $hz)"
[ $((t1 - t0)) -lt $((hz / 2)) ] || it_fail "relayd used $((t1 - t0)) ticks of CPU in 3 s while out of descriptors"
it_assert_grep "one line saying why" "$IT_TMP/e.log" \
  'WARN +\[source:avro:a\] accept failed, listener paused error=.*failed_accepts=[0-9]+ retry_s=1'
it_assert_grep "start-up warning" "$IT_TMP/e.log" 'WARN +\[source:avro:a\] max-connections=512 is close to or above'
for s in http:h syslogtcp:s; do
  it_assert_grep "$s rests too" "$IT_TMP/e.log" "WARN +\[source:$s\] accept failed, listener paused"
done
lines=$(it_count "$IT_TMP/e.log" 'accept')
[ "$lines" -le 12 ] || it_fail "$lines log lines about accept in a few seconds"
it_alive e || it_fail "relayd died"

# The descriptors come back: every listener accepts again by itself.
exec 9>&-
wait "$client" || it_fail "client failed: $(cat "$IT_TMP/many.out")"
wait "${waiters[@]}" || it_fail "http/syslog clients failed: $(cat "$IT_TMP"/many-*.out)"
sleep 2 # the listeners retry every second
"$PY" "$PEER" idle "$pa" 0.5 >"$IT_TMP/ping.out" 2>&1 || it_fail "avro ping after recovery: $(cat "$IT_TMP/ping.out")"
"$PY" "$IT_TOOLS/thrift_abuse.py" "$pt" compact normal back >"$IT_TMP/thrift.out" 2>&1 \
  || it_fail "thrift after recovery: $(cat "$IT_TMP/thrift.out")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data '[{"headers":{},"body":"after EMFILE"}]' "http://127.0.0.1:$ph/") || true
[ "$code" = 200 ] || it_fail "http source after recovery answered '$code'"
"$PY" - "$ps" <<'PY' || it_fail "syslog after recovery"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"<13>Jan  1 00:00:00 host after EMFILE\n")
s.close()
PY
kill -USR1 "$pid"
it_wait_log e '\[source:syslogtcp:s\] counters .*EventAcceptedCount=1( |$)' 1 30
"$PY" "$PEER" http-get "$pm" /health >"$IT_TMP/health.out" 2>&1 || it_fail "health: $(cat "$IT_TMP/health.out")"
it_assert_grep "health answered" "$IT_TMP/health.out" '^status=200$'
it_stop e
