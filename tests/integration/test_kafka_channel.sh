#!/usr/bin/env bash
# test_kafka_channel.sh - the Kafka channel against librdkafka's mock cluster (3 brokers), kcat and
# python3-avro as Flume's side of the topics (issue 18).
#
# (1) relay-send -> avro source -> Kafka channel (topic ch, 6 partitions) -> two file_roll sinks (two threads
#     taking from the one consumer and committing in any order): N numbered events; relayd is SIGKILLed while
#     the second half is being put, and restarted (relay-send retries what was not acknowledged). Every number
#     reaches the sinks at least once: a put is acknowledged only after Kafka acknowledged it, and the
#     restarted channel resumes from the offsets its takes committed, never past a record still held by the
#     other sink's transaction; duplicates are bounded by the batches in flight at the kill.
# (2) parseAsFlumeEvent = true (the default), both ways: records the channel wrote are decoded by python3-avro
#     as Flume's AvroFlumeEvent (headers and body byte for byte, record key = the `key` header), and a record
#     python3-avro encoded as Flume would, produced by kcat, comes out of the channel with its headers.
# (3) parseAsFlumeEvent = false: the record is the body alone with the `key` header as key, and a plain
#     record produced by kcat comes out with only `key` as header; Flume's user guide spelling pollTimeout.
# (4) /metrics and /prometheus show Flume's KafkaChannelCounter names; --check refuses migrateZookeeperOffsets
#     and a defaultPartitionId that is not a partition number.
# (5) TAILDIR -> Kafka channel: the channel keeps what it committed through a crash, so the source writes its
#     position file once a backlog is read to its end (as with a file channel), not only every
#     writePosInterval (set to 10 minutes here): what a SIGKILL makes it read again stays bounded.
PYTHON=${PYTHON:-/usr/bin/python3}
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/kafka_lib.sh"

"$AVRO_PY" -c 'import avro.io' 2>/dev/null || it_skip "python3-avro is not installed"
kafka_mock_start ch:6 fmt:1 raw:1 tl:1
N=$(it_scaled 100000)
T_START=$(it_now_ms)

out="$IT_TMP/out"
out2="$IT_TMP/out2"
fmt="$IT_TMP/fmt"
raw="$IT_TMP/raw"
mkdir -p "$out" "$out2" "$fmt" "$raw"
port1=$(it_free_port)
port2=$(it_free_port)
port3=$(it_free_port)
mport=$(it_free_port)
# kafka_channel NAME TOPIC GROUP: a Kafka channel; a killed member leaves the group after the session timeout,
# kept short so that the restarted relayd gets the partitions at once.
kafka_channel() {
  cat <<EOF
a.channels.$1.type = org.apache.flume.channel.kafka.KafkaChannel
a.channels.$1.kafka.bootstrap.servers = $KAFKA_BS
a.channels.$1.kafka.topic = $2
a.channels.$1.kafka.consumer.group.id = $3
a.channels.$1.kafka.consumer.session.timeout.ms = 3000
a.channels.$1.kafka.consumer.heartbeat.interval.ms = 500
EOF
}
{
  cat <<EOF
a.sources = r1 r2 r3
a.channels = c1 c2 c3
a.sinks = k1 k1b k2 k3
a.sources.r1.type = avro
a.sources.r1.bind = 127.0.0.1
a.sources.r1.port = $port1
a.sources.r1.channels = c1
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $out
a.sinks.k1.sink.rollInterval = 0
a.sinks.k1.sink.batchSize = 1000
a.sinks.k1b.type = file_roll
a.sinks.k1b.channel = c1
a.sinks.k1b.sink.directory = $out2
a.sinks.k1b.sink.rollInterval = 0
a.sinks.k1b.sink.batchSize = 1000
a.sources.r2.type = avro
a.sources.r2.bind = 127.0.0.1
a.sources.r2.port = $port2
a.sources.r2.channels = c2
a.sinks.k2.type = file_roll
a.sinks.k2.channel = c2
a.sinks.k2.sink.directory = $fmt
a.sinks.k2.sink.rollInterval = 0
a.sinks.k2.sink.serializer = header_and_text
a.sources.r3.type = avro
a.sources.r3.bind = 127.0.0.1
a.sources.r3.port = $port3
a.sources.r3.channels = c3
a.channels.c3.parseAsFlumeEvent = false
a.channels.c3.pollTimeout = 100
a.sinks.k3.type = file_roll
a.sinks.k3.channel = c3
a.sinks.k3.sink.directory = $raw
a.sinks.k3.sink.rollInterval = 0
a.sinks.k3.sink.serializer = header_and_text
a.monitoring.type = http
a.monitoring.port = $mport
a.monitoring.bind = 127.0.0.1
EOF
  kafka_channel c1 ch g1
  kafka_channel c2 fmt g2
  kafka_channel c3 raw g3
} >"$IT_TMP/a.conf"

