#!/usr/bin/env bash
# test_spooldir.sh - spooling-directory source with real files.
#
# 1. Five files of 1000 numbered lines moved into the spool directory (one later, while running): every
#    number arrives exactly once, every file is renamed with .COMPLETED, the tracker is gone, a file
#    that does not match includePattern stays untouched.
# 2. deletePolicy = immediate (Flume's class name as type): the files are delivered and deleted.
# 3. Set aside while the others go on: edge (spooldir -> memory -> avro sink) starts while its collector
#    is down, so the first file (changed.txt, the oldest) is picked up and its first batch waits in the
#    full channel; the test appends to changed.txt, then starts the collector. changed.txt is delivered up
#    to what was read and then set aside (renamed .SETASIDE, logged) because it changed after pickup;
#    dup.txt, whose dup.txt.COMPLETED exists already, is set aside before anything is read; ok.txt is
#    delivered and completed.
# 4. --check reports an unreadable spool directory, two sources sharing one, and trackingPolicy = tracker_dir
#    (not supported).
. "$(dirname "$0")/lib.sh"

memory_to_file_roll() { # AGENT OUTDIR
  mkdir -p "$2"
  cat <<EOF
$1.channels = c1
$1.sinks = k1
$1.sources.r1.channels = c1
$1.channels.c1.type = memory
$1.channels.c1.capacity = 1000
$1.channels.c1.transactionCapacity = 100
$1.sinks.k1.type = file_roll
$1.sinks.k1.channel = c1
$1.sinks.k1.sink.directory = $2
$1.sinks.k1.sink.rollInterval = 0
$1.sinks.k1.sink.batchSize = 100
EOF
}

# drop DIR NAME FIRST COUNT: numbers FIRST.. into DIR/NAME, written elsewhere and moved in whole.
drop() {
  seq "$3" $(($3 + $4 - 1)) >"$IT_TMP/stage.tmp"
  mv "$IT_TMP/stage.tmp" "$1/$2"
}

# ---- 1. exactly once, renamed ----
spool="$IT_TMP/spool"
mkdir -p "$spool"
for i in 0 1 2 3; do drop "$spool" "f$i.log" $((i * 1000)) 1000; done
echo "not for us" >"$spool/skip.txt"
{
  echo "a.sources = r1"
  echo "a.sources.r1.type = spooldir"
  echo "a.sources.r1.spoolDir = $spool"
  echo "a.sources.r1.includePattern = ^.*\\.log\$"
  memory_to_file_roll a "$IT_TMP/out-a"
} >"$IT_TMP/a.conf"
it_run_expect check-a 0 --check -n a -f "$IT_TMP/a.conf"
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_lines "$IT_TMP/out-a" 4000 30 a
drop "$spool" f4.log 4000 1000
it_wait_lines "$IT_TMP/out-a" 5000 30 a
it_wait_log a 'file completed file=.*/f4.log ' 1
sleep 0.3
it_stop a
it_seqcheck --count 5000 "$IT_TMP/out-a"
it_assert_grep "Flume's counters" "$IT_TMP/a.log" 'source:spooldir:r1\] counters EventReceivedCount=5000 EventAcceptedCount=5000 '
for i in 0 1 2 3 4; do
  [ -f "$spool/f$i.log.COMPLETED" ] || it_fail "f$i.log was not renamed"
done
[ -f "$spool/skip.txt" ] || it_fail "skip.txt (not matching includePattern) was touched"
[ -z "$(ls "$spool/.flumespool")" ] || it_fail "tracker left behind: $(ls "$spool/.flumespool")"

# ---- 2. deletePolicy = immediate ----
spool_b="$IT_TMP/spool-b"
mkdir -p "$spool_b"
for i in 0 1; do drop "$spool_b" "g$i" $((i * 500)) 500; done
{
  echo "b.sources = r1"
  echo "b.sources.r1.type = org.apache.flume.source.SpoolDirectorySource"
  echo "b.sources.r1.spoolDir = $spool_b"
  echo "b.sources.r1.deletePolicy = immediate"
  memory_to_file_roll b "$IT_TMP/out-b"
} >"$IT_TMP/b.conf"
it_start b -n b -f "$IT_TMP/b.conf"
it_wait_lines "$IT_TMP/out-b" 1000 30 b
it_wait_log b 'file completed and deleted file=.*/g1' 1
it_stop b
it_seqcheck --count 1000 "$IT_TMP/out-b"
left=$(find "$spool_b" -maxdepth 1 -type f)
[ -z "$left" ] || it_fail "files left with deletePolicy = immediate: $left"

