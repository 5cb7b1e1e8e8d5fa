#!/usr/bin/env bash
# test_avro_abuse.sh - misbehaving Avro RPC clients get the documented outcome, and the next client is served.
#
# One agent, four avro sources (same small limits: max-pack-bytes 65536, max-batch-events 100, max-headers 10)
# into one memory channel and a file_roll sink. tests/tools/avro_abuse.py plays each bad client:
#   closed at once, no reply, one WARN line naming peer, what and limit, EventReadFail counted: negative and
#     huge buffer length, negative, huge and zero buffer count, a pack above max-pack-bytes, a garbage
#     handshake, an incompatible protocol text, negative and huge body lengths, a batch above
#     max-batch-events, an event above max-headers;
#   kept open, no reply, nothing logged: a truncated pack (the client then goes away);
#   served: an unknown message name gets an error response and the connection stays usable; three pipelined
#     appends cut into 1-byte and zero-length buffers get three OKs in order;
#   paused: a client that sends without reading replies makes the source stop reading from it (bounded
#     memory) while relay-send is served; once it reads, every reply arrives in order; one that closes
#     instead is forgotten (OpenConnectionCount back to 0);
#   rate-limited: a burst of 20 bad peers on one source gives at most 5 log lines.
# Right after each case relay-send delivers 100 numbers to the same source on its first try; at the end the
# files hold exactly those numbers (and the ones the served cases sent), nothing from a bad client.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

ABUSE="$IT_TOOLS/avro_abuse.py"
out="$IT_TMP/out"
declare -A PORT=()
{
  echo "ab.sources = r1 r2 r3 r4"
  echo "ab.channels = c1"
  echo "ab.sinks = k1"
  for src in r1 r2 r3 r4; do
    PORT[$src]=$(it_free_port)
    avro_conf_source ab "${PORT[$src]}" none max-pack-bytes=65536 max-batch-events=100 max-headers=10 \
      | sed -e "s/\.r1\./.$src./" -e '/^ab\.\(sources\|channels\|sinks\) =/d'
  done
  avro_conf_memory ab 100000 1000
  avro_conf_file_roll ab "$out"
} >"$IT_TMP/ab.conf"
it_start ab -n ab -f "$IT_TMP/ab.conf"
it_wait_listening ab 4

next=0 # the next number a good client sends
# good_client SOURCE: relay-send 100 numbers to SOURCE; they must be acknowledged on the first try.
good_client() {
  avro_numbers "$next" $((next + 99)) | avro_send "${PORT[$1]}" --retry-timeout 0 --request-timeout 5000
  next=$((next + 100))
}

# abuse SOURCE CASE ARG: runs the bad client; fails unless its outcome is the documented one. Sets PEER.
abuse() {
  local src=$1 case=$2 rc=0 args=()
  [ -n "${3:-}" ] && args=("$3")
  timeout -k 5 20 "$PYTHON" "$ABUSE" "${PORT[$src]}" "$case" "${args[@]}" >"$IT_TMP/abuse.out" 2>&1 || rc=$?
  cat "$IT_TMP/abuse.out"
  [ $rc -eq 0 ] || it_fail "$case: not the documented outcome"
  PEER=$(sed -n 's/.* peer=\([0-9,]*\) .*/\1/p' "$IT_TMP/abuse.out")
}

# abuse_logged SOURCE CASE ARG REGEX: abuse, then the log must have exactly one line for that peer, saying
# why (REGEX), and relay-send is served.
abuse_logged() {
  abuse "$1" "$2" "$3"
  it_wait_log ab "closing connection peer=127.0.0.1:$PEER " 1 5
  it_assert_eq "$2: log lines for peer $PEER" 1 "$(it_count "$IT_TMP/ab.log" "peer=127.0.0.1:$PEER ")"
  it_assert_grep "$2: reason logged" "$IT_TMP/ab.log" \
    "WARN +\[source:avro:$1\] closing connection peer=127.0.0.1:$PEER $4"
  good_client "$1"
}

