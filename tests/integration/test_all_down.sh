#!/usr/bin/env bash
# test_all_down.sh - every sink of an edge's group fails for a while under load: the channel fills, the
# source answers FAILED, the client retries, and nothing is lost once a collector returns.
#
# Edge: avro source -> memory channel (capacity 2000, keep-alive 1 s) -> load_balance group (round_robin,
# backoff, selector.maxTimeOut 2000) of avro sinks k1 -> c1, k2 -> c2. Collectors: avro source -> memory ->
# file_roll. relay-send streams numbered events (4000/s, batches of 100, --retry-timeout 45) into the edge.
#  1. Both collectors up: the first numbers arrive.
#  2. The stream pauses once the collectors have written everything they were sent; both are killed with
#     SIGKILL and the stream goes on. The edge's sinks fail and back off, its channel fills up (ChannelSize
#     checked through SIGUSR1's counters), its source answers FAILED after the keep-alive ("put to required
#     channel failed", ChannelWriteFail) and relay-send keeps retrying the same batch (its stderr counts the
#     FAILED answers). Both collectors stay down for 4 s.
#  3. c1 comes back: within its sink's backoff (at most 2 s) the edge drains into it, relay-send's retries
#     succeed, relay-send exits 0 and every number is in the files (duplicates counted and printed).
# (The pause only makes sure the collectors hold no acknowledged but unwritten events in their own memory
# channels when they are killed: a memory channel loses those in any crash.)
. "$(dirname "$0")/lib.sh"

RELAY_SEND=${RELAY_SEND:-$(dirname "$RELAYD")/relay-send}
[ -x "$RELAY_SEND" ] || it_skip "relay-send not built: $RELAY_SEND"

declare -A PORT=()
for name in c1 c2 e; do
  PORT[$name]=$(it_free_port)
done
mkdir -p "$IT_TMP/c1" "$IT_TMP/c2" "$IT_TMP/ctl"
conf="$IT_TMP/all_down.conf"
N=24000
PAUSE=4000
DOWN_S=4

collector() {
  cat <<EOF
$1.sources = r1
$1.channels = ch
$1.sinks = out
$1.sources.r1.type = avro
$1.sources.r1.bind = 127.0.0.1
$1.sources.r1.port = ${PORT[$1]}
$1.sources.r1.channels = ch
$1.channels.ch.type = memory
$1.channels.ch.capacity = 100000
$1.channels.ch.transactionCapacity = 1000
$1.sinks.out.type = file_roll
$1.sinks.out.channel = ch
$1.sinks.out.sink.directory = $IT_TMP/$1
$1.sinks.out.sink.rollInterval = 0
EOF
}

{
  collector c1
  collector c2
  cat <<EOF
e.sources = r1
e.channels = ch
e.sinks = k1 k2
e.sinkgroups = g1
e.sources.r1.type = avro
e.sources.r1.bind = 127.0.0.1
e.sources.r1.port = ${PORT[e]}
e.sources.r1.channels = ch
e.channels.ch.type = memory
e.channels.ch.capacity = 2000
e.channels.ch.transactionCapacity = 100
e.channels.ch.keep-alive = 1
e.sinkgroups.g1.sinks = k1 k2
e.sinkgroups.g1.processor.type = load_balance
e.sinkgroups.g1.processor.selector = round_robin
e.sinkgroups.g1.processor.backoff = true
e.sinkgroups.g1.processor.selector.maxTimeOut = 2000
EOF
  for i in 1 2; do
    cat <<EOF
e.sinks.k$i.type = avro
e.sinks.k$i.channel = ch
e.sinks.k$i.hostname = 127.0.0.1
e.sinks.k$i.port = ${PORT[c$i]}
e.sinks.k$i.batch-size = 100
e.sinks.k$i.connect-timeout = 1000
e.sinks.k$i.request-timeout = 2000
EOF
  done
} >"$conf"