# ---- 3. changed after pickup and name collision are set aside; the others go on ----
spool_c="$IT_TMP/spool-c"
out_c="$IT_TMP/out-c"
mkdir -p "$spool_c" "$out_c"
seq 0 299 >"$spool_c/changed.txt"
touch -d '-1 hour' "$spool_c/changed.txt"
drop "$spool_c" dup.txt 300 100
touch -d '-30 minutes' "$spool_c/dup.txt"
echo "old" >"$spool_c/dup.txt.COMPLETED"
drop "$spool_c" ok.txt 400 100
port=$(it_free_port)
cat >"$IT_TMP/c.conf" <<EOF
edge.sources = r1
edge.channels = c1
edge.sinks = k1
edge.sources.r1.type = spooldir
edge.sources.r1.spoolDir = $spool_c
edge.sources.r1.batchSize = 100
edge.sources.r1.maxBackoff = 500
edge.sources.r1.channels = c1
edge.channels.c1.type = memory
edge.channels.c1.capacity = 100
edge.channels.c1.transactionCapacity = 100
edge.channels.c1.keep-alive = 1
edge.sinks.k1.type = avro
edge.sinks.k1.channel = c1
edge.sinks.k1.hostname = 127.0.0.1
edge.sinks.k1.port = $port
edge.sinks.k1.connect-timeout = 500
edge.sinks.k1.batch-size = 100
col.sources = r1
col.sources.r1.type = avro
col.sources.r1.bind = 127.0.0.1
col.sources.r1.port = $port
EOF
memory_to_file_roll col "$out_c" >>"$IT_TMP/c.conf"
it_start edge -n edge -f "$IT_TMP/c.conf"
it_wait_log edge 'reading file=.*/changed.txt'
echo 300 >>"$spool_c/changed.txt"
it_start col -n col -f "$IT_TMP/c.conf"
it_wait_log edge 'file set aside: the file changed size after it was picked up .*changed.txt' 1 30
it_wait_log edge 'file completed file=.*/ok.txt' 1 30
it_wait_log edge 'file set aside: .*dup.txt.COMPLETED exists already' 1 30
sleep 0.3
it_stop edge
it_stop col
[ -f "$spool_c/changed.txt.SETASIDE" ] || it_fail "changed.txt not set aside: $(ls "$spool_c")"
[ -f "$spool_c/dup.txt.SETASIDE" ] || it_fail "dup.txt not set aside: $(ls "$spool_c")"
[ -f "$spool_c/ok.txt.COMPLETED" ] || it_fail "ok.txt not completed: $(ls "$spool_c")"
it_assert_eq "dup.txt.COMPLETED untouched" old "$(cat "$spool_c/dup.txt.COMPLETED")"
# changed.txt's lines read before the end (300 or 301 of them), none of dup.txt, all of ok.txt.
it_cat_dir "$out_c" | sort -n >"$IT_TMP/got-c"
it_assert_eq "ok.txt delivered" "$(seq 400 499)" "$(awk '$1 >= 400' "$IT_TMP/got-c")"
it_assert_eq "dup.txt not read" "" "$(awk '$1 >= 301 && $1 < 400' "$IT_TMP/got-c")"
it_assert_eq "changed.txt delivered as read" "$(seq 0 299)" "$(awk '$1 < 300' "$IT_TMP/got-c")"

# ---- 4. --check: an unreadable spool directory, two sources sharing one ----
cat >"$IT_TMP/d.conf" <<EOF
d.sources = r1 r2 r3 r4
d.channels = c1
d.sinks = k1
d.sources.r1.type = spooldir
d.sources.r1.spoolDir = $IT_TMP/missing
d.sources.r1.channels = c1
d.sources.r2.type = spooldir
d.sources.r2.spoolDir = $spool
d.sources.r2.channels = c1
d.sources.r3.type = spooldir
d.sources.r3.spoolDir = $spool/
d.sources.r3.channels = c1
d.sources.r4.type = spooldir
d.sources.r4.spoolDir = $spool_b
d.sources.r4.trackingPolicy = tracker_dir
d.sources.r4.channels = c1
d.channels.c1.type = memory
d.sinks.k1.type = null
d.sinks.k1.channel = c1
EOF
it_run_expect check-d 1 --check -n d -f "$IT_TMP/d.conf"
it_assert_grep "missing spoolDir" "$IT_TMP/check-d.out" "d.conf:[0-9]+: sources.r1: spoolDir: .*/missing: No such file or directory"
it_assert_grep "shared spoolDir" "$IT_TMP/check-d.out" "sources.r3: spoolDir: .* is also the spool directory of source r2"
it_assert_grep "trackingPolicy refused" "$IT_TMP/check-d.out" "sources.r4: trackingPolicy: tracker_dir is not supported"
echo "PASS: $IT_NAME"
