#!/usr/bin/env bash
# test_load_balance.sh - load_balance sink groups in a real edge relayd over three collectors.
#
# Collectors c1 c2 c3 are relayd agents (avro source, memory channel, file_roll). Edge "lb" has a
# load_balance group over avro sinks to the three with round_robin and backoff = true; edge "lbr" the same
# with selector = random. The groups run one lane per sink (parallel delivery, the default).
#  1. round_robin: relay-send streams numbers to lb; every number arrives exactly once (duplicates would
#     be counted and printed) and each collector gets a fair share (at least 20 %).
#  2. random: the same through lbr; each collector gets a share (at least 10 %).
#  3. kill: a stream to lb pauses once everything sent so far is written, c3 is killed with SIGKILL and its
#     port taken over by a small Python server that accepts connections, closes them at once and records
#     when they came; the stream goes on. Every number still arrives, c1 and c2 take c3's share, and the
#     edge's attempts on k3 follow Flume's backoff: the first new connection comes no earlier than 2 s after
#     the edge logged k3's first failure, the next no earlier than 4 s after that one.
# (The pause only makes sure c3 holds no acknowledged but unwritten events in its own memory channel when it
# is killed.)
. "$(dirname "$0")/lib.sh"

RELAY_SEND=${RELAY_SEND:-$(dirname "$RELAYD")/relay-send}
[ -x "$RELAY_SEND" ] || it_skip "relay-send not built: $RELAY_SEND"

declare -A PORT=()
for name in c1 c2 c3 lb lbr; do
  PORT[$name]=$(it_free_port)
done
CTL="$IT_TMP/ctl"
mkdir -p "$IT_TMP/c1" "$IT_TMP/c2" "$IT_TMP/c3" "$CTL"
conf="$IT_TMP/lb.conf"

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

# edge NAME SELECTOR: avro source -> memory -> load_balance group k1 k2 k3 -> c1 c2 c3.
edge() {
  local i
  cat <<EOF
$1.sources = r1
$1.channels = ch
$1.sinks = k1 k2 k3
$1.sinkgroups = g1
$1.sources.r1.type = avro
$1.sources.r1.bind = 127.0.0.1
$1.sources.r1.port = ${PORT[$1]}
$1.sources.r1.channels = ch
$1.channels.ch.type = memory
$1.channels.ch.capacity = 100000
$1.channels.ch.transactionCapacity = 1000
$1.sinkgroups.g1.sinks = k1 k2 k3
$1.sinkgroups.g1.processor.type = load_balance
$1.sinkgroups.g1.processor.selector = $2
$1.sinkgroups.g1.processor.backoff = true
EOF
  for i in 1 2 3; do
    cat <<EOF
$1.sinks.k$i.type = avro
$1.sinks.k$i.channel = ch
$1.sinks.k$i.hostname = 127.0.0.1
$1.sinks.k$i.port = ${PORT[c$i]}
$1.sinks.k$i.batch-size = 100
$1.sinks.k$i.connect-timeout = 1000
$1.sinks.k$i.request-timeout = 2000
EOF
  done
}

{
  collector c1
  collector c2
  collector c3
  edge lb round_robin
  edge lbr random
} >"$conf"

# gen.py START COUNT RATE [PAUSE_AT]: START..START+COUNT-1 at RATE lines/s; before PAUSE_AT it creates
# $CTL/paused and waits for $CTL/go.
cat >"$IT_TMP/gen.py" <<'EOF'
import os, sys, time
start, count, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
pause_at = int(sys.argv[4]) if len(sys.argv) > 4 else -1
ctl = os.environ.get("CTL", ".")
t0, n = time.monotonic(), 0
for i in range(start, start + count):
    if i == pause_at:
        sys.stdout.flush()
        open(os.path.join(ctl, "paused"), "w").close()
        while not os.path.exists(os.path.join(ctl, "go")):
            time.sleep(0.005)
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

# share.py LO HI MAX_DUPS DIR...: every number LO..HI-1 must be in the files, at most MAX_DUPS duplicates;
# prints each directory's count of numbers in the range.
cat >"$IT_TMP/share.py" <<'EOF'
import os, sys
lo, hi, max_dups = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
counts, per_dir = {}, []
for d in sys.argv[4:]:
    n = 0
    for name in os.listdir(d):
        with open(os.path.join(d, name)) as f:
            for line in f:
                v = int(line)
                if lo <= v < hi:
                    counts[v] = counts.get(v, 0) + 1
                    n += 1
    per_dir.append(n)
missing = [v for v in range(lo, hi) if v not in counts]
dups = sum(c - 1 for c in counts.values())
print("numbers %d..%d: distinct=%d missing=%d duplicates=%d shares=%s" % (lo, hi - 1, len(counts), len(missing),
      dups, " ".join(str(n) for n in per_dir)))
sys.exit(1 if missing or dups > max_dups else 0)
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

all_arrived() { [ "$(in_range "$1" "$2" "$IT_TMP/c1" "$IT_TMP/c2" "$IT_TMP/c3")" -ge $(($2 - $1)) ]; }

# check_shares LABEL LO HI MAX_DUPS MIN_PERCENT DIR...: share.py, then every DIR has MIN_PERCENT of the range.
check_shares() {
  local label=$1 lo=$2 hi=$3 max_dups=$4 min_pct=$5 dir n
  shift 5
  "$PYTHON" "$IT_TMP/share.py" "$lo" "$hi" "$max_dups" "$@" >"$IT_TMP/share.out" || {
    cat "$IT_TMP/share.out"
    it_fail "$label: numbers lost or duplicated"
  }
  it_log "$label: $(cat "$IT_TMP/share.out")"
  for dir in "$@"; do
    n=$(in_range "$lo" "$hi" "$dir")
    [ $((n * 100)) -ge $(((hi - lo) * min_pct)) ] || it_fail "$label: $(basename "$dir") got only $n of $((hi - lo))"
  done
}

