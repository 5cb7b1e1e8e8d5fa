#!/usr/bin/env bash
# test_redis_stream.sh - the redis_stream plugin: at least once from a Redis stream across SIGKILLs (issue 17).
#
# Starts redis-server on a free loopback port (no persistence), loads the in-tree redis_stream plugin from a
# plugins.d layout (--plugins-path) and runs redis_stream -> file channel -> file_roll. A producer XADDs
# N=$(it_scaled 200000) numbered entries in chunks while relayd is SIGKILLed 5 times and restarted; the
# bookmark lives in a file (bookmarkFile) for the first agent and is checked to hold the last id at the end.
# Every number must arrive at least once; duplicates are bounded by the batches in flight at each kill (one
# source batch between the channel commit and the bookmark write, one sink batch between the file write and
# the take commit). A second source keeps its bookmark in a Redis key and starts at "$" (new entries only).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/fc_lib.sh"

so="$TOP_BUILDDIR/plugins/redis_stream/.libs/redis_stream.so"
if [ ! -f "$so" ]; then
  grep -q '^HIREDIS_LIBS = .' "$TOP_BUILDDIR/Makefile" && it_fail "hiredis was found but $so is not built"
  it_skip "hiredis not found by configure: the redis_stream plugin is not built"
fi
command -v redis-server >/dev/null || it_skip "redis-server is not installed"
command -v redis-cli >/dev/null || it_skip "redis-cli is not installed"

N=$(it_scaled 200000)
KILLS=5
BATCH=1000
CHUNKS=20
port=$(it_free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$IT_TMP/redis.log" 2>&1 &
IT_PIDS[redis]=$!
deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
  it_alive redis || it_fail "redis-server exited"
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "redis-server does not answer"
  sleep 0.05
done
rcli() { redis-cli -p "$port" "$@"; }

mkdir -p "$IT_TMP/plugins.d/redis_stream/lib" "$IT_TMP/out"
ln -s "$so" "$IT_TMP/plugins.d/redis_stream/lib/redis_stream.so"
# One entry exists before the start: startId = $ skips it, startId = 0 reads it (number N, beyond the range).
rcli XADD s1 '*' body "$N" >/dev/null
{
  echo "a.sources = r1 r2"
  echo "a.channels = c1 c2"
  echo "a.sinks = k1 k2"
  echo "a.sources.r1.type = redis_stream"
  echo "a.sources.r1.port = $port"
  echo "a.sources.r1.stream = s1"
  echo "a.sources.r1.batchSize = $BATCH"
  echo "a.sources.r1.bookmarkFile = $IT_TMP/bookmark"
  echo "a.sources.r1.backoffSleepIncrement = 100"
  echo "a.sources.r1.maxBackoffSleep = 500"
  echo "a.sources.r1.channels = c1"
  echo "a.sources.r2.type = redis_stream"
  echo "a.sources.r2.port = $port"
  echo "a.sources.r2.stream = s2"
  echo "a.sources.r2.startId = \$"
  echo "a.sources.r2.channels = c2"
  echo "a.channels.c2.type = memory"
  echo "a.sinks.k2.type = file_roll"
  echo "a.sinks.k2.channel = c2"
  echo "a.sinks.k2.sink.directory = $IT_TMP/out2"
  echo "a.sinks.k2.sink.rollInterval = 0"
  echo "a.sinks.k2.sink.batchSize = 1"
  fc_conf_file_channel a "$IT_TMP/fc" 1000000 "$BATCH"
  echo "a.sinks.k1.type = file_roll"
  echo "a.sinks.k1.channel = c1"
  echo "a.sinks.k1.sink.directory = $IT_TMP/out"
  echo "a.sinks.k1.sink.rollInterval = 0"
  echo "a.sinks.k1.sink.batchSize = $BATCH"
} >"$IT_TMP/a.conf"
mkdir -p "$IT_TMP/out2"
rcli XADD s2 '*' body before >/dev/null
start() { fc_start a -n a -f "$IT_TMP/a.conf" --plugins-path "$IT_TMP/plugins.d"; }
start
it_wait_log a '\[source:redis_stream:r1\] connected'
it_wait_log a '\[source:redis_stream:r2\] reading stream s2 after id [0-9]+-[0-9]+ \(startId\)'
rcli XADD s2 '*' body after >/dev/null
it_wait_lines "$IT_TMP/out2" 1 "$IT_TIMEOUT" a # memory channel c2: before the kills

# The producer: CHUNKS pipelines of XADD, spread over a few seconds.
"$PYTHON" - "$N" "$CHUNKS" "$IT_TMP" <<'PYEOF'
import sys
n, chunks, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
per = (n + chunks - 1) // chunks
for c in range(chunks):
    with open("%s/chunk%d" % (tmp, c), "wb") as f:
        for i in range(c * per, min(n, (c + 1) * per)):
            body = str(i).encode()
            f.write(b"*5\r\n$4\r\nXADD\r\n$2\r\ns1\r\n$1\r\n*\r\n$4\r\nbody\r\n$%d\r\n%s\r\n" % (len(body), body))
PYEOF
(
  for ((c = 0; c < CHUNKS; c++)); do
    redis-cli -p "$port" --pipe <"$IT_TMP/chunk$c" >>"$IT_TMP/pipe.log" 2>&1 || exit 1
    sleep 0.15
  done
) &
PRODUCER=$!

for ((k = 0; k < KILLS; k++)); do
  sleep "0.$((300 + RANDOM % 400))"
  fc_kill a
  start
done
wait "$PRODUCER" || it_fail "redis-cli --pipe failed: $(tail -n 3 "$IT_TMP/pipe.log")"
it_assert_eq "entries in the stream" "$((N + 1))" "$(rcli XLEN s1)"

deadline=$(($(it_now_ms) + 60000))
until "$PYTHON" "$IT_TOOLS/fc_seqcheck.py" --poll --count "$((N + 1))" "$IT_TMP/out" >"$IT_TMP/poll.out"; do
  it_alive a || it_fail "relayd exited while draining"
  [ "$(it_now_ms)" -le "$deadline" ] || { cat "$IT_TMP/poll.out"; it_fail "not every entry arrived in 60 s"; }
  sleep 0.3
done
it_stop a
it_log "$(cat "$IT_TMP/poll.out")"
fc_seqcheck --count "$((N + 1))" --allow-partial --max-duplicates $((KILLS * 2 * BATCH)) "$IT_TMP/out"
# The bookmark holds the last committed id: the stream's last entry.
it_assert_eq "bookmark file" "$(rcli XREVRANGE s1 + - COUNT 1 | head -n 1)" "$(cat "$IT_TMP/bookmark")"
# startId = $: only the entry added after the start; its bookmark is in the default Redis key.
it_assert_eq "r2 read only the new entry" "after" "$(it_cat_dir "$IT_TMP/out2")"
it_assert_eq "r2 bookmark key" "$(rcli XREVRANGE s2 + - COUNT 1 | head -n 1)" "$(rcli GET relayd:bookmark:s2:r2)"