# (4) keys Flume removed with ZooKeeper are refused, named
{ cat "$IT_TMP/a.conf"; echo "a.channels.c2.migrateZookeeperOffsets = true"; } >"$IT_TMP/bad.conf"
it_run bad -n a -f "$IT_TMP/bad.conf" --check
[ "$IT_STATUS" -ne 0 ] || it_fail "--check accepted migrateZookeeperOffsets"
it_assert_grep "--check" "$IT_TMP/bad.out" 'channels.c2: migrateZookeeperOffsets: Kafka offsets are not kept in ZooKeeper'
# defaultPartitionId must be a partition number (the parsing is shared with the Kafka sink)
{ cat "$IT_TMP/a.conf"; echo "a.channels.c2.defaultPartitionId = 1x"; } >"$IT_TMP/bad2.conf"
it_run bad2 -n a -f "$IT_TMP/bad2.conf" --check
[ "$IT_STATUS" -ne 0 ] || it_fail "--check accepted defaultPartitionId = 1x"
it_assert_grep "--check" "$IT_TMP/bad2.out" "channels.c2: defaultPartitionId: '1x' is not a partition number; channel c2 removed"

# (1) volume with a SIGKILL midway
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_listening a 3
# the first half is put; once the sink took (and committed) a quarter, relayd is killed while the second
# half is being put
seq 0 $((N / 2 - 1)) >"$IT_TMP/numbers1"
seq $((N / 2)) $((N - 1)) >"$IT_TMP/numbers2"
avro_send "$port1" -F "$IT_TMP/numbers1" --batch-size 1000
deadline=$(($(it_now_ms) + 30000))
until [ $(($(it_lines "$out") + $(it_lines "$out2"))) -ge $((N / 4)) ]; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "the sinks did not take $((N / 4)) events in 30 s"
  sleep 0.2
done
# (batches of 100 for the second half: more put commits, so the kill lands among them)
"$AVRO_SEND" -H "127.0.0.1:$port1" -F "$IT_TMP/numbers2" --batch-size 100 --retry-timeout 60 \
  2>"$IT_TMP/send.log" &
send=$!
AVRO_BG_PIDS+=("$send")
accepted() { # (Prometheus text and awk: quicker than a Python start per poll)
  curl -sf "http://127.0.0.1:$mport/prometheus" |
    awk -v n="$1" '/^relayd_source_events_accepted_total\{.*component="r1"/ { ok = $NF >= n } END { exit !ok }'
}
deadline=$(($(it_now_ms) + 30000))
until accepted $((N / 2 + N / 8)); do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "the source did not accept $((N / 2 + N / 8)) events in 30 s"
  sleep 0.1
