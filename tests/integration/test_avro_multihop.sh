#!/usr/bin/env bash
# test_avro_multihop.sh - relay-send -> edge(s) -> collector over Avro RPC: every number arrives exactly once.
#
# Three chains, each fed N numbered events by relay-send (batches of 1000) and ending in a collector (avro
# source, memory channel, file_roll): two hops (one edge: avro source, memory channel, avro sink), three hops
# (two edges), and two hops with compression-type = deflate on every connection (relay-send included).
# seqcheck.py checks that the collector's files hold 0..N-1 exactly once each; every relayd must then stop
# cleanly (status 0, no sanitizer report) and no hop may have logged a warning. In the deflate chain a plain
# (uncompressed) relay-send to each hop must fail, which shows every source really expects zlib (and so every
# sink and relay-send really sent it).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

N=${AVRO_MULTIHOP_N:-200000}

# run_chain LABEL EDGES COMPRESSION: builds collector + EDGES edges, sends N events, checks, stops them.
run_chain() {
  local label=$1 edges=$2 comp=$3 out="$IT_TMP/$1-out" port next i names=() ports=()
  local send_args=(--batch-size 1000 --retry-timeout 20)
  [ "$comp" = deflate ] && send_args+=(--compression deflate)

  next=$(it_free_port)
  avro_collector_conf "$IT_TMP/$label-col.conf" col "$next" "$out" "$comp"
  it_start "$label-col" -n col -f "$IT_TMP/$label-col.conf"
  it_wait_listening "$label-col" 1
  names+=("$label-col")
  ports+=("$next")
  for ((i = edges; i >= 1; i--)); do
    port=$(it_free_port)
    avro_edge_conf "$IT_TMP/$label-edge$i.conf" edge "$port" "$next" "$comp"
    it_start "$label-edge$i" -n edge -f "$IT_TMP/$label-edge$i.conf"
    it_wait_listening "$label-edge$i" 1
    names=("$label-edge$i" "${names[@]}")
    ports+=("$port")
    next=$port
  done

  local t0
  t0=$(it_now_ms)
  avro_numbers 0 $((N - 1)) | avro_send "$next" "${send_args[@]}"
  avro_expect_numbers "$out" "$N" 40 "$label-col"
  it_log "$label: $N events through $((edges + 1)) hops ($comp) in $(($(it_now_ms) - t0)) ms"
  if [ "$comp" = deflate ]; then
    for port in "${ports[@]}"; do
      if echo plain | "$AVRO_SEND" -H "127.0.0.1:$port" --retry-timeout 0 --request-timeout 3000 2>/dev/null; then
        it_fail "$label: an uncompressed client was served by the deflate source on port $port"
      fi
    done
    for name in "${names[@]}"; do
      it_wait_log "$name" 'closing connection .*deflate' 1 5
    done
  fi
  for name in "${names[@]}"; do # upstream first: nothing is in flight when a hop stops
    it_stop "$name"
    grep -v 'closing connection .*deflate' "$IT_TMP/$name.log" >"$IT_TMP/$name.filtered"
    it_assert_no_grep "$name logged no warning" "$IT_TMP/$name.filtered" ' (WARN|ERROR) '
  done
  it_seqcheck --count "$N" "$out"
}

run_chain two 1 none
run_chain three 2 none
run_chain deflate 1 deflate
echo "PASS: $IT_NAME"
