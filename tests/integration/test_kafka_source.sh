#!/usr/bin/env bash
# test_kafka_source.sh - the Kafka source against librdkafka's mock cluster (3 brokers), kcat as the
# independent producer (issue 18).
#
# kcat produces N numbered records into topic src (6 partitions). relayd reads them with the Kafka source
# (group g1, batchSize 5000) into a file channel and a file_roll sink, and is SIGKILLed 5 times while it
# reads, each time restarted. At the end every number is in the file_roll output at least once (offsets are
# committed only after the channel committed, so a kill never skips records), and the duplicates are
# bounded by the batches in flight at the kills. Also: the headers Flume's source sets (topic, partition,
# offset, timestamp, key) and /metrics' KafkaEventGetTimer / KafkaCommitTimer / KafkaEmptyCount.
PYTHON=${PYTHON:-/usr/bin/python3}
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/kafka_lib.sh"

N=$(it_scaled 500000)
T_START=$(it_now_ms)
kafka_mock_start src:6 hdr:1

seq 0 $((N - 1)) | kcat -P -b "$KAFKA_BS" -t src 2>"$IT_TMP/kcat.err" || it_fail "kcat could not produce: $(cat "$IT_TMP/kcat.err")"
echo "body-1" | kcat -P -b "$KAFKA_BS" -t hdr -k key-1 2>>"$IT_TMP/kcat.err" || it_fail "kcat could not produce"

it_log "produced after $(($(it_now_ms) - T_START)) ms"
out="$IT_TMP/out"
hdr="$IT_TMP/hdr"
mkdir -p "$out" "$hdr"
mport=$(it_free_port)
cat >"$IT_TMP/a.conf" <<EOF
a.sources = r1 r2
a.channels = c1 c2
a.sinks = k1 k2
a.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
a.sources.r1.channels = c1
a.sources.r1.kafka.bootstrap.servers = $KAFKA_BS
a.sources.r1.kafka.topics = src
a.sources.r1.kafka.consumer.group.id = g1
a.sources.r1.kafka.consumer.auto.offset.reset = earliest
a.sources.r1.batchSize = 5000
a.sources.r1.batchDurationMillis = 200
# a killed member leaves the group after the session timeout: keep it short so the restart gets the partitions
a.sources.r1.kafka.consumer.session.timeout.ms = 3000
a.sources.r1.kafka.consumer.heartbeat.interval.ms = 500
# static membership: the restarted relayd takes the killed member's place without waiting for its session
a.sources.r1.kafka.consumer.group.instance.id = relayd-test-r1
a.channels.c1.type = file
a.channels.c1.checkpointDir = $IT_TMP/fc/checkpoint
a.channels.c1.dataDirs = $IT_TMP/fc/data
a.channels.c1.minimumRequiredSpace = 1048576
a.channels.c1.transactionCapacity = 5000
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $out
a.sinks.k1.sink.rollInterval = 0
a.sinks.k1.sink.batchSize = 5000
a.sources.r2.type = kafka
a.sources.r2.channels = c2
a.sources.r2.kafka.bootstrap.servers = $KAFKA_BS
a.sources.r2.kafka.topics.regex = ^hd.$
a.sources.r2.kafka.consumer.auto.offset.reset = earliest
a.sources.r2.batchDurationMillis = 100
a.sources.r2.batchSize = 100
a.sources.r2.kafka.consumer.session.timeout.ms = 3000
a.sources.r2.kafka.consumer.heartbeat.interval.ms = 500
a.channels.c2.type = memory
a.sinks.k2.type = file_roll
a.sinks.k2.channel = c2
a.sinks.k2.sink.directory = $hdr
a.sinks.k2.sink.rollInterval = 0
a.sinks.k2.sink.serializer = header_and_text
a.monitoring.type = http
a.monitoring.port = $mport
a.monitoring.bind = 127.0.0.1
EOF

check() {
  "$PYTHON" "$IT_TOOLS/fc_seqcheck.py" --count "$N" --allow-partial "$@" "$out"
}
t0=$(it_now_ms)
for kill in 1 2 3 4 5; do
  it_start a -n a -f "$IT_TMP/a.conf"
  want=$((kill * N / 7)) # fixed marks: the reading may outrun a kill, never the last mark
  it_wait_lines "$out" "$want" 30 a
  kill -KILL "$(it_pid a)"
  it_wait_exit a 10
  it_log "SIGKILL $kill after $(it_lines "$out") lines"
done
it_start a -n a -f "$IT_TMP/a.conf"
deadline=$(($(it_now_ms) + 40000))
until check --poll >"$IT_TMP/check.out"; do
  it_alive a || it_fail "relayd exited"
  [ "$(it_now_ms)" -lt "$deadline" ] || {
    cat "$IT_TMP/check.out"
    it_fail "not every record reached the sink after the kills"
  }
  sleep 0.5
done
# at-least-once: each kill re-reads at most the batches not yet committed (a few of batchSize, at most 4 x
# 5000 per kill with the asynchronous offset commit), and the
# file_roll sink re-writes at most its batch in flight
it_log "every record in the sink $(($(it_now_ms) - t0)) ms after the first start"
check --max-duplicates 100000 || it_fail "more duplicates than the batches in flight at the kills explain"

it_log "checked after $(($(it_now_ms) - T_START)) ms"
echo "body-2" | kcat -P -b "$KAFKA_BS" -t hdr -k key-2 2>>"$IT_TMP/kcat.err" || it_fail "kcat could not produce"
# the headers of Flume's Kafka source (file_roll's header_and_text serializer: "{k=v, ...} body")
deadline=$(($(it_now_ms) + 20000))
until grep -q body-2 "$hdr"/* 2>/dev/null; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "the hdr records did not arrive"
  sleep 0.2
done
line=$(grep body-1 "$hdr"/* | head -n 1)
for want in 'topic=hdr' 'partition=0' 'offset=0' 'key=key-1' 'timestamp=[0-9]{13}' 'body-1'; do
  echo "$line" | grep -qE "$want" || it_fail "header line '$line' lacks $want"
done

curl -sf "http://127.0.0.1:$mport/metrics" >"$IT_TMP/metrics.json" || it_fail "GET /metrics failed"
"$PYTHON" - "$IT_TMP/metrics.json" <<'EOF' || it_fail "/metrics lacks the Kafka source counters"
import json, sys
metrics = json.load(open(sys.argv[1]))
for k in ("KafkaEventGetTimer", "KafkaCommitTimer", "KafkaEmptyCount"):
    assert k in metrics["SOURCE.r1"], (k, metrics["SOURCE.r1"])
# since the last restart r1 may have had nothing left to read; r2 read body-2
m = metrics["SOURCE.r2"]
assert int(m["EventAcceptedCount"]) > 0, m
print("metrics: KafkaCommitTimer=%s KafkaEmptyCount=%s" % (m["KafkaCommitTimer"], m["KafkaEmptyCount"]))
EOF
it_log "headers and metrics checked after $(($(it_now_ms) - T_START)) ms"
it_stop a
exit 0