done
kill -KILL "$(it_pid a)"
it_wait_exit a 10
it_log "SIGKILL after $(($(it_lines "$out") + $(it_lines "$out2"))) lines taken, $(($(it_now_ms) - T_START)) ms"
it_start a -n a -f "$IT_TMP/a.conf"
avro_bg_wait "$send" 60
[ "$AVRO_BG_STATUS" -eq 0 ] || {
  tail -n 20 "$IT_TMP/send.log"
  it_fail "relay-send exited $AVRO_BG_STATUS: not every event was acknowledged by the source"
}
check() {
  "$PYTHON" "$IT_TOOLS/fc_seqcheck.py" --count "$N" --allow-partial "$@" "$out" "$out2"
}
deadline=$(($(it_now_ms) + 40000))
until check --poll >"$IT_TMP/check.out"; do
  it_alive a || it_fail "relayd exited"
  [ "$(it_now_ms)" -lt "$deadline" ] || {
    cat "$IT_TMP/check.out"
    it_fail "not every acknowledged event left the Kafka channel after the kill"
  }
  sleep 0.5
done
# re-read after the kill: at most the takes not yet committed (a file_roll batch of 1000 per sink) and
# relay-send's retried batch; fewer than the N/4 taken before the kill, so a restart from the first offset would fail here
check --max-duplicates 5000 || it_fail "more duplicates than the batches in flight at the kill explain"
it_log "every event through the channel after $(($(it_now_ms) - T_START)) ms"

# (2) Flume's event format, both ways
printf 'host=h1\nkey=k-7\n' >"$IT_TMP/headers"
printf 'hello\nw\xc3\xb6rld\n' | avro_send "$port2" -R "$IT_TMP/headers"
"$AVRO_PY" - "$TOP_SRCDIR/idl/flume.avpr" "$IT_TMP/flume.rec" <<'EOF' || it_fail "python3-avro could not encode"
import io, json, sys
import avro.io, avro.schema
event = [t for t in json.load(open(sys.argv[1]))["types"] if t["name"] == "AvroFlumeEvent"][0]
buf = io.BytesIO()
avro.io.DatumWriter(avro.schema.parse(json.dumps(event))).write(
    {"headers": {"origin": "flume", "n": "1"}, "body": b"from-flume"}, avro.io.BinaryEncoder(buf))
