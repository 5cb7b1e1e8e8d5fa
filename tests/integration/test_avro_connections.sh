#!/usr/bin/env bash
# test_avro_connections.sh - one relayd event loop serves 1000 concurrent Avro RPC connections.
#
# 1000 clients connect at once to an avro source, each sends one append while all are open, every one must
# get BOTH + OK; the source's counters must show 1000 open connections at that moment and 1000 accepted
# events; after they close, 50 calls pipelined on one connection are answered in order, and a relay-send
# client is served normally. (max-connections is raised above its default of 512 for this.)
. "$(dirname "$0")/lib.sh"

N=1000
port=$(it_free_port)
conf="$IT_TMP/many.conf"
cat >"$conf" <<CONF
m.sources = r1
m.channels = c1
m.sinks = k1
m.sources.r1.type = avro
m.sources.r1.bind = 127.0.0.1
m.sources.r1.port = $port
m.sources.r1.channels = c1
m.sources.r1.max-connections = 1100
m.channels.c1.type = memory
m.channels.c1.capacity = 10000
m.sinks.k1.type = null
m.sinks.k1.channel = c1
CONF

it_start many -n m -f "$conf"
it_wait_listening many 1
fifo="$IT_TMP/hold"
mkfifo "$fifo"
RELAYD_PID=$(it_pid many) "$PYTHON" "$IT_TOOLS/avro_many_clients.py" "$port" "$N" <"$fifo" >"$IT_TMP/clients.out" &
client=$!
exec 9>"$fifo"
deadline=$(($(it_now_ms) + 60000))
until grep -q '^ok=' "$IT_TMP/clients.out"; do
  kill -0 "$client" 2>/dev/null || it_fail "client script died: $(cat "$IT_TMP/clients.out")"
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "clients did not finish in 60 s"
  sleep 0.05
done
it_assert_grep "every connection answered OK" "$IT_TMP/clients.out" "^ok=$N of $N"
it_wait_log many "OpenConnectionCount=$N" 1 10
it_assert_grep "all events accepted" "$IT_TMP/many.log" "EventAcceptedCount=$N "
exec 9>&-
wait "$client" || it_fail "client script failed"

# Pipelining: 50 calls written back to back on one connection; replies come back in order with their serials.
"$PYTHON" "$IT_TOOLS/avro_many_clients.py" "$port" pipeline 50 >"$IT_TMP/pipeline.out" 2>&1 || {
  cat "$IT_TMP/pipeline.out"
  it_fail "pipelined calls were not answered in order"
}

seq 1 100 | "$TOP_BUILDDIR/src/relay-send" -H "127.0.0.1:$port" --retry-timeout 5 || it_fail "relay-send after the crowd failed"
it_stop many
echo "PASS: $N concurrent connections served by one event loop"
