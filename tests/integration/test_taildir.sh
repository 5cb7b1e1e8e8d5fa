#!/usr/bin/env bash
# test_taildir.sh - TAILDIR source -> memory channel -> file_roll sink with real files: every line exactly
# once through rotation by rename, copytruncate, deletion and re-creation, 1,000 files, files appearing after
# start; relayd's position file parses as Flume's JSON and holds every file's size at stop; a restart reads
# nothing twice. (Bytes, headers, Flume's own position file and a full channel: test_taildir_events.sh;
# inotify, polling and the keys that steer reading: test_taildir_notify.sh.)
. "$(dirname "$0")/lib.sh"

tool() { "$PYTHON" "$IT_TOOLS/taildir_tool.py" "$@"; }
check() { tool check "$@" || it_fail "check $*"; }

logs="$IT_TMP/logs"
many="$IT_TMP/many"
out="$IT_TMP/out"
mkdir -p "$logs" "$many" "$out"
conf="$IT_TMP/a.conf"
cat >"$conf" <<EOF
a.sources = r1
a.channels = c1
a.sinks = k1
a.sources.r1.type = TAILDIR
a.sources.r1.channels = c1
a.sources.r1.filegroups = rot many
a.sources.r1.filegroups.rot = $logs/app\\\\.log
a.sources.r1.filegroups.many = $many/.*\\\\.log
a.sources.r1.positionFile = $IT_TMP/state/pos.json
a.sources.r1.batchSize = 500
a.sources.r1.writePosInterval = 200
a.channels.c1.type = memory
a.channels.c1.capacity = 2000
a.channels.c1.transactionCapacity = 500
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $out
a.sinks.k1.sink.rollInterval = 0
a.sinks.k1.sink.batchSize = 500

EOF

# ---- agent a: 1,000 files before start, appends, rotation by rename, copytruncate, deletion ----
tool many --dir "$many" --files 1000 --lines 10 --first 100000
tool write --file "$logs/app.log" --count 1000 --first 0
it_start a -n a -f "$conf"
it_wait_log a 'tailing groups=2 files=1001 .*notify=inotify'
it_wait_lines "$out" 11000 60 a
# files appearing after start (with some lines already in them) and appended to
tool many --dir "$many" --files 20 --lines 50 --first 110000 --prefix late
for i in 0 1 2; do printf '%s\n' $((111000 + i)) >>"$many/f$i.log"; done
# rotation by rename: the rotated names do not match the pattern; every line still arrives once
tool write --file "$logs/app.log" --count 20000 --first 1000 --rate 20000 --rotate-every 4000 --mode rename
it_wait_lines "$out" $((11000 + 1000 + 3 + 20000)) 60 a
# copytruncate: the file shrinks, reading restarts at 0 (the renamed files go first, as logrotate's rotate
# count would remove them: copies written over them would be new data in files still followed)
rm -f "$logs"/app.log.*
tool write --file "$logs/app.log" --count 3000 --first 21000 --rotate-every 1000 --mode copytruncate \
  --catch-up "$out"
it_wait_lines "$out" $((11000 + 1000 + 3 + 23000)) 60 a
# deletion, then a new file under the same name: read from 0
rm -f "$logs/app.log" "$logs"/app.log.*
sleep 0.3
tool write --file "$logs/app.log" --count 500 --first 24000
it_wait_lines "$out" $((11000 + 1000 + 3 + 23500)) 60 a
sleep 0.5 # anything extra would show up now
# one range from app.log, the other from the many group
mkdir -p "$IT_TMP/split-a" "$IT_TMP/split-b"
it_cat_dir "$out" | awk -v a="$IT_TMP/split-a/x" -v b="$IT_TMP/split-b/x" '{ if ($1 < 100000) print > a; else print > b }'
check --count 24500 --first 0 "$IT_TMP/split-a"
check --count 11003 --first 100000 "$IT_TMP/split-b"
it_wait_log a 'shrank below its position'
it_stop a
# relayd's position file is Flume's JSON: every entry's pos is its file's size now
tool posfile --file "$IT_TMP/state/pos.json" --at-end >"$IT_TMP/pos.txt" \
  || it_fail "position file: $(tail -n 1 "$IT_TMP/pos.txt")"
it_assert_eq "position entries" 1021 "$(wc -l <"$IT_TMP/pos.txt")"
# restart: nothing is read twice, and new lines arrive
it_start a -n a -f "$conf"
it_wait_log a 'tailing groups=2'
tool write --file "$logs/app.log" --count 100 --first 24500
it_wait_lines "$out" $((11000 + 1000 + 3 + 23600)) 30 a
sleep 0.5
it_stop a
rm -rf "$IT_TMP/split-a"
mkdir -p "$IT_TMP/split-a"
it_cat_dir "$out" | awk '$1 < 100000' >"$IT_TMP/split-a/x"
check --count 24600 --first 0 "$IT_TMP/split-a"

echo "PASS: $IT_NAME"
