#!/usr/bin/env bash
# test_thrift_mixed.sh - Thrift and Avro tiers mixed: Python Thrift clients -> edge relayd (thrift sources ->
# memory -> avro sink) -> collector relayd (avro source -> memory -> thrift sink) -> Python Thrift server.
#
# One client speaks compact and one binary to the edge's two thrift sources; the collector's thrift sink
# speaks binary to the server. Every event must arrive exactly once with its headers intact (the server
# checks that the seq header equals the body), and the counters of both tiers must agree.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/thrift_lib.sh"

thrift_need_compiler
thrift_need_python
THRIFT_PYGEN="$IT_TMP/gen-py"
thrift_gen py "$THRIFT_PYGEN"

N=4000
p_edge_c=$(it_free_port)
p_edge_b=$(it_free_port)
p_coll=$(it_free_port)
p_srv=$(it_free_port)
got="$IT_TMP/got.txt"

cat >"$IT_TMP/edge.conf" <<EOF
edge.sources = tc tb
edge.channels = c1
edge.sinks = av
edge.sources.tc.type = thrift
edge.sources.tc.bind = 127.0.0.1
edge.sources.tc.port = $p_edge_c
edge.sources.tc.channels = c1
edge.sources.tb.type = thrift
edge.sources.tb.bind = 127.0.0.1
edge.sources.tb.port = $p_edge_b
edge.sources.tb.protocol = binary
edge.sources.tb.channels = c1
edge.channels.c1.type = memory
edge.channels.c1.capacity = 100000
edge.channels.c1.transactionCapacity = 1000
edge.sinks.av.type = avro
edge.sinks.av.channel = c1
edge.sinks.av.hostname = 127.0.0.1
edge.sinks.av.port = $p_coll
edge.sinks.av.batch-size = 200
EOF
cat >"$IT_TMP/collector.conf" <<EOF
coll.sources = av
coll.channels = c1
coll.sinks = th
coll.sources.av.type = avro
coll.sources.av.bind = 127.0.0.1
coll.sources.av.port = $p_coll
coll.sources.av.channels = c1
coll.channels.c1.type = memory
coll.channels.c1.capacity = 100000
coll.channels.c1.transactionCapacity = 1000
coll.sinks.th.type = thrift
coll.sinks.th.channel = c1
coll.sinks.th.hostname = 127.0.0.1
coll.sinks.th.port = $p_srv
coll.sinks.th.protocol = binary
coll.sinks.th.batch-size = 150
EOF

thrift_py_server srv "$p_srv" "$got" --protocol binary --check-headers
it_start coll -n coll -f "$IT_TMP/collector.conf"
it_wait_listening coll 1
it_start edge -n edge -f "$IT_TMP/edge.conf"
it_wait_listening edge 2
thrift_py_client --port "$p_edge_c" --protocol compact --first 0 --count $N --batch 100 >"$IT_TMP/c1.out" &
c1=$!
thrift_py_client --port "$p_edge_b" --protocol binary --first $N --count $N --batch 100 >"$IT_TMP/c2.out" &
c2=$!
wait $c1 || it_fail "the compact client failed"
wait $c2 || it_fail "the binary client failed"
cat "$IT_TMP"/c[12].out
thrift_wait_file_lines "$got" $((2 * N)) 20 coll
it_stop edge
it_stop coll
it_stop srv
it_seqcheck --count $((2 * N)) "$got"
it_assert_grep "server summary" "$IT_TMP/srv.out" "^calls=[0-9]+ failed=0 events=$((2 * N)) header_mismatch=0$"
it_assert_grep "edge avro sink drained all" "$IT_TMP/edge.log" \
  "sink:avro:av\] counters EventDrainAttemptCount=$((2 * N)) EventDrainSuccessCount=$((2 * N)) "
it_assert_grep "collector thrift sink drained all" "$IT_TMP/coll.log" \
  "sink:thrift:th\] counters EventDrainAttemptCount=$((2 * N)) EventDrainSuccessCount=$((2 * N)) "
for f in edge coll; do
  it_assert_no_grep "no warnings in $f" "$IT_TMP/$f.log" ' (WARN|ERROR) '
done
echo "PASS: thrift -> edge -> avro -> collector -> thrift: $((2 * N)) events exactly once, headers intact"
