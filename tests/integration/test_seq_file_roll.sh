#!/usr/bin/env bash
# test_seq_file_roll.sh - seq source -> memory channel -> file_roll sink: every number exactly once.
#
# A seq source with totalEvents=N generates the bodies 0..N-1 in batches; through a memory channel smaller
# than N (so the source meets a full channel and must retry) a file_roll sink writes them, one line each.
# Checks with tests/tools/seqcheck.py that every number arrives exactly once and in order, and that nothing
# more arrives after the source is done. Then a second agent with the Flume class names as types and
# batch sizes of 1 (the defaults) delivers a small count the same way.
. "$(dirname "$0")/lib.sh"

total=20000
out="$IT_TMP/out"
mkdir -p "$out"
conf="$IT_TMP/a.conf"
cat >"$conf" <<EOF
# seq -> memory -> file_roll
a.sources = r1
a.channels = c1
a.sinks = k1
a.sources.r1.type = seq
a.sources.r1.totalEvents = $total
a.sources.r1.batchSize = 100
a.sources.r1.channels = c1
a.channels.c1.type = memory
a.channels.c1.capacity = 5000
a.channels.c1.transactionCapacity = 500
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $out
a.sinks.k1.sink.rollInterval = 0
a.sinks.k1.sink.batchSize = 500

# The same with Flume's class names and default batch sizes.
b.sources = r1
b.channels = c1
b.sinks = k1
b.sources.r1.type = org.apache.flume.source.SequenceGeneratorSource
b.sources.r1.totalEvents = 300
b.sources.r1.channels = c1
b.channels.c1.type = org.apache.flume.channel.MemoryChannel
b.sinks.k1.type = org.apache.flume.sink.RollingFileSink
b.sinks.k1.channel = c1
b.sinks.k1.sink.directory = $IT_TMP/out-b
EOF

it_start a -n a -f "$conf"
it_wait_lines "$out" "$total" 60 a
sleep 0.3 # anything beyond N would show up now
it_seqcheck --count "$total" --ordered "$out"
it_stop a
it_seqcheck --count "$total" --ordered "$out"

mkdir -p "$IT_TMP/out-b"
it_start b -n b -f "$conf"
it_wait_lines "$IT_TMP/out-b" 300 30 b
it_stop b
it_seqcheck --count 300 --ordered "$IT_TMP/out-b"
echo "PASS: $IT_NAME"
