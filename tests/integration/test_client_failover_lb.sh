#!/usr/bin/env bash
# test_client_failover_lb.sh - the client library's failover and load-balancing clients, with no edge agent.
#
# relay-send (src/client/relay_send.c over src/client/client.c) streams numbered events straight to collectors, relayd
# agents with an avro or thrift source, a memory channel and a file_roll sink.
#  a. --failover -H c1 -H c2 (client.type = default_failover, Avro): the stream pauses once c1 has written
#     everything it was sent, c1 is killed with SIGKILL and the stream goes on. The next batch to c1 fails
#     and goes to c2 in the same call; the switch time (stream resumed -> first event at c2) is printed.
#     c1 is then restarted while the stream runs: like Flume's FailoverRpcClient, the client stays on the
#     host that works, so c1 gets nothing more. Every number arrives (duplicates counted and printed).
#  b. --load-balance over three collectors (default_loadbalance, round_robin, backoff = true): every number
#     arrives at least once and each collector gets a share (at least 20 %). The stream pauses, c3 is killed
#     and the stream goes on: c1 and c2 take c3's share, evenly (each at least 40 %: round robin runs over
#     the hosts that are not backed off), c3 gets nothing. The stream pauses again, c3 is restarted, and once
#     its backoff (2 s after the failure) has expired it gets a share again.
#  c. (a) again with --thrift against thrift sources (default_failover with rpc.protocol = thrift).
# (The pauses only make sure a collector holds no acknowledged but unwritten events in its memory channel
# when it is killed: a memory channel loses those in any crash, which is the collector's durability, not the
# client's failover.)
. "$(dirname "$0")/lib.sh"

RELAY_SEND=${RELAY_SEND:-$(dirname "$RELAYD")/relay-send}
[ -x "$RELAY_SEND" ] || it_skip "relay-send not built: $RELAY_SEND"

declare -A PORT=()
for name in a1 a2 b1 b2 b3 t1 t2; do
  PORT[$name]=$(it_free_port)
  mkdir -p "$IT_TMP/$name"
done
CTL="$IT_TMP/ctl"
mkdir -p "$CTL"
conf="$IT_TMP/collectors.conf"

# collector NAME SOURCE_TYPE: SOURCE_TYPE source on PORT[NAME] -> memory -> file_roll into $IT_TMP/NAME.
collector() {
  cat <<EOF
$1.sources = r1
$1.channels = ch
$1.sinks = out
$1.sources.r1.type = $2
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
  for name in a1 a2 b1 b2 b3; do
    collector "$name" avro
  done
  collector t1 thrift
  collector t2 thrift
} >"$conf"

# gen.py START COUNT RATE [PAUSE_AT...]: prints START..START+COUNT-1 at RATE lines/s. Before each PAUSE_AT
# it creates $CTL/paused.PAUSE_AT, waits for $CTL/go.PAUSE_AT and writes the wall-clock ms of its
# resumption to $CTL/resumed.PAUSE_AT.
cat >"$IT_TMP/gen.py" <<'EOF'
import os, sys, time
start, count, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
pauses = set(int(p) for p in sys.argv[4:])
ctl = os.environ["CTL"]
t0, n = time.monotonic(), 0
for i in range(start, start + count):
    if i in pauses:
        sys.stdout.flush()
        open(os.path.join(ctl, "paused.%d" % i), "w").close()
        deadline = time.monotonic() + 60  # gives up by itself
        while not os.path.exists(os.path.join(ctl, "go.%d" % i)):
            if time.monotonic() > deadline:
                sys.exit(1)
            time.sleep(0.005)
        with open(os.path.join(ctl, "resumed.%d" % i), "w") as f:
            f.write("%d\n" % int(time.time() * 1000))
        t0, n = time.monotonic(), 0
    sys.stdout.write("%d\n" % i)
    n += 1
    if n % 10 == 0:
        sys.stdout.flush()
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
sys.stdout.flush()
EOF

# count.py LO HI DIR...: every number LO..HI-1 must be in the files of the DIRs (other numbers are
# ignored); prints distinct, missing and duplicate counts and each DIR's number of lines in the range.
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