# At most 5 lines per source in 10 s (the rate limit), so four logged cases per source.
abuse_logged r1 negative-length "" 'buffer length negative value=-1$'
abuse_logged r1 huge-length "" 'pack size above limit value=[0-9]+ limit=65536$'
abuse_logged r1 negative-count "" 'buffer count negative value=-1$'
abuse_logged r1 huge-count "" 'buffer count above limit value=2147483647 limit=16384$'
abuse_logged r2 zero-count "" 'buffer count zero'
abuse_logged r2 big-pack 100000 'pack size above limit value=[0-9]+ limit=65536$'
abuse_logged r2 garbage-handshake "" 'handshake union branch out of range value=3'
abuse_logged r2 bad-protocol "" 'protocol'
abuse_logged r3 negative-string "" 'body length out of range value=-1 '
abuse_logged r3 huge-string "" 'body length out of range value=1099511627776 '
abuse_logged r3 batch-over-limit 101 'events per batch above limit value=101 limit=100$'
abuse_logged r3 headers-over-limit 11 'headers per event above limit value=11 limit=10$'

# Served or kept open: nothing logged for these peers.
served=()
abuse r1 truncated
served+=("$PEER")
good_client r1
abuse r2 unknown-message "$next"
served+=("$PEER")
next=$((next + 2))
good_client r2
abuse r3 pipelined "$next"
served+=("$PEER")
next=$((next + 3))
good_client r3
for peer in "${served[@]}"; do
  it_assert_no_grep "no log line for served peer $peer" "$IT_TMP/ab.log" "peer=127.0.0.1:$peer "
done

# A client that never reads its replies: paused while others are served; then it reads (or closes).
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(it_pid ab)/status"; }
fifo="$IT_TMP/hold"
mkfifo "$fifo"
for mode in read close; do
  rss_before=$(rss_kb)
  "$PYTHON" "$ABUSE" "${PORT[r1]}" stalled "$mode" <"$fifo" >"$IT_TMP/stalled.out" 2>&1 &
  stalled=$!
  exec 9>"$fifo"
  avro_wait_file_line "$IT_TMP/stalled.out" '^stalled sent=' 20 "$stalled"
  cat "$IT_TMP/stalled.out"
  rss_growth=$(($(rss_kb) - rss_before))
  it_log "relayd RSS grew by ${rss_growth} kB while the client did not read"
  [ "$rss_growth" -lt 65536 ] || it_fail "relayd buffered ${rss_growth} kB for a client that does not read"
  good_client r1
  exec 9>&-
  rc=0
  wait "$stalled" || rc=$?
  cat "$IT_TMP/stalled.out"
  [ $rc -eq 0 ] || it_fail "stalled client ($mode): not the documented outcome"
done

# A burst of bad peers on one source: every one closed, the log rate-limited.
abuse r4 burst 20
burst_lines=$(it_count "$IT_TMP/ab.log" '\[source:avro:r4\] closing connection')
it_log "burst of 20 bad peers: $burst_lines log lines"
if [ "$burst_lines" -lt 1 ] || [ "$burst_lines" -gt 5 ]; then
  it_fail "burst of 20 bad peers gave $burst_lines log lines, expected 1..5"
fi
good_client r4

# Counters: every connection gone; one EventReadFail per bad peer.
kill -USR1 "$(it_pid ab)"
it_wait_log ab 'source:avro:r4\] counters' 1 5
for src in r1 r2 r3 r4; do
  it_assert_grep "$src: no connection left open" "$IT_TMP/ab.log" \
    "\[source:avro:$src\] counters .*OpenConnectionCount=0 "
done
for src in r1 r2 r3; do
  it_assert_grep "$src: bad peers counted" "$IT_TMP/ab.log" "\[source:avro:$src\] counters .*EventReadFail=4$"
done
it_assert_grep "r4: bad peers counted" "$IT_TMP/ab.log" '\[source:avro:r4\] counters .*EventReadFail=20$'

avro_expect_numbers "$out" "$next" 10 ab
it_stop ab
echo "PASS: $IT_NAME"
