# kafka_lib.sh - the Kafka tests' mock cluster (issue 18): sourced after lib.sh and avro_lib.sh.
#
# kafka_mock_start TOPIC:PARTITIONS...: skips the test when relayd was built without librdkafka or kcat is
# missing, starts tests/tools/kafka_mock_cluster (3 brokers) with the topics and sets KAFKA_BS to its
# bootstrap servers. The tool reads fault-injection commands on fd 9 (kafka_mock_cmd) and is killed on exit
# with the other background helpers.
KAFKA_MOCK="$TOP_BUILDDIR/tests/tools/kafka_mock_cluster"

kafka_mock_start() {
  [ -x "$KAFKA_MOCK" ] || it_skip "relayd was built without librdkafka (no $KAFKA_MOCK)"
  command -v kcat >/dev/null || it_skip "kcat is not installed (scripts/setup installs it)"
  mkfifo "$IT_TMP/mock.in"
  "$KAFKA_MOCK" "$@" <"$IT_TMP/mock.in" >"$IT_TMP/mock.out" 2>"$IT_TMP/mock.err" &
  AVRO_BG_PIDS+=($!)
  exec 9>"$IT_TMP/mock.in"
  for _ in $(seq 100); do
    [ -s "$IT_TMP/mock.out" ] && break
    sleep 0.05
  done
  KAFKA_BS=$(head -n 1 "$IT_TMP/mock.out")
  [ -n "$KAFKA_BS" ] || it_fail "the mock cluster printed no bootstrap servers: $(cat "$IT_TMP/mock.err")"
  it_log "mock cluster: $KAFKA_BS"
}

# kafka_mock_cmd COMMAND: one fault-injection command (see kafka_mock_cluster.c); waits for its answer.
kafka_mock_cmd() {
  local before
  before=$(wc -l <"$IT_TMP/mock.out")
  echo "$*" >&9
  for _ in $(seq 100); do
    [ "$(wc -l <"$IT_TMP/mock.out")" -gt "$before" ] && break
    sleep 0.02
  done
  it_log "mock: $* -> $(tail -n 1 "$IT_TMP/mock.out")"
}
