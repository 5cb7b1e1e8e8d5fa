#!/usr/bin/env bash
# test_limits_monitor.sh - the monitoring endpoint's limits (issue 16, fault 4).
#
#   - a request trickled one byte per second is dropped, unanswered, by the 10 s deadline (before the fix the
#     10 s limit was an idle timeout: the request was answered after about 34 s);
#   - 150 idle connections: relayd never holds more than 64 of them (its open descriptors stay under 64 plus
#     its own; before the fix it held all 150), and once the deadline dropped them /health answers again.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PEER="$IT_TOOLS/limits_peer.py"
pm=$(it_free_port)
cat >"$IT_TMP/m.conf" <<CONF
m.sources = s
m.channels = c1
m.sinks = k1
m.sources.s.type = seq
m.sources.s.totalEvents = 1
m.sources.s.channels = c1
m.channels.c1.type = memory
m.sinks.k1.type = null
m.sinks.k1.channel = c1
CONF
it_start m -n m -f "$IT_TMP/m.conf" --metrics-port "$pm"
it_wait_port m "$pm"
pid=$(it_pid m)
fds() { find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
base_fds=$(fds)

# ---- a trickled request meets the deadline
"$PY" "$PEER" http-trickle "$pm" 1 40 >"$IT_TMP/trickle.out" 2>&1 || it_fail "trickle: $(cat "$IT_TMP/trickle.out")"
cat "$IT_TMP/trickle.out"
it_assert_grep "trickled request dropped by the deadline" "$IT_TMP/trickle.out" '^closed_after=(9|1[0-6])\.'
it_assert_grep "one line" "$IT_TMP/m.log" 'WARN +\[monitoring:http\] closing connection: request not complete within 10 s'

# ---- at most 64 connections
mkfifo "$IT_TMP/hold"
"$PY" "$PEER" many "$pm" 150 <"$IT_TMP/hold" >"$IT_TMP/many.out" 2>&1 &
client=$!
exec 9>"$IT_TMP/hold"
deadline=$(($(it_now_ms) + 30000))
until grep -q '^opened=' "$IT_TMP/many.out"; do
  kill -0 "$client" 2>/dev/null || it_fail "client died: $(cat "$IT_TMP/many.out")"
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "client did not connect in 30 s"
  sleep 0.1
done
sleep 1
held=$(($(fds) - base_fds))
it_log "descriptors held for 150 idle monitoring connections: $held"
[ "$held" -le 64 ] || it_fail "relayd holds $held descriptors for idle monitoring connections (cap 64)"
it_assert_grep "listener paused line" "$IT_TMP/m.log" 'WARN +\[monitoring:http\] listener paused: 64 connections open'
exec 9>&-
wait "$client"
"$PY" "$PEER" http-get "$pm" /health >"$IT_TMP/health.out" 2>&1 || it_fail "health: $(cat "$IT_TMP/health.out")"
it_assert_grep "health answered" "$IT_TMP/health.out" '^status=200$'
it_stop m
