#!/usr/bin/env bash
# test_taildir_events.sh - what TAILDIR makes of the bytes of a file, and a full channel, with real files:
# b: lines without newline (held back, emitted after idleTimeout), multi-byte UTF-8, binary bytes, CR LF and
#    a lone CR, an empty line, every byte as written; Flume's class name as type.
# h: headers.<g>.<key>, byteOffsetHeader, fileHeader/fileHeaderKey, and a position file written by hand in
#    Flume's (Gson) format honoured; relayd's position file afterwards parses as that JSON.
# f: a full channel stops reading (the channel holds its capacity, the rest stays in the file, BytesBehind
#    shows it) and reading resumes by itself when the next hop comes up; every line exactly once.
# p: the position file cannot be written (its .tmp is a directory: EISDIR, even for root) into a file
#    channel, where reading waits for position writes: reading goes on (the bound is dropped; a reader
#    held by it would stop after 8 batches, as the failed writes' lines stay unsaved), the failures are
#    counted (GenericProcessingFail) and tried once per writePosInterval, and once the write works again
#    the file holds every file's end.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

tool() { "$PYTHON" "$IT_TOOLS/taildir_tool.py" "$@"; }
check() { tool check "$@" || it_fail "check $*"; }

bin="$IT_TMP/bin"
mkdir -p "$bin" "$IT_TMP/out-b" "$IT_TMP/out-h"
conf="$IT_TMP/a.conf"
cat >"$conf" <<EOF
# bytes: lines without newline (emitted after idleTimeout), UTF-8, binary, CR LF; Flume's class name
b.sources = r1
b.channels = c1
b.sinks = k1
b.sources.r1.type = org.apache.flume.source.taildir.TaildirSource
b.sources.r1.channels = c1
b.sources.r1.filegroups = g
b.sources.r1.filegroups.g = $bin/.*
b.sources.r1.positionFile = $IT_TMP/b-pos.json
b.sources.r1.idleTimeout = 1500
b.channels.c1.type = memory
b.sinks.k1.type = file_roll
b.sinks.k1.channel = c1
b.sinks.k1.sink.directory = $IT_TMP/out-b
b.sinks.k1.sink.rollInterval = 0

# headers and a position file written by hand in Flume's format
h.sources = r1
h.channels = c1
h.sinks = k1
h.sources.r1.type = TAILDIR
h.sources.r1.channels = c1
h.sources.r1.filegroups = g1
h.sources.r1.filegroups.g1 = $IT_TMP/h/h\\\\.log
h.sources.r1.headers.g1.dc = east
h.sources.r1.byteOffsetHeader = true
h.sources.r1.fileHeader = true
h.sources.r1.fileHeaderKey = path
h.sources.r1.positionFile = $IT_TMP/h-pos.json
h.channels.c1.type = memory
h.sinks.k1.type = file_roll
h.sinks.k1.channel = c1
h.sinks.k1.sink.directory = $IT_TMP/out-h
h.sinks.k1.sink.rollInterval = 0
h.sinks.k1.sink.serializer.headers = true
EOF

# ---- agent b: raw bytes ----
printf 'caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\nbin \x00\x01\xff\xfe end\ncrlf\r\nlone\rcr\n\nhalf' >"$bin/x.dat"
it_start b -n b -f "$conf"
it_wait_lines "$IT_TMP/out-b" 5 30 b
sleep 0.5
it_assert_eq "unterminated line held back" 5 "$(it_lines "$IT_TMP/out-b")"
printf ' done\nhalf again' >>"$bin/x.dat"
it_wait_lines "$IT_TMP/out-b" 6 30 b
# after idleTimeout (1.5 s) without growth, the unterminated "half again" is emitted
it_wait_lines "$IT_TMP/out-b" 7 30 b
it_stop b
printf 'caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\nbin \x00\x01\xff\xfe end\ncrlf\nlone\rcr\n\nhalf done\nhalf again\n' >"$IT_TMP/want-b"
cmp "$IT_TMP/want-b" <(it_cat_dir "$IT_TMP/out-b") || it_fail "bytes differ: $(it_cat_dir "$IT_TMP/out-b" | od -c | head)"

# ---- agent h: headers, and a hand-written Flume position file (Gson style, pos after two lines) ----
mkdir -p "$IT_TMP/h"
printf 'one\ntwo\nthree\nfour\n' >"$IT_TMP/h/h.log"
inode=$(stat -c %i "$IT_TMP/h/h.log")
printf '[{"inode":%s,"pos":8,"file":"%s"},{"inode":1,"pos":3,"file":"/nonexistent/x.log"}]' "$inode" \
  "$IT_TMP/h/h.log" >"$IT_TMP/h-pos.json"
