#!/usr/bin/env bash
# test_avro_node_interop.sh - relayd's Avro RPC against Node's avsc package (tests/tools/avro_node_peer.js),
# both directions, with and without deflate.
#
# avsc (npm, 5.x) implements Avro's Netty framing and stateful handshake itself, including the empty-name
# ping it sends first and pipelined calls (several in flight on one connection, replies matched by serial).
# It is installed at test time under the build tree ($TOP_BUILDDIR/tests/node); when node is missing or
# npm cannot install it, the test is skipped (77).
# (a) Node client -> relayd avro source -> memory -> file_roll: appendBatch with 4 calls in flight, then
#     append with 8 in flight; every number exactly once.
# (b) relay-send -> relayd (avro source, memory, avro sink) -> Node server writing the bodies to a file:
#     every number exactly once; then with the Node server answering FAILED to the first batch, which
#     relayd must roll back and deliver again.
# (c) relay-send (the C client library) straight to the Node server, which answers FAILED once: relay-send
#     retries, exits 0, and every number arrives exactly once; with and without deflate.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

avro_require_node_avsc
export NODE_PATH="$NODE_DIR/node_modules"
PEER="$IT_TOOLS/avro_node_peer.js"

# node_to_relayd LABEL COMPRESSION: part (a).
node_to_relayd() {
  local label=$1 comp=$2 out="$IT_TMP/$1-out" port flag=() rc run
  [ "$comp" = deflate ] && flag=(deflate)
  port=$(it_free_port)
  avro_collector_conf "$IT_TMP/$label.conf" col "$port" "$out" "$comp"
  it_start "$label" -n col -f "$IT_TMP/$label.conf"
  it_wait_listening "$label" 1
  for run in "0 20000 500 4" "20000 2000 1 8 single"; do
    rc=0
    # shellcheck disable=SC2086
    timeout -k 5 30 node "$PEER" client "$port" $run "${flag[@]}" >"$IT_TMP/$label.client" 2>&1 || rc=$?
    cat "$IT_TMP/$label.client"
    [ $rc -eq 0 ] || it_fail "$label: node client ($run) exited $rc"
    it_assert_grep "$label: handshake established" "$IT_TMP/$label.client" 'handshakes=(NONE,)?(BOTH|CLIENT)$'
  done
  avro_expect_numbers "$out" 22000 20 "$label"
  it_stop "$label"
  it_assert_grep "$label: source counters" "$IT_TMP/$label.log" 'EventAcceptedCount=22000 '
}

# relayd_to_node LABEL COMPRESSION FAIL_FIRST N: part (b).
relayd_to_node() {
  local label=$1 comp=$2 fail=$3 n=$4 dir="$IT_TMP/$1-dir" port sport flag=() send_flag=() server
  [ "$comp" = deflate ] && flag=(deflate) && send_flag=(--compression deflate)
  sport=$(it_free_port)
  mkdir -p "$dir"
  avro_bg "$label-server.log" node "$PEER" server "$sport" "$dir/bodies" "$fail" "${flag[@]}"
  server=$AVRO_BG_PID
  avro_wait_file_line "$IT_TMP/$label-server.log" '^listening port=' 10 "$server"

  port=$(it_free_port)
  {
    avro_conf_source edge "$port" "$comp"
    avro_conf_memory edge
    avro_conf_avro_sink edge "$sport" "$comp" 500
  } >"$IT_TMP/$label.conf"
  it_start "$label" -n edge -f "$IT_TMP/$label.conf"
  it_wait_listening "$label" 1
  avro_numbers 0 $((n - 1)) | avro_send "$port" --batch-size 1000 --retry-timeout 10 "${send_flag[@]}"
  avro_expect_numbers "$dir" "$n" 30 "$label"
  it_stop "$label"

  kill -TERM "$server"
  avro_bg_wait "$server" 10
  cat "$IT_TMP/$label-server.log"
  it_assert_grep "$label: server summary" "$IT_TMP/$label-server.log" "^server: .* failed=$fail events=$n "
  it_assert_grep "$label: relayd's sink established the handshake" "$IT_TMP/$label-server.log" \
    'handshakes=(NONE,)?(BOTH|CLIENT)'
  it_assert_no_grep "$label: no channel errors" "$IT_TMP/$label-server.log" 'error'
  if [ "$fail" -gt 0 ]; then
    it_assert_eq "$label: batches rolled back by the sink" "$fail" \
      "$(it_count "$IT_TMP/$label.log" 'delivery failed, batch rolled back status=FAILED')"
  fi
}

# send_to_node LABEL COMPRESSION N FAILED: relay-send (the C client library) straight to the Node server,
# which answers FAILED to the first FAILED batches: relay-send retries them, exits 0, all arrive once.
send_to_node() {
  local label=$1 comp=$2 n=$3 fail=$4 dir="$IT_TMP/$1-dir" sport flag=() send_flag=() server
  [ "$comp" = deflate ] && flag=(deflate) && send_flag=(--compression deflate)
  sport=$(it_free_port)
  mkdir -p "$dir"
  avro_bg "$label-server.log" node "$PEER" server "$sport" "$dir/bodies" "$fail" "${flag[@]}"
  server=$AVRO_BG_PID
  avro_wait_file_line "$IT_TMP/$label-server.log" '^listening port=' 10 "$server"
  avro_numbers 0 $((n - 1)) | avro_send "$sport" --batch-size 1000 --retry-timeout 10 "${send_flag[@]}"
  avro_expect_numbers "$dir" "$n" 10
  kill -TERM "$server"
  avro_bg_wait "$server" 10
  cat "$IT_TMP/$label-server.log"
  it_assert_grep "$label: server summary" "$IT_TMP/$label-server.log" "^server: .* failed=$fail events=$n "
}

node_to_relayd a-plain none
node_to_relayd a-deflate deflate
send_to_node c-plain none 20000 1
send_to_node c-deflate deflate 20000 1
relayd_to_node b-plain none 0 20000
relayd_to_node b-deflate deflate 0 20000
relayd_to_node b-failing none 1 5000
echo "PASS: $IT_NAME"