# gen.py START COUNT RATE PAUSE_AT: START..START+COUNT-1 at RATE lines/s; before PAUSE_AT it creates
# $CTL/paused and waits (at most 60 s) for $CTL/go.
cat >"$IT_TMP/gen.py" <<'EOF'
import os, sys, time
start, count, rate, pause_at = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
ctl = os.environ["CTL"]
t0, n = time.monotonic(), 0
for i in range(start, start + count):
    if i == pause_at:
        sys.stdout.flush()
        open(os.path.join(ctl, "paused"), "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(ctl, "go")):
            if time.monotonic() > deadline:
                sys.exit(1)
            time.sleep(0.005)
        t0, n = time.monotonic(), 0
    sys.stdout.write("%d\n" % i)
    n += 1
    if n % 100 == 0:
        sys.stdout.flush()
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
sys.stdout.flush()
EOF

# count.py LO HI DIR...: every number LO..HI-1 must be in the files; prints distinct/missing/duplicates.
cat >"$IT_TMP/count.py" <<'EOF'
import os, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
counts, shares = {}, []
for d in sys.argv[3:]:
    n = 0
    for name in os.listdir(d):
        with open(os.path.join(d, name)) as f:
            for line in f:
                v = int(line)
                if lo <= v < hi:
                    counts[v] = counts.get(v, 0) + 1
                    n += 1
    shares.append("%s=%d" % (os.path.basename(d), n))
missing = [v for v in range(lo, hi) if v not in counts]
dups = sum(c - 1 for c in counts.values())
print("numbers %d..%d: distinct=%d missing=%d duplicates=%d %s%s" % (lo, hi - 1, len(counts), len(missing),
      dups, " ".join(shares), (" first missing: %s" % missing[:5]) if missing else ""))
sys.exit(1 if missing else 0)
EOF

in_range() {
  find "${@:3}" -maxdepth 1 -type f -print0 | xargs -0 -r cat | awk -v lo="$1" -v hi="$2" '$1 >= lo && $1 < hi' |
    wc -l
}

wait_until() {
  local limit=$1 deadline
  shift
  deadline=$(($(it_now_ms) + limit * 1000))
  until "$@"; do
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "timed out after ${limit}s waiting for: $*"
    sleep 0.01
  done
}

has_lines() { [ "$(in_range "$1" "$2" "${@:4}")" -ge "$3" ]; }

# edge_channel_size: asks the edge for its counters (SIGUSR1) and prints the latest ChannelSize.
edge_channel_size() {
  local before
  before=$(it_count "$IT_TMP/e.log" 'channel:[^]]*\] counters ChannelSize=')
  kill -USR1 "$(it_pid e)"
  it_wait_log e 'channel:[^]]*\] counters ChannelSize=' $((before + 1)) 5
  grep -oE 'counters ChannelSize=[0-9]+' "$IT_TMP/e.log" | tail -n 1 | cut -d= -f2
}

for name in c1 c2; do
  it_start "$name" -n "$name" -f "$conf"
done
it_wait_listening c1 1
it_wait_listening c2 1
it_start e -n e -f "$conf"
it_wait_listening e 1

# generator -> FIFO -> relay-send, both killed if the test ends first.
mkfifo "$IT_TMP/stream"
CTL="$IT_TMP/ctl" "$PYTHON" "$IT_TMP/gen.py" 0 "$N" 4000 "$PAUSE" >"$IT_TMP/stream" &
gen=$!
"$RELAY_SEND" -H "127.0.0.1:${PORT[e]}" --batch-size 100 --retry-timeout 45 <"$IT_TMP/stream" \
  2>"$IT_TMP/send.log" &
sender=$!
_stop_helpers() {
  local rc=$?
  kill -KILL "$gen" "$sender" 2>/dev/null
  (exit "$rc")
  _it_cleanup
}
trap _stop_helpers EXIT

# ---- 1. both collectors up ----
wait_until 20 test -e "$IT_TMP/ctl/paused"
wait_until 20 has_lines 0 "$PAUSE" "$PAUSE" "$IT_TMP/c1" "$IT_TMP/c2"
[ "$(in_range 0 "$PAUSE" "$IT_TMP/c1")" -gt 0 ] && [ "$(in_range 0 "$PAUSE" "$IT_TMP/c2")" -gt 0 ] ||
  it_fail "the load_balance group did not use both collectors"

# ---- 2. both collectors down under load ----
for name in c1 c2; do
  kill -KILL "$(it_pid "$name")"
  wait "$(it_pid "$name")" 2>/dev/null
  unset "IT_PIDS[$name]"
done
t_down=$(it_now_ms)
touch "$IT_TMP/ctl/go"
it_wait_log e 'put to required channel failed channel=ch result=[A-Z_]+ events=100 capacity=2000 ' 1 10
wait_until 10 grep -q 'not acknowledged: FAILED' "$IT_TMP/send.log"
size=$(edge_channel_size)
it_log "both collectors down: edge channel holds $size of 2000 events; source answers FAILED, relay-send retries"
[ "$size" -ge 1800 ] || it_fail "the edge's channel holds only $size events while both collectors are down"
while [ "$(it_now_ms)" -lt $((t_down + DOWN_S * 1000)) ]; do
  sleep 0.05
done
kill -0 "$sender" 2>/dev/null || it_fail "relay-send gave up while the collectors were down: $(tail -3 "$IT_TMP/send.log")"
[ "$(in_range "$PAUSE" "$N" "$IT_TMP/c1" "$IT_TMP/c2")" -eq 0 ] || it_fail "events arrived while both were down"

# ---- 3. c1 returns ----
it_start c1-back -n c1 -f "$conf"
it_wait_listening c1-back 1
t_back=$(it_now_ms)
wait_until 10 has_lines "$PAUSE" "$N" 1 "$IT_TMP/c1"
resume_ms=$(($(it_now_ms) - t_back))
it_log "c1 back: first event after ${resume_ms} ms (edge backoff at most 2000 ms)"
[ "$resume_ms" -le 3000 ] || it_fail "delivery resumed only ${resume_ms} ms after c1 returned"
rc=0
for _ in $(seq 1 900); do
  kill -0 "$sender" 2>/dev/null || break
  sleep 0.05
done
wait "$sender" || rc=$?
[ "$rc" -eq 0 ] || it_fail "relay-send exited $rc: $(tail -3 "$IT_TMP/send.log")"
wait_until 20 has_lines 0 "$N" "$N" "$IT_TMP/c1" "$IT_TMP/c2"
sleep 0.2 # late duplicates, if any
"$PYTHON" "$IT_TMP/count.py" 0 "$N" "$IT_TMP/c1" "$IT_TMP/c2" >"$IT_TMP/count.out" || {
  cat "$IT_TMP/count.out"
  it_fail "numbers lost"
}
it_log "$(cat "$IT_TMP/count.out")"
summary=$(grep 'relay-send: failed attempts:' "$IT_TMP/send.log" || true)
it_log "${summary:-relay-send printed no summary}"
failed=$(echo "$summary" | grep -oE ' FAILED=[0-9]+' | cut -d= -f2)
[ "${failed:-0}" -ge 1 ] || it_fail "relay-send did not count FAILED answers: ${summary:-no summary}"
echo "$summary" | grep -qE 'failed attempts: FAILED=[0-9]+; .* not acknowledged=0 events acknowledged='"$N"'$' ||
  it_fail "relay-send saw failures other than FAILED, or lost a batch: $summary"
it_stop e
it_stop c1-back
write_fail=$(grep -oE 'source:avro:r1\] counters .*ChannelWriteFail=[0-9]+' "$IT_TMP/e.log" | tail -n 1 |
  grep -oE '[0-9]+$')
it_log "edge source: ChannelWriteFail=$write_fail"
[ "${write_fail:-0}" -ge "$failed" ] || it_fail "edge counted $write_fail failed puts, relay-send $failed FAILED"
it_assert_grep "k1 backed off" "$IT_TMP/e.log" 'sink backed off sink=k1 '
it_assert_grep "k2 backed off" "$IT_TMP/e.log" 'sink backed off sink=k2 '
echo "PASS: both collectors down ${DOWN_S} s: channel full ($size), relay-send got FAILED $failed times and" \
  "retried; delivery resumed ${resume_ms} ms after c1 returned; nothing lost"
