#!/usr/bin/env bash
# test_exec_backpressure.sh - exec source: a command writing faster than the channel drains.
#
# 1. `yes` into a memory channel of 1000 events whose only sink (avro, to a port where nothing listens)
#    never drains it: the channel fills, the source stops reading the pipe, `yes` blocks in write(), and
#    relayd's RSS stays under a generous bound while the source's received count stops growing (without
#    backpressure `yes` writes gigabytes per second into relayd's memory).
# 2. `seq 0 199999` into a channel of 200 events drained by file_roll: the source keeps hitting a full
#    channel, and every number still arrives exactly once and in order (nothing lost after the pipe).
. "$(dirname "$0")/lib.sh"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
received() { # NAME: the last EventReceivedCount logged by SIGUSR1
  kill -USR1 "$(it_pid "$1")"
  sleep 0.3
  grep -oE 'source:exec:r1\] counters EventReceivedCount=[0-9]+' "$IT_TMP/$1.log" | tail -n 1 | grep -oE '[0-9]+$'
}

dead_port=$(it_free_port)
cat >"$IT_TMP/a.conf" <<EOF
a.sources = r1
a.channels = c1
a.sinks = k1
a.sources.r1.type = exec
a.sources.r1.command = yes
a.sources.r1.batchSize = 100
a.sources.r1.channels = c1
a.channels.c1.type = memory
a.channels.c1.capacity = 1000
a.channels.c1.transactionCapacity = 100
a.channels.c1.keep-alive = 1
a.sinks.k1.type = avro
a.sinks.k1.channel = c1
a.sinks.k1.hostname = 127.0.0.1
a.sinks.k1.port = $dead_port
a.sinks.k1.connect-timeout = 500
EOF
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_log a 'command started pid='
sleep 2
r1=$(received a)
max_rss=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
  rss=$(rss_kb "$(it_pid a)")
  [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  sleep 0.2
done
r2=$(received a)
it_log "received: $r1 then $r2; peak RSS ${max_rss} kB"
[ -n "$r1" ] && [ -n "$r2" ] || it_fail "no counters logged"
[ "$r1" -ge 1000 ] || it_fail "only $r1 lines received: the channel never filled"
# Bounded by the channel, one batch in flight, the 64 KiB read buffer and a retry batch.
[ "$r2" -le 40000 ] || it_fail "the source kept reading: $r2 lines received with a channel of 1000"
[ "$max_rss" -lt 150000 ] || it_fail "RSS reached ${max_rss} kB"
yes_pid=$(grep -oE 'command started pid=[0-9]+' "$IT_TMP/a.log" | head -n 1 | grep -oE '[0-9]+$')
it_log "yes: $(awk '{print "state", $3}' "/proc/$yes_pid/stat")"
it_stop a
it_assert_grep "yes stopped" "$IT_TMP/a.log" "command stopped pid=$yes_pid"

out="$IT_TMP/out"
mkdir -p "$out"
cat >"$IT_TMP/b.conf" <<EOF
b.sources = r1
b.channels = c1
b.sinks = k1
b.sources.r1.type = exec
b.sources.r1.command = seq 0 199999
b.sources.r1.batchSize = 100
b.sources.r1.channels = c1
b.channels.c1.type = memory
b.channels.c1.capacity = 200
b.channels.c1.transactionCapacity = 100
b.sinks.k1.type = file_roll
b.sinks.k1.channel = c1
b.sinks.k1.sink.directory = $out
b.sinks.k1.sink.rollInterval = 0
b.sinks.k1.sink.batchSize = 100
EOF
it_start b -n b -f "$IT_TMP/b.conf"
it_wait_lines "$out" 200000 60 b
it_wait_log b 'command ended, not restarting'
it_stop b
it_seqcheck --count 200000 --ordered "$out"
echo "PASS: $IT_NAME"
