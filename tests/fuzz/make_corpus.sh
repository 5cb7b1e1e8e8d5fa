#!/usr/bin/env bash
# tests/fuzz/make_corpus.sh - regenerates the seed corpora of tests/fuzz/corpus from real clients.
#
# Usage: tests/fuzz/make_corpus.sh BUILD_DIR   (a normal build: BUILD_DIR/src/relayd, BUILD_DIR/src/relay-send)
# Starts relayd with Avro (plain and deflate) and Thrift (compact and binary) sources on a file channel,
# puts tests/fuzz/capture_proxy.py in front of each source and runs the real clients through it: Debian's
# python3-avro (tests/tools/avro_py_peer.py), python3-thrift (tests/tools/thrift_py_client.py, compact and
# binary) and relay-send (Avro, Avro+deflate, Thrift). What each client sent becomes a seed (with the
# target's leading control byte: 0 = fed in one piece, 8 = Thrift binary); the deflate captures also seed
# fuzz_zstream. The file channel's segment and checkpoint, after relayd stopped, seed fuzz_filelog, and
# conf/relayd.conf plus this script's configuration seed fuzz_config. Needs /usr/bin/python3 with
# python3-avro and python3-thrift, and the thrift compiler.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
CORPUS=$ROOT/tests/fuzz/corpus
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AV=$(port) AVD=$(port) TC=$(port) TB=$(port)
cat >"$TMP/cap.conf" <<CONF
cap.sources = av avd tc tb
cap.channels = fc
cap.sinks = k
cap.sources.av.type = avro
cap.sources.av.bind = 127.0.0.1
cap.sources.av.port = $AV
cap.sources.av.channels = fc
cap.sources.avd.type = avro
cap.sources.avd.bind = 127.0.0.1
cap.sources.avd.port = $AVD
cap.sources.avd.compression-type = deflate
cap.sources.avd.channels = fc
cap.sources.tc.type = thrift
cap.sources.tc.bind = 127.0.0.1
cap.sources.tc.port = $TC
cap.sources.tc.channels = fc
cap.sources.tb.type = thrift
cap.sources.tb.bind = 127.0.0.1
cap.sources.tb.port = $TB
cap.sources.tb.protocol = binary
cap.sources.tb.channels = fc
cap.channels.fc.type = file
cap.channels.fc.checkpointDir = $TMP/cp
cap.channels.fc.dataDirs = $TMP/data
cap.sinks.k.type = null
cap.sinks.k.batchSize = 7
cap.sinks.k.channel = fc
CONF
"$BUILD/src/relayd" -n cap -f "$TMP/cap.conf" >"$TMP/relayd.log" 2>&1 &
RELAYD=$!
sleep 1

PROXIES=()
proxy() { # proxy NAME SERVER_PORT: starts a capture proxy; its port in $P
  P=$(port)
  /usr/bin/python3 "$ROOT/tests/fuzz/capture_proxy.py" "$P" "$2" "$TMP/cap-$1" &
  PROXIES+=($!)
  sleep 0.5
}

proxy av "$AV"
/usr/bin/python3 "$ROOT/tests/tools/avro_py_peer.py" client --port "$P" --first 0 --count 3 --mode single >/dev/null
/usr/bin/python3 "$ROOT/tests/tools/avro_py_peer.py" client --port "$P" --first 3 --count 6 --mode batch --batch 3 >/dev/null
printf 'line one\nline two\n' | "$BUILD/src/relay-send" -H "127.0.0.1:$P" -b 2 >/dev/null
proxy avd "$AVD"
PD=$P
/usr/bin/python3 "$ROOT/tests/tools/avro_py_peer.py" client --port "$PD" --deflate --first 0 --count 4 --mode mixed --batch 2 >/dev/null
printf 'deflated\n' | "$BUILD/src/relay-send" -H "127.0.0.1:$PD" --compression deflate >/dev/null
mkdir -p "$TMP/gen"
thrift --gen py -out "$TMP/gen" "$ROOT/idl/flume.thrift"
proxy tc "$TC"
PC=$P
/usr/bin/python3 "$ROOT/tests/tools/thrift_py_client.py" --gen "$TMP/gen" --port "$PC" --count 4 --batch 2 >/dev/null
printf 'thrift line\n' | "$BUILD/src/relay-send" --thrift -H "127.0.0.1:$PC" >/dev/null
proxy tb "$TB"
PB=$P
/usr/bin/python3 "$ROOT/tests/tools/thrift_py_client.py" --gen "$TMP/gen" --port "$PB" --protocol binary --count 4 --batch 2 >/dev/null
printf 'thrift binary\n' | "$BUILD/src/relay-send" --thrift --protocol binary -H "127.0.0.1:$PB" >/dev/null
sleep 1
kill "${PROXIES[@]}"
sleep 0.5
kill -TERM "$RELAYD"
wait "$RELAYD" || true

seed() { # seed TARGET NAME CONTROL_BYTE FILE
  mkdir -p "$CORPUS/$1"
  { printf "\\x$3"; cat "$4"; } >"$CORPUS/$1/$2"
}
for f in "$TMP"/cap-av-*; do seed fuzz_avro_stream "client-${f##*/cap-}" 00 "$f"; done
for f in "$TMP"/cap-tc-*; do seed fuzz_thrift "compact-${f##*/cap-}" 00 "$f"; done
for f in "$TMP"/cap-tb-*; do seed fuzz_thrift "binary-${f##*/cap-}" 08 "$f"; done
for f in "$TMP"/cap-avd-*; do seed fuzz_zstream "client-${f##*/cap-}" 00 "$f"; done
seed fuzz_avro_protocol flume-avpr 00 /dev/null
/usr/bin/python3 -c 'import json,sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1]))))' \
  "$ROOT/idl/flume.avpr" >"$CORPUS/fuzz_avro_protocol/flume-avpr"
seed fuzz_config relayd-conf-edge 01 "$ROOT/conf/relayd.conf"
seed fuzz_config relayd-conf-demo 03 "$ROOT/conf/relayd.conf"
sed 's/^cap\./a1./' "$TMP/cap.conf" | sed "s#$TMP#/tmp/x#g" >"$TMP/a1.conf"
seed fuzz_config capture-conf 00 "$TMP/a1.conf"
# fuzz_filelog: flags 0, checkpoint length (16-bit little-endian), checkpoint, segment
seg=$(ls "$TMP/data"/log-* | head -n 1)
cp_len=$(stat -c %s "$TMP/cp/checkpoint")
mkdir -p "$CORPUS/fuzz_filelog"
{
  printf '\x00'
  /usr/bin/python3 -c 'import sys,struct; sys.stdout.buffer.write(struct.pack("<H", int(sys.argv[1]) & 0xffff))' "$cp_len"
  cat "$TMP/cp/checkpoint" "$seg"
} >"$CORPUS/fuzz_filelog/segment-and-checkpoint"
{
  printf '\x00\x00\x00'
  cat "$seg"
} >"$CORPUS/fuzz_filelog/segment-only"
ls -l "$CORPUS"/*
