#!/usr/bin/env bash
# test_sink_outage_log.sh - a next hop that is down is logged once, not every retry, and its recovery is
# logged (issue 19).
#
# Edge (avro source -> memory -> avro sink) starts while nothing listens on the collector's port; its
# channel stays empty. Once the sink has failed to connect at least 3 times (ConnectionFailedCount from the
# monitoring endpoint), its log must hold one "cannot connect" WARN line and one "Unable to deliver event"
# ERROR line, both saying that a summary follows (a summary comes at most once a minute, which
# test_outage_log checks). The collector then starts: edge logs "connected again ... after N s and F
# failures" and "delivering again", and events sent to edge arrive. The collector stops and more events are
# sent: the next outage is logged once again.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

ein=$(it_free_port)
cport=$(it_free_port)
mport=$(it_free_port)
out="$IT_TMP/out"
avro_edge_conf "$IT_TMP/edge.conf" edge "$ein" "$cport"
avro_collector_conf "$IT_TMP/col.conf" col "$cport" "$out"

# failed_connects: the edge sink's ConnectionFailedCount (empty if the endpoint does not answer).
failed_connects() {
  curl -s --max-time 5 "http://127.0.0.1:$mport/metrics" |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["SINK.k1"]["ConnectionFailedCount"])' 2>/dev/null
}

it_start edge -n edge -f "$IT_TMP/edge.conf" --metrics-port "$mport"
it_wait_listening edge 1
deadline=$(($(it_now_ms) + 60000))
while n=$(failed_connects); [ "${n:-0}" -lt 3 ]; do
  it_alive edge || it_fail "edge exited"
  [ "$(it_now_ms)" -le "$deadline" ] || it_fail "the sink failed to connect only ${n:-0} times in 60 s"
  sleep 0.5
done
it_log "the sink failed to connect $n times"
it_assert_eq "connect failures logged" 1 \
  "$(it_count "$IT_TMP/edge.log" "WARN +\[sink:avro:k1\] cannot connect to 127\.0\.0\.1:$cport: .*; a summary follows every 60 s until it recovers$")"
it_assert_eq "failed cycles logged" 1 \
  "$(it_count "$IT_TMP/edge.log" 'ERROR .*Unable to deliver event, retrying wait_ms=[0-9]+; a summary follows every 60 s')"
it_assert_eq "no other line per retry" 0 "$(it_count "$IT_TMP/edge.log" 'still failing|cannot connect.*suppressed')"

it_start col -n col -f "$IT_TMP/col.conf"
it_wait_log edge "INFO +\[sink:avro:k1\] connected again peer=127\.0\.0\.1:$cport after [0-9.]+ s and [0-9]+ failures$" 1 30
it_wait_log edge 'INFO .*delivering again after [0-9.]+ s and [0-9]+ failures$' 1 30
avro_numbers 0 99 | avro_send "$ein" --batch-size 10
avro_expect_numbers "$out" 100 30 col

it_stop col
# The idle connection's end is seen at the next delivery: send some.
avro_numbers 100 109 | avro_send "$ein" --batch-size 10
it_wait_log edge "WARN +\[sink:avro:k1\] cannot connect to 127\.0\.0\.1:$cport: .*; a summary follows" 2 30
it_stop edge
it_assert_eq "one line per outage" 2 "$(it_count "$IT_TMP/edge.log" 'cannot connect to')"
