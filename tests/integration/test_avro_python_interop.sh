#!/usr/bin/env bash
# test_avro_python_interop.sh - relayd's Avro RPC against an independent implementation: python3-avro's
# avro.ipc Requestor/Responder on a Netty-framed transport (tests/tools/avro_py_peer.py), both directions,
# with and without deflate.
#
# (a) Python client -> relayd avro source -> memory -> file_roll: appendBatch (batches of 500), append (one
#     event per call) and both alternating with 7-byte buffers (many buffers per pack); the first connection
#     is unknown to relayd (Python's protocol hash is its own), so relayd answers NONE and the client resends
#     with its protocol. Every number must arrive exactly once.
# (b) relay-send -> relayd (avro source, memory, avro sink) -> Python server, which writes every body it
#     accepts to a file: all numbers arrive exactly once. Then the Python server answers FAILED to the first
#     two batches, an error response to the third and FAILED after relayd's request-timeout to the fourth:
#     relayd must roll back each time, reconnect, retry, and still deliver every number exactly once.
# (c) relay-send (the C client library) straight to the Python server, which answers FAILED once: relay-send
#     retries, exits 0, and every number arrives exactly once; with and without deflate.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
avro_require_python_avro

PEER="$IT_TOOLS/avro_py_peer.py"

# python_to_relayd LABEL COMPRESSION: part (a).
python_to_relayd() {
  local label=$1 comp=$2 out="$IT_TMP/$1-out" port flag=() rc
  [ "$comp" = deflate ] && flag=(--deflate)
  port=$(it_free_port)
  avro_collector_conf "$IT_TMP/$label.conf" col "$port" "$out" "$comp"
  it_start "$label" -n col -f "$IT_TMP/$label.conf"
  it_wait_listening "$label" 1

  local runs=("--first 0 --count 6000 --mode batch --batch 500" "--first 6000 --count 500 --mode single"
    "--first 6500 --count 1000 --mode mixed --batch 100 --chunk 7")
  for run in "${runs[@]}"; do
    rc=0
    # shellcheck disable=SC2086
    timeout -k 5 40 "$AVRO_PY" "$PEER" client --port "$port" "${flag[@]}" $run >"$IT_TMP/$label.client" 2>&1 || rc=$?
    cat "$IT_TMP/$label.client"
    [ $rc -eq 0 ] || it_fail "$label: python client ($run) exited $rc"
    it_assert_grep "$label: handshake established" "$IT_TMP/$label.client" 'handshakes=(NONE,)?(BOTH|CLIENT)$'
  done
  avro_expect_numbers "$out" 7500 20 "$label"
  it_stop "$label"
  it_assert_grep "$label: source counters" "$IT_TMP/$label.log" 'EventAcceptedCount=7500 '
}

# relayd_to_python LABEL COMPRESSION N [FAILED ERRORS LATE]: part (b); the Python server answers FAILED to
# the first FAILED batches, an error response to the next ERRORS and FAILED too late to the next LATE.
relayd_to_python() {
  local label=$1 comp=$2 n=$3 fail=${4:-0} errors=${5:-0} late=${6:-0} dir="$IT_TMP/$1-dir" port sport
  local flag=() send_flag=() server
  [ "$comp" = deflate ] && flag=(--deflate) && send_flag=(--compression deflate)
  sport=$(it_free_port)
  mkdir -p "$dir"
  avro_bg "$label-server.log" "$AVRO_PY" "$PEER" server --port "$sport" --out "$dir/bodies" \
    --fail-first "$fail" --error-first "$errors" --late-first "$late" --late-seconds 2.5 "${flag[@]}"
  server=$AVRO_BG_PID
  avro_wait_file_line "$IT_TMP/$label-server.log" '^listening port=' 10 "$server"

  port=$(it_free_port)
  {
    avro_conf_source edge "$port" "$comp"
    avro_conf_memory edge
    avro_conf_avro_sink edge "$sport" "$comp" 500 1000
  } >"$IT_TMP/$label.conf"
  it_start "$label" -n edge -f "$IT_TMP/$label.conf"
  it_wait_listening "$label" 1
  avro_numbers 0 $((n - 1)) | avro_send "$port" --batch-size 1000 --retry-timeout 10 "${send_flag[@]}"
  avro_expect_numbers "$dir" "$n" 30 "$label"
  it_stop "$label"

  kill -TERM "$server"
  avro_bg_wait "$server" 10
  cat "$IT_TMP/$label-server.log"
  it_assert_grep "$label: server summary" "$IT_TMP/$label-server.log" \
    "^server: .* failed=$fail errors=$errors late=$late events=$n "
  it_assert_grep "$label: relayd's sink established the handshake" "$IT_TMP/$label-server.log" \
    'handshakes=(NONE,)?(BOTH|CLIENT)'
  local status count
  for status in "FAILED $fail" "ERROR $errors" "TIMEOUT $late"; do
    count=${status#* }
    status=${status% *}
    it_assert_eq "$label: batches the sink rolled back after $status" "$count" \
      "$(it_count "$IT_TMP/$label.log" "delivery failed, batch rolled back status=$status ")"
  done
}

# send_to_python LABEL COMPRESSION N FAILED: relay-send (the C client library) straight to the Python server,
# which answers FAILED to the first FAILED batches: relay-send retries them, exits 0, all arrive once.
send_to_python() {
  local label=$1 comp=$2 n=$3 fail=$4 dir="$IT_TMP/$1-dir" sport flag=() send_flag=() server
  [ "$comp" = deflate ] && flag=(--deflate) && send_flag=(--compression deflate)
  sport=$(it_free_port)
  mkdir -p "$dir"
  avro_bg "$label-server.log" "$AVRO_PY" "$PEER" server --port "$sport" --out "$dir/bodies" --fail-first "$fail" \
    "${flag[@]}"
  server=$AVRO_BG_PID
  avro_wait_file_line "$IT_TMP/$label-server.log" '^listening port=' 10 "$server"
  avro_numbers 0 $((n - 1)) | avro_send "$sport" --batch-size 1000 --retry-timeout 10 "${send_flag[@]}"
  avro_expect_numbers "$dir" "$n" 10
  kill -TERM "$server"
  avro_bg_wait "$server" 10
  cat "$IT_TMP/$label-server.log"
  it_assert_grep "$label: server summary" "$IT_TMP/$label-server.log" "^server: .* failed=$fail errors=0 late=0 events=$n "
}

python_to_relayd a-plain none
python_to_relayd a-deflate deflate
send_to_python c-plain none 6000 1
send_to_python c-deflate deflate 6000 1
relayd_to_python b-plain none 6000
relayd_to_python b-deflate deflate 6000
relayd_to_python b-failing none 5000 2 1 1
echo "PASS: $IT_NAME"
