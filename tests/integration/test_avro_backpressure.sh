#!/usr/bin/env bash
# test_avro_backpressure.sh - a hop that cannot deliver pushes back with FAILED; the client retries and, once
# things recover, every number arrives exactly once.
#
# (1) relay-send -> collector (avro source, memory channel of capacity 100 with keep-alive 1 s, file_roll).
#     The file_roll directory is removed right after start-up (file_roll opens its file lazily), so the sink
#     cannot write: its batches roll back, the channel fills, and the source answers FAILED (the "put to
#     required channel failed" warning) while relay-send keeps retrying. The directory comes back, and all
#     N numbers arrive. Meanwhile a relay-send with --retry-timeout 2 must give up with exit status 1.
# (2) relay-send -> edge (the same tiny channel, avro sink to a port nobody listens on) -> collector started
#     only after the edge has answered FAILED: again relay-send retries until the chain drains, and every
#     number arrives exactly once.
# Both scenarios run at the same time (they share nothing) to keep the test short: each waits out a sink's
# 5 s pause after a failure and relay-send's backoff (up to 5 s).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

N=5000
SEND_ARGS=(--batch-size 100 --retry-timeout 45)

# (1) collector whose file_roll directory disappears for a while.
dir1="$IT_TMP/out1"
port1=$(it_free_port)
{
  avro_conf_source col1 "$port1"
  avro_conf_memory col1 100 100 1
  avro_conf_file_roll col1 "$dir1" 100
} >"$IT_TMP/col1.conf"
it_start col1 -n col1 -f "$IT_TMP/col1.conf"
it_wait_listening col1 1
rmdir "$dir1" || it_fail "could not remove the (empty) file_roll directory"

# (2) edge whose next hop is not there yet.
dir2="$IT_TMP/out2"
port2=$(it_free_port)
colport=$(it_free_port)
{
  avro_conf_source edge "$port2"
  avro_conf_memory edge 100 100 1
  avro_conf_avro_sink edge "$colport" none 100
} >"$IT_TMP/edge.conf"
avro_collector_conf "$IT_TMP/col2.conf" col2 "$colport" "$dir2"
it_start edge -n edge -f "$IT_TMP/edge.conf"
it_wait_listening edge 1

avro_numbers 0 $((N - 1)) >"$IT_TMP/numbers"
"$AVRO_SEND" -H "127.0.0.1:$port1" -F "$IT_TMP/numbers" "${SEND_ARGS[@]}" 2>"$IT_TMP/send1.log" &
send1=$!
AVRO_BG_PIDS+=("$send1")
"$AVRO_SEND" -H "127.0.0.1:$port2" -F "$IT_TMP/numbers" "${SEND_ARGS[@]}" 2>"$IT_TMP/send2.log" &
send2=$!
AVRO_BG_PIDS+=("$send2")

# Both hops must be failing and answering FAILED, with relay-send still retrying.
it_wait_log col1 'ERROR +\[sink:file_roll:k1\] cannot open file' 1 10
it_wait_log col1 'put to required channel failed .*capacity=100 ' 1 10
it_wait_log edge 'cannot connect to 127.0.0.1:'"$colport" 1 10
it_wait_log edge 'put to required channel failed .*capacity=100 ' 1 10
sleep 1 # at least one more FAILED round trip each
kill -0 "$send1" 2>/dev/null || it_fail "relay-send (1) gave up while the collector could not write"
kill -0 "$send2" 2>/dev/null || it_fail "relay-send (2) gave up while the edge could not forward"
[ "$(it_lines "$dir2")" -eq 0 ] || it_fail "events arrived before the collector was started"
# A client with a short retry budget gives up and says so (exit status 1); what it sent never arrives.
rc=0
printf 'never\n%.0s' $(seq 10) | "$AVRO_SEND" -H "127.0.0.1:$port1" --retry-timeout 2 2>"$IT_TMP/send3.log" || rc=$?
cat "$IT_TMP/send3.log"
[ $rc -eq 1 ] || it_fail "relay-send with --retry-timeout 2 to a full channel exited $rc, expected 1"
it_log "both hops answer FAILED; recovering"

mkdir "$dir1"
it_start col2 -n col2 -f "$IT_TMP/col2.conf"
it_wait_listening col2 1

for i in 1 2; do
  pid=$send1
  [ $i -eq 2 ] && pid=$send2
  avro_bg_wait "$pid" 45
  if [ "$AVRO_BG_STATUS" -ne 0 ]; then
    cat "$IT_TMP/send$i.log"
    it_fail "relay-send ($i) exited $AVRO_BG_STATUS: not every event was acknowledged"
  fi
done
avro_expect_numbers "$dir1" "$N" 20 col1
avro_expect_numbers "$dir2" "$N" 20 col2
it_stop edge
it_stop col2
it_stop col1
it_assert_grep "edge's sink delivered in the end" "$IT_TMP/edge.log" "EventDrainSuccessCount=$N "
for name in col1 edge; do
  it_assert_grep "$name answered FAILED (counted)" "$IT_TMP/$name.log" \
    "source:avro:r1\] counters .*EventAcceptedCount=$N .*ChannelWriteFail=[1-9]"
done
it_seqcheck --count "$N" "$dir1"
it_seqcheck --count "$N" "$dir2"
echo "PASS: $IT_NAME"