# in_range LO HI DIR...: how many lines of the DIRs hold a number in LO..HI-1.
in_range() {
  find "${@:3}" -maxdepth 1 -type f -print0 | xargs -0 -r cat | awk -v lo="$1" -v hi="$2" '$1 >= lo && $1 < hi' |
    wc -l
}

# wait_until TIMEOUT_S CMD...: polls CMD every 10 ms; fails on timeout.
wait_until() {
  local limit=$1 deadline
  shift
  deadline=$(($(it_now_ms) + limit * 1000))
  until "$@"; do
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "timed out after ${limit}s waiting for: $*"
    sleep 0.01
  done
}

# has_lines LO HI COUNT DIR...: the DIRs hold at least COUNT lines with numbers in LO..HI-1.
has_lines() { [ "$(in_range "$1" "$2" "${@:4}")" -ge "$3" ]; }

# check_all LABEL LO HI DIR...: count.py; fails if a number is missing. Leaves its line in $IT_TMP/count.out.
check_all() {
  "$PYTHON" "$IT_TMP/count.py" "${@:2}" >"$IT_TMP/count.out" || {
    cat "$IT_TMP/count.out"
    it_fail "$1: numbers lost"
  }
  it_log "$1: $(cat "$IT_TMP/count.out")"
}

# at_least_pct LABEL PART WHOLE PCT: fails unless PART is at least PCT % of WHOLE.
at_least_pct() {
  [ $(($2 * 100)) -ge $(($3 * $4)) ] || it_fail "$1: $2 of $3 is less than $4 %"
}

# stream START COUNT RATE PAUSES RELAY_SEND_ARGS...: generator -> FIFO -> relay-send, both in the
# background ($sender is relay-send; both are killed if the test ends first).
HELPER_PIDS=()
stream() {
  local start=$1 count=$2 rate=$3 pauses=$4 fifo="$IT_TMP/stream-$1"
  shift 4
  mkfifo "$fifo"
  # shellcheck disable=SC2086
  CTL="$CTL" "$PYTHON" "$IT_TMP/gen.py" "$start" "$count" "$rate" $pauses >"$fifo" &
  HELPER_PIDS+=($!)
  "$RELAY_SEND" "$@" --batch-size 10 --retry-timeout 30 <"$fifo" 2>"$IT_TMP/send-$start.log" &
  sender=$!
  HELPER_PIDS+=("$sender")
}
_stop_helpers() {
  local rc=$? pid
  for pid in "${HELPER_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
  done
  (exit "$rc")
  _it_cleanup
}
trap _stop_helpers EXIT

# kill9 NAME: SIGKILL a collector and forget it.
kill9() {
  kill -KILL "$(it_pid "$1")"
  wait "$(it_pid "$1")" 2>/dev/null
  unset "IT_PIDS[$1]"
}

# failover_case LABEL C1 C2 START [RELAY_SEND_ARGS...]: scenario (a) over collectors C1, C2.
failover_case() {
  local label=$1 c1=$2 c2=$3 lo=$4 n=6000 pause=$(($4 + 2000)) hi=$(($4 + 6000))
  shift 4
  it_start "$c1" -n "$c1" -f "$conf"
  it_start "$c2" -n "$c2" -f "$conf"
  it_wait_listening "$c1" 1
  it_wait_listening "$c2" 1
  stream "$lo" "$n" 2000 "$pause" --failover -H "127.0.0.1:${PORT[$c1]}" -H "127.0.0.1:${PORT[$c2]}" "$@"
  wait_until 20 test -e "$CTL/paused.$pause"
  wait_until 20 has_lines "$lo" "$pause" $((pause - lo)) "$IT_TMP/$c1"
  [ "$(in_range "$lo" "$hi" "$IT_TMP/$c2")" -eq 0 ] || it_fail "$label: $c2 received events while $c1 was healthy"
  kill9 "$c1"
  touch "$CTL/go.$pause"
  wait_until 20 has_lines "$lo" "$hi" 1 "$IT_TMP/$c2"
  local switch_ms=$(($(it_now_ms) - $(cat "$CTL/resumed.$pause")))
  it_log "$label: first event at $c2 ${switch_ms} ms after the stream resumed without $c1"
  [ "$switch_ms" -lt 2000 ] || it_fail "$label: the switch to $c2 took ${switch_ms} ms"
  # c1 comes back while the stream runs; the client stays on c2, the host that works.
  it_start "$c1-back" -n "$c1" -f "$conf"
  it_wait_listening "$c1-back" 1
  wait "$sender" || it_fail "$label: relay-send failed: $(tail -3 "$IT_TMP/send-$lo.log")"
  wait_until 20 has_lines "$lo" "$hi" $((hi - lo)) "$IT_TMP/$c1" "$IT_TMP/$c2"
  sleep 0.2 # late duplicates, if any
  check_all "$label" "$lo" "$hi" "$IT_TMP/$c1" "$IT_TMP/$c2"
  [ "$(in_range "$pause" "$hi" "$IT_TMP/$c1")" -eq 0 ] || it_fail "$label: $c1 got numbers sent after it was killed"
  [ "$(in_range "$pause" "$hi" "$IT_TMP/$c2")" -ge $((hi - pause)) ] || it_fail "$label: $c2 lacks numbers"
  it_stop "$c1-back"
  it_stop "$c2"
  FAILOVER_MS[$label]=$switch_ms
}
declare -A FAILOVER_MS=()