open(sys.argv[2], "wb").write(buf.getvalue())
EOF
kcat -P -b "$KAFKA_BS" -t fmt -k fk "$IT_TMP/flume.rec" 2>"$IT_TMP/kcat.err" || it_fail "kcat could not produce"
it_wait_lines "$fmt" 3 20 a
for want in '^\{(host=h1, key=k-7|key=k-7, host=h1)\} hello$' '\} wörld$' 'key=fk' 'origin=flume' '\} from-flume$'; do
  grep -qE "$want" "$fmt"/* || it_fail "the fmt sink's output lacks $want: $(cat "$fmt"/*)"
done
kcat -C -b "$KAFKA_BS" -t fmt -e -q -f '%k|%S:%s' >"$IT_TMP/fmt.out" 2>/dev/null || true
"$AVRO_PY" - "$TOP_SRCDIR/idl/flume.avpr" "$IT_TMP/fmt.out" <<'EOF' || it_fail "the channel's records are not Flume's AvroFlumeEvent"
import io, json, sys
import avro.io, avro.schema
event = [t for t in json.load(open(sys.argv[1]))["types"] if t["name"] == "AvroFlumeEvent"][0]
schema = avro.schema.parse(json.dumps(event))
data = open(sys.argv[2], "rb").read()
recs = []
while data:
    key, rest = data.split(b"|", 1)
    size, rest = rest.split(b":", 1)
    value, data = rest[: int(size)], rest[int(size):]
    buf = io.BytesIO(value)
    rec = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(buf))
    assert buf.tell() == len(value), "bytes after the datum"
    recs.append((key, rec["headers"], rec["body"]))
ours = [r for r in recs if r[0] == b"k-7"]
assert [r[2] for r in ours] == [b"hello", "w\u00f6rld".encode()], recs
assert all(r[1] == {"host": "h1", "key": "k-7"} for r in ours), recs
print("avro: %d records of the channel decode as AvroFlumeEvent" % len(ours))
EOF

# (3) parseAsFlumeEvent = false: bodies only, the key travels as record key
printf 'key=kk\nother=x\n' >"$IT_TMP/headers3"
echo "raw-body" | avro_send "$port3" -R "$IT_TMP/headers3"
echo "plain-1" | kcat -P -b "$KAFKA_BS" -t raw -k pk 2>>"$IT_TMP/kcat.err" || it_fail "kcat could not produce"
it_wait_lines "$raw" 2 20 a
it_assert_grep "raw sink" "$raw"/* '^\{key=kk\} raw-body$'
it_assert_grep "raw sink" "$raw"/* '^\{key=pk\} plain-1$'
kcat -C -b "$KAFKA_BS" -t raw -e -q -f '%k|%s\n' >"$IT_TMP/raw.out" 2>/dev/null || true
it_assert_grep "raw topic" "$IT_TMP/raw.out" '^kk\|raw-body$'

# (4) Flume's KafkaChannelCounter names
curl -sf "http://127.0.0.1:$mport/metrics" >"$IT_TMP/metrics.json" || it_fail "GET /metrics failed"
"$PYTHON" - "$IT_TMP/metrics.json" <<'EOF' || it_fail "/metrics lacks the Kafka channel counters"
import json, sys
metrics = json.load(open(sys.argv[1]))
for name in ("CHANNEL.c1", "CHANNEL.c2", "CHANNEL.c3"):
    for k in ("KafkaEventGetTimer", "KafkaEventSendTimer", "KafkaCommitTimer", "RollbackCount"):
        assert k in metrics[name], (k, metrics[name])
# since the restart: c2's two puts of (2), and its three takes (with python3-avro's record)
m = metrics["CHANNEL.c2"]
assert int(m["EventPutSuccessCount"]) == 2 and int(m["EventTakeSuccessCount"]) == 3, m
print("metrics c2: KafkaEventSendTimer=%s KafkaCommitTimer=%s" % (m["KafkaEventSendTimer"], m["KafkaCommitTimer"]))
EOF
curl -sf "http://127.0.0.1:$mport/prometheus" >"$IT_TMP/prom.txt" || it_fail "GET /prometheus failed"
it_assert_grep /prometheus "$IT_TMP/prom.txt" '^relayd_channel_kafka_commit_ms_total\{.*component="c2"'
it_log "checked after $(($(it_now_ms) - T_START)) ms"
it_stop a

# (5) TAILDIR into the Kafka channel: positions follow the commits, not only writePosInterval
tdir="$IT_TMP/tail"
tout="$IT_TMP/tout"
mkdir -p "$tdir" "$tout"
seq 1 3000 >"$tdir/app.log"
{
  cat <<EOF
a.sources = r1
a.channels = c1
a.sinks = k1
a.sources.r1.type = TAILDIR
a.sources.r1.filegroups = f1
a.sources.r1.filegroups.f1 = $tdir/app.log
a.sources.r1.positionFile = $IT_TMP/tail-pos.json
a.sources.r1.writePosInterval = 600000
a.sources.r1.channels = c1
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $tout
a.sinks.k1.sink.rollInterval = 0
EOF
  kafka_channel c1 tl gt
} >"$IT_TMP/t.conf"
it_start t -n a -f "$IT_TMP/t.conf"
it_wait_lines "$tout" 3000 30 t
size=$(stat -c %s "$tdir/app.log")
deadline=$(($(it_now_ms) + 20000))
until grep -q "\"pos\":$size," "$IT_TMP/tail-pos.json" 2>/dev/null; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "TAILDIR into the Kafka channel: the position file does not \
hold offset $size 20 s after every line arrived (writePosInterval is 10 minutes): $(cat "$IT_TMP/tail-pos.json" 2>&1)"
  sleep 0.2
done
it_stop t
exit 0