it_start h -n h -f "$conf"
it_wait_lines "$IT_TMP/out-h" 2 30 h
sleep 0.3
it_stop h
it_assert_eq "resumed from Flume's position" \
  "{dc=east, path=$IT_TMP/h/h.log, byteoffset=8} three
{dc=east, path=$IT_TMP/h/h.log, byteoffset=14} four" "$(it_cat_dir "$IT_TMP/out-h")"
tool posfile --file "$IT_TMP/h-pos.json" >"$IT_TMP/hpos.txt" || it_fail "h position file"
it_assert_eq "h position" "$inode 19 $IT_TMP/h/h.log" "$(cat "$IT_TMP/hpos.txt")"
# ---- agent f: a full channel stops reading, and reading resumes by itself when room returns ----
p_col=$(it_free_port)
p_mon=$(it_free_port)
mkdir -p "$IT_TMP/full" "$IT_TMP/out-f"
{
  cat <<EOF
f.sources = r1
f.channels = c1
f.sinks = k1
f.sources.r1.type = TAILDIR
f.sources.r1.channels = c1
f.sources.r1.filegroups = g
f.sources.r1.filegroups.g = $IT_TMP/full/.*
f.sources.r1.positionFile = $IT_TMP/f-pos.json
f.channels.c1.type = memory
f.channels.c1.capacity = 300
f.channels.c1.transactionCapacity = 100
f.channels.c1.keep-alive = 1
EOF
  avro_conf_avro_sink f "$p_col" none 100
} >"$IT_TMP/f.conf"
{
  avro_conf_source col "$p_col"
  avro_conf_memory col
  avro_conf_file_roll col "$IT_TMP/out-f" 100
} >"$IT_TMP/col.conf"
tool write --file "$IT_TMP/full/x.log" --count 5000 --pad 50
it_start f -n f -f "$IT_TMP/f.conf" --metrics-port "$p_mon"
it_wait_port f "$p_mon"
deadline=$(($(it_now_ms) + 20000))
until curl -sf "http://127.0.0.1:$p_mon/metrics" | grep -q '"ChannelWriteFail":"[1-9]'; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "no ChannelWriteFail while the channel is full"
  sleep 0.2
done
curl -sf "http://127.0.0.1:$p_mon/metrics" >"$IT_TMP/f-metrics.json"
it_assert_grep "channel full" "$IT_TMP/f-metrics.json" '"ChannelSize":"300"'
it_assert_grep "accepted only what fits" "$IT_TMP/f-metrics.json" '"EventAcceptedCount":"300"'
it_assert_grep "the rest is behind" "$IT_TMP/f-metrics.json" '"BytesBehind.g":"[1-9][0-9]{5,}"'
it_start col -n col -f "$IT_TMP/col.conf"
it_wait_lines "$IT_TMP/out-f" 5000 60 f
sleep 0.5
check --count 5000 "$IT_TMP/out-f"
it_stop f
it_stop col

# p: position writes fail; reading goes on, and positions are written once they can be
mkdir -p "$IT_TMP/pl" "$IT_TMP/out-p" "$IT_TMP/pos.json.tmp"
p_mon2=$(it_free_port)
cat >"$IT_TMP/p.conf" <<EOF
p.sources = r1
p.channels = c1
p.sinks = k1
p.sources.r1.type = TAILDIR
p.sources.r1.channels = c1
p.sources.r1.filegroups = g
p.sources.r1.filegroups.g = $IT_TMP/pl/.*\.log
p.sources.r1.positionFile = $IT_TMP/pos.json
p.sources.r1.writePosInterval = 5000
p.channels.c1.type = file
p.channels.c1.checkpointDir = $IT_TMP/pfc/checkpoint
p.channels.c1.dataDirs = $IT_TMP/pfc/data
p.channels.c1.minimumRequiredSpace = 1048576
p.sinks.k1.type = file_roll
p.sinks.k1.channel = c1
p.sinks.k1.sink.directory = $IT_TMP/out-p
p.sinks.k1.sink.rollInterval = 0
EOF
tool write --file "$IT_TMP/pl/a.log" --count 20000
t_p=$(it_now_ms)
it_start p -n p -f "$IT_TMP/p.conf" --metrics-port "$p_mon2"
it_wait_lines "$IT_TMP/out-p" 20000 60 p
check --count 20000 "$IT_TMP/out-p"
it_assert_grep "position write failure" "$IT_TMP/p.log" "cannot write the position file: write .*pos.json.tmp: Is a directory"
curl -sf "http://127.0.0.1:$p_mon2/metrics" >"$IT_TMP/p-metrics.json" || it_fail "GET /metrics failed"
# each failed write counts; after a failure the write is tried once per writePosInterval (5 s), not after
# every few batches (200 batches of 100 lines here)
fails=$(grep -o '"GenericProcessingFail":"[0-9]*"' "$IT_TMP/p-metrics.json" | grep -o '[0-9][0-9]*')
max_fails=$((($(it_now_ms) - t_p) / 5000 + 3))
[ "${fails:-0}" -ge 1 ] && [ "$fails" -le "$max_fails" ] ||
  it_fail "GenericProcessingFail is ${fails:-missing}: expected 1..$max_fails failed position writes"
rmdir "$IT_TMP/pos.json.tmp"
deadline=$(($(it_now_ms) + 20000))
until tool posfile --file "$IT_TMP/pos.json" --at-end >/dev/null 2>&1; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "the position file was not written once it could be"
  sleep 0.2
done
it_stop p
echo "PASS: $IT_NAME"