# stream EDGE START COUNT RATE [PAUSE_AT]: generator | relay-send into EDGE (in the background: $sender).
stream() {
  CTL="$CTL" "$PYTHON" "$IT_TMP/gen.py" "$2" "$3" "$4" "${5:--1}" |
    "$RELAY_SEND" -H "127.0.0.1:${PORT[$1]}" --batch-size 10 --retry-timeout 30 2>"$IT_TMP/send-$2.log" &
  sender=$!
}

for name in c1 c2 c3; do
  it_start "$name" -n "$name" -f "$conf"
done
for name in c1 c2 c3; do
  it_wait_listening "$name" 1
done
it_start lb -n lb -f "$conf"
it_start lbr -n lbr -f "$conf"
it_wait_listening lb 1
it_wait_listening lbr 1

# ---- 1. round robin ----
stream lb 0 3000 2000
wait "$sender" || it_fail "relay-send to lb failed"
wait_until 20 all_arrived 0 3000
check_shares "round_robin" 0 3000 0 20 "$IT_TMP/c1" "$IT_TMP/c2" "$IT_TMP/c3"

# ---- 2. random ----
stream lbr 10000 3000 2000
wait "$sender" || it_fail "relay-send to lbr failed"
wait_until 20 all_arrived 10000 13000
check_shares "random" 10000 13000 0 10 "$IT_TMP/c1" "$IT_TMP/c2" "$IT_TMP/c3"
it_stop lbr

# ---- 3. kill c3 mid-stream; backoff keeps the edge away from it ----
cat >"$IT_TMP/refuse.py" <<'EOF'
import socket, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
srv.settimeout(0.2)
log = open(sys.argv[2], "a", buffering=1)
deadline = time.monotonic() + 120  # stops by itself
while time.monotonic() < deadline:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    log.write("%d\n" % int(time.time() * 1000))
    conn.close()
EOF
stream lb 20000 6000 1000 21000
wait_until 20 test -e "$CTL/paused"
wait_until 20 all_arrived 20000 21000
kill -KILL "$(it_pid c3)"
wait "$(it_pid c3)" 2>/dev/null
unset "IT_PIDS[c3]"
: >"$IT_TMP/attempts.log"
"$PYTHON" "$IT_TMP/refuse.py" "${PORT[c3]}" "$IT_TMP/attempts.log" &
refuser=$!
# On exit the helper server goes too, then lib.sh's cleanup runs with the test's exit status.
_stop_refuser() {
  local rc=$?
  kill "$refuser" 2>/dev/null
  (exit "$rc")
  _it_cleanup
}
trap _stop_refuser EXIT
wait_until 10 bash -c "exec 8<>/dev/tcp/127.0.0.1/${PORT[c3]}" 2>/dev/null
sleep 0.05
: >"$IT_TMP/attempts.log" # forget the probe above
touch "$CTL/go"
wait "$sender" || it_fail "relay-send to lb failed during the kill"
wait_until 20 all_arrived 20000 26000
check_shares "c3 killed" 21000 26000 1000 25 "$IT_TMP/c1" "$IT_TMP/c2"
[ "$(in_range 21000 26000 "$IT_TMP/c3")" -eq 0 ] || it_fail "c3 has numbers sent after it was killed"
attempts_at_least() { [ "$(wc -l <"$IT_TMP/attempts.log")" -ge "$1" ]; }
wait_until 15 attempts_at_least 2
it_assert_grep "k3 backed off" "$IT_TMP/lb.log" 'sink backed off sink=k3 failures=1 backoff_ms=2000'
it_assert_grep "k3 backed off again" "$IT_TMP/lb.log" 'sink backed off sink=k3 failures=2 backoff_ms=4000'
"$PYTHON" - "$IT_TMP/lb.log" "$IT_TMP/attempts.log" >"$IT_TMP/backoff.out" <<'EOF' || {
import datetime, re, sys
first_fail = None
for line in open(sys.argv[1]):
    m = re.match(r"(\S+Z) .*sink backed off sink=k3 failures=1 ", line)
    if m:
        ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        first_fail = int(ts.timestamp() * 1000)
        break
# A connection made by the failing attempt itself (if k3 had to reconnect) comes just before the log line.
attempts = [int(x) for x in open(sys.argv[2]) if int(x) > first_fail + 100]
if len(attempts) < 2:
    print("k3: fewer than two new connections after its first failure: %s" % attempts)
    sys.exit(1)
gaps = [attempts[0] - first_fail] + [b - a for a, b in zip(attempts, attempts[1:])]
print("k3: first failure, then new connections after %s ms (backoff 2000, 4000, ...)" % ", ".join(map(str, gaps)))
TOLERANCE_MS = 30
ok = gaps[0] >= 2000 - TOLERANCE_MS and gaps[1] >= 4000 - TOLERANCE_MS
sys.exit(0 if ok else 1)
EOF
  cat "$IT_TMP/backoff.out"
  it_fail "k3 was retried before its backoff expired"
}
it_log "$(cat "$IT_TMP/backoff.out")"
it_stop lb
for name in c1 c2; do
  it_stop "$name"
done
kill "$refuser" 2>/dev/null
echo "PASS: load_balance round_robin and random shares, c3's share moved to c1/c2, backoff respected"
