#!/usr/bin/env bash
# test_thrift_python.sh - Apache Thrift's Python library against relayd's Thrift source and sink.
#
# The Python code is generated from idl/flume.thrift at test time and run with Debian's python3-thrift.
# 1. Source: Python clients (TFramedTransport; TCompactProtocol against a compact source, TBinaryProtocol
#    against a protocol=binary source, three at once) send numbered events with append and appendBatch ->
#    memory -> file_roll: every event exactly once.
# 2. Sink: seq -> memory -> thrift sink -> Python TNonblockingServer (compact, then binary): all in order,
#    exactly once.
# 3. Sink against a server answering FAILED for its first 2 batches: relayd rolls back and retries (one log
#    line per failure), every event exactly once.
# 4. Sink against a server that dies mid-batch (after keeping the batch, before replying), is restarted,
#    then is killed with SIGKILL mid-stream and restarted again: nothing lost; the duplicates are counted
#    and bounded by the batches in flight.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/thrift_lib.sh"

thrift_need_compiler
thrift_need_python
THRIFT_PYGEN="$IT_TMP/gen-py"
thrift_gen py "$THRIFT_PYGEN"

# ---- 1. Python clients -> relayd thrift sources (compact and binary) -> file_roll
N=2000
pc=$(it_free_port)
pb=$(it_free_port)
out="$IT_TMP/out1"
thrift_conf_file_roll "$IT_TMP/src.conf" a "$out" "$pc:compact" "$pb:binary"
it_start src -n a -f "$IT_TMP/src.conf"
it_wait_listening src 2
thrift_py_client --port "$pc" --protocol compact --first 0 --count $N --batch 50 >"$IT_TMP/c1.out" &
c1=$!
thrift_py_client --port "$pc" --protocol compact --first $N --count $N --batch 100 --method append \
  >"$IT_TMP/c2.out" &
c2=$!
thrift_py_client --port "$pb" --protocol binary --first $((2 * N)) --count $N --batch 70 >"$IT_TMP/c3.out" &
c3=$!
for c in $c1 $c2 $c3; do
  wait "$c" || it_fail "a Python client failed"
done
cat "$IT_TMP"/c[123].out
it_assert_grep "mixed compact client" "$IT_TMP/c1.out" "^sent=$N append_calls=1000 batch_calls=20 failed_replies=0$"
it_assert_grep "append-only client" "$IT_TMP/c2.out" "^sent=$N append_calls=$N batch_calls=0 "
it_assert_grep "binary client" "$IT_TMP/c3.out" "^sent=$N append_calls=[0-9]+ batch_calls=15 failed_replies=0$"
it_wait_lines "$out" $((3 * N)) 20 src
it_stop src
it_seqcheck --count $((3 * N)) "$out"
it_assert_grep "source counters" "$IT_TMP/src.log" "source:thrift:r1\] counters EventReceivedCount=$((2 * N)) EventAcceptedCount=$((2 * N)) "
it_assert_grep "source counters" "$IT_TMP/src.log" "source:thrift:r2\] counters EventReceivedCount=$N EventAcceptedCount=$N "
it_assert_no_grep "no warnings" "$IT_TMP/src.log" ' (WARN|ERROR) '

# ---- 2. relayd thrift sink -> Python server: compact, then binary
for protocol in compact binary; do
  M=5000
  port=$(it_free_port)
  got="$IT_TMP/ok-$protocol.txt"
  thrift_py_server "srv-$protocol" "$port" "$got" --protocol $protocol
  thrift_conf_seq_to_thrift "$IT_TMP/sink-$protocol.conf" s $M "$port" $protocol 100
  it_start "sink-$protocol" -n s -f "$IT_TMP/sink-$protocol.conf"
  thrift_wait_file_lines "$got" $M 20 "sink-$protocol"
  it_stop "sink-$protocol"
  it_stop "srv-$protocol"
  it_assert_grep "server summary ($protocol)" "$IT_TMP/srv-$protocol.out" "^calls=50 failed=0 events=$M "
  it_seqcheck --count $M --ordered "$got"
  it_assert_grep "sink counters ($protocol)" "$IT_TMP/sink-$protocol.log" \
    "sink:thrift:k1\] counters EventDrainAttemptCount=$M EventDrainSuccessCount=$M BatchCompleteCount=50 EventWriteFail=0"
done

# ---- 3. server answers FAILED for the first 2 batches: rollback, retry, nothing lost or doubled
M=3000
port=$(it_free_port)
got="$IT_TMP/failed.txt"
thrift_py_server srv-failed "$port" "$got" --fail-first 2
thrift_conf_seq_to_thrift "$IT_TMP/sink-failed.conf" s $M "$port" compact 100
it_start sink-failed -n s -f "$IT_TMP/sink-failed.conf"
thrift_wait_file_lines "$got" $M 30 sink-failed
it_stop sink-failed
it_stop srv-failed
it_assert_eq "FAILED answers" 2 "$(it_count "$IT_TMP/srv-failed.out" '^answered FAILED ')"
it_assert_grep "server summary (FAILED)" "$IT_TMP/srv-failed.out" "^calls=32 failed=2 events=$M "
it_assert_eq "rollback lines" 2 \
  "$(it_count "$IT_TMP/sink-failed.log" 'WARN +\[sink:thrift:k1\] delivery failed, batch rolled back .*events=100')"
it_seqcheck --count $M --ordered "$got"
it_assert_grep "sink counters (FAILED)" "$IT_TMP/sink-failed.log" \
  "sink:thrift:k1\] counters EventDrainAttemptCount=$((M + 200)) EventDrainSuccessCount=$M .* EventWriteFail=2"

# ---- 4. server dies mid-batch, restarts, is killed mid-stream, restarts: nothing lost
M=20000
port=$(it_free_port)
got="$IT_TMP/crash.txt"
thrift_py_server srv-crash "$port" "$got" --crash-at-call 10 --delay-ms 20
thrift_conf_seq_to_thrift "$IT_TMP/sink-crash.conf" s $M "$port" compact 100
it_start sink-crash -n s -f "$IT_TMP/sink-crash.conf"
it_wait_exit srv-crash 20
it_assert_eq "server crashed on purpose" 3 "$IT_STATUS"
it_assert_eq "lines kept before the crash" 1000 "$(wc -l <"$got")"
thrift_py_server srv-restart "$port" "$got" --delay-ms 20
thrift_wait_file_lines "$got" 8000 30 sink-crash
kill -KILL "$(it_pid srv-restart)"
it_wait_exit srv-restart 5
before_kill=$(wc -l <"$got")
[ "$before_kill" -lt $M ] || it_fail "the stream was over before the server was killed ($before_kill lines)"
it_log "server killed with $before_kill lines kept"
thrift_py_server srv-final "$port" "$got"
thrift_wait_file_lines "$got" $((M + 100)) 30 sink-crash
it_wait_log sink-crash 'sink:thrift:k1\] connected ' 3 20
it_stop sink-crash
it_stop srv-final
thrift_check_at_least_once "$got" $M 200
# The batch of the crashed call was kept and then resent; a batch cut off by SIGKILL may add up to 100 more.
[ "$THRIFT_DUPS" -ge 100 ] || it_fail "expected the crashed batch (100 events) to be duplicated, got $THRIFT_DUPS"
it_assert_grep "sink rolled back" "$IT_TMP/sink-crash.log" 'sink:thrift:k1\] delivery failed, batch rolled back'
echo "PASS: python clients, sink OK/FAILED/crash; duplicates after the crashes: $THRIFT_DUPS"