# ---- a. failover client, Avro ----
failover_case avro-failover a1 a2 0

# ---- b. load-balancing client, round robin with backoff, over three collectors ----
B=("$IT_TMP/b1" "$IT_TMP/b2" "$IT_TMP/b3")
for name in b1 b2 b3; do
  it_start "$name" -n "$name" -f "$conf"
done
for name in b1 b2 b3; do
  it_wait_listening "$name" 1
done
# Segments: 100000..102999 all up, 103000..105999 without b3, 106000..108999 after b3's restart.
stream 100000 9000 2000 "103000 106000" --load-balance \
  -H "127.0.0.1:${PORT[b1]}" -H "127.0.0.1:${PORT[b2]}" -H "127.0.0.1:${PORT[b3]}"
wait_until 20 test -e "$CTL/paused.103000"
wait_until 20 has_lines 100000 103000 3000 "${B[@]}"
check_all "load-balance, all up" 100000 103000 "${B[@]}"
for name in b1 b2 b3; do
  at_least_pct "load-balance, all up: $name's share" "$(in_range 100000 103000 "$IT_TMP/$name")" 3000 20
done
kill9 b3
touch "$CTL/go.103000"
wait_until 20 test -e "$CTL/paused.106000"
wait_until 20 has_lines 103000 106000 3000 "${B[@]}"
check_all "load-balance, b3 killed" 103000 106000 "${B[@]}"
[ "$(in_range 103000 106000 "$IT_TMP/b3")" -eq 0 ] || it_fail "b3 got numbers sent after it was killed"
for name in b1 b2; do
  at_least_pct "load-balance, b3 killed: $name's share" "$(in_range 103000 106000 "$IT_TMP/$name")" 3000 40
done
it_start b3-back -n b3 -f "$conf"
it_wait_listening b3-back 1
# b3 failed at the start of the second segment: backed off for 2 s, then it is tried again.
t_fail=$(cat "$CTL/resumed.103000")
while [ "$(it_now_ms)" -lt $((t_fail + 2300)) ]; do
  sleep 0.05
done
touch "$CTL/go.106000"
wait "$sender" || it_fail "relay-send --load-balance failed: $(tail -3 "$IT_TMP/send-100000.log")"
wait_until 20 has_lines 106000 109000 3000 "${B[@]}"
sleep 0.2
check_all "load-balance, b3 back" 106000 109000 "${B[@]}"
for name in b1 b2 b3; do
  at_least_pct "load-balance, b3 back: $name's share" "$(in_range 106000 109000 "$IT_TMP/$name")" 3000 20
done
check_all "load-balance, whole stream" 100000 109000 "${B[@]}"
for name in b1 b2 b3-back; do
  it_stop "$name"
done

# ---- c. failover client, Thrift ----
failover_case thrift-failover t1 t2 200000 --thrift

echo "PASS: client failover (avro ${FAILOVER_MS[avro-failover]} ms, thrift ${FAILOVER_MS[thrift-failover]} ms to switch)," \
  "load balance over 3 with one killed and restarted, nothing lost"
