#!/usr/bin/env bash
# test_protocol_mismatch.sh - a client and a source that disagree on compression or protocol: the source's
# log names the likely mismatch and relay-send stops at once, saying what to check (issue 19).
#
# One agent with four sources: avro with compression-type = deflate, avro without, thrift compact, thrift
# binary. relay-send is run against each with the other setting (and --retry-timeout 60, which it used to
# spend retrying "connection lost"): it must exit 1 well within that time (bound 20 s on a loaded machine)
# after "giving up" with the options to check, and the source's WARN line must name the mismatch. Then the
# same relay-send with the right settings delivers, and relay-send against a port where nothing listens
# keeps retrying until its --retry-timeout runs out (a server that is down is not a mismatch).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

declare -A P
for s in ad ap tc tb; do P[$s]=$(it_free_port); done
out="$IT_TMP/out"
mkdir -p "$out"
conf="$IT_TMP/a.conf"
{
  echo "a.sources = ad ap tc tb"
  echo "a.channels = c1"
  echo "a.sinks = k1"
  for s in ad ap tc tb; do
    case $s in
    a*) echo "a.sources.$s.type = avro" ;;
    t*) echo "a.sources.$s.type = thrift" ;;
    esac
    echo "a.sources.$s.bind = 127.0.0.1"
    echo "a.sources.$s.port = ${P[$s]}"
    echo "a.sources.$s.channels = c1"
  done
  echo "a.sources.ad.compression-type = deflate"
  echo "a.sources.tb.protocol = binary"
  echo "a.channels.c1.type = memory"
  echo "a.sinks.k1.type = file_roll"
  echo "a.sinks.k1.channel = c1"
  echo "a.sinks.k1.sink.directory = $out"
  echo "a.sinks.k1.sink.batchSize = 1"
} >"$conf"
it_start a -n a -f "$conf"
it_wait_listening a 4

# mismatch NAME SOURCE HINT_REGEX ARGS...: relay-send ARGS to SOURCE must give up within 20 s, exit 1.
mismatch() {
  local name=$1 src=$2 hint=$3 rc=0 t0 ms
  shift 3
  t0=$(it_now_ms)
  echo "$name" | timeout -k 5 70 "$AVRO_SEND" -H "127.0.0.1:${P[$src]}" --retry-timeout 60 "$@" \
    2>"$IT_TMP/$name.err" || rc=$?
  ms=$(($(it_now_ms) - t0))
  it_log "$name: relay-send exited $rc after $ms ms"
  [ $rc -eq 1 ] || it_fail "$name: relay-send exited $rc, expected 1"
  [ $ms -lt 20000 ] || it_fail "$name: relay-send took $ms ms to give up"
  it_assert_grep "$name: relay-send says what to check" "$IT_TMP/$name.err" \
    '^relay-send: giving up: the server closed the connection on the first request 3 times in a row without answering\. .*check that --compression .* --protocol \(compact \| binary\) match'
  it_assert_grep "$name: the source names the mismatch" "$IT_TMP/a.log" \
    "WARN +\\[source:[a-z]+:$src\\] closing connection peer=.*\\(likely mismatch: $hint"
}
mismatch plain-to-deflate ad 'the client does not compress and this source has compression-type = deflate'
mismatch deflate-to-plain ap 'the client compresses \(a zlib stream\) and this source has compression-type = none' \
  --compression deflate
mismatch binary-to-compact tc 'the client speaks the binary protocol and this source has protocol = compact' \
  --thrift --protocol binary
mismatch compact-to-binary tb 'the client speaks the compact protocol and this source has protocol = binary' \
  --thrift --protocol compact
mismatch avro-to-thrift tc 'the client looks like an Avro RPC client'

# The right settings deliver.
echo ok-ad | avro_send "${P[ad]}" --compression deflate
echo ok-tb | avro_send "${P[tb]}" --thrift --protocol binary
it_wait_lines "$out" 2 "$IT_TIMEOUT" a

# Nothing listening: connection refused is retried until --retry-timeout runs out, without giving up early.
dead=$(it_free_port)
rc=0
echo x | "$AVRO_SEND" -H "127.0.0.1:$dead" --retry-timeout 3 2>"$IT_TMP/dead.err" || rc=$?
[ $rc -eq 1 ] || it_fail "relay-send to a dead port exited $rc"
it_assert_grep "a dead port is retried (100+200+400+800 ms of backoff fit in 3 s)" "$IT_TMP/dead.err" \
  'failed attempts: CONNECT_FAILED=([5-9]|[1-9][0-9]+);'
it_assert_no_grep "a dead port is not a mismatch" "$IT_TMP/dead.err" 'giving up|REJECTED'
it_stop a
