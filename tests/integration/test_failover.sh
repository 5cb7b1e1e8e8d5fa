#!/usr/bin/env bash
# test_failover.sh - a failover sink group in a real edge relayd: collector killed, restarted, and hung.
#
# Part 1: relay-send streams numbered events into an edge (avro source, memory channel, failover group k1 ->
# collector c1 at priority 10, k2 -> collector c2 at priority 5, maxpenalty 4000, request-timeout 2000).
# Collectors are relayd agents (avro source, memory channel, file_roll). The stream pauses once c1 has
# written everything it was sent, c1 is killed with SIGKILL, and the stream goes on: the edge's next batch
# to c1 fails and the group moves to c2 in the same cycle. The time from the stream's resumption to the
# first event in c2's files is the switch time. c1 is restarted while the stream runs; after its penalty
# (2 s, then 4 s) the edge retries it and traffic returns to c1, and c2 gets nothing more. Every number must
# reach the files (duplicates are allowed, counted and printed).
# (The pause only makes sure c1 holds no acknowledged but unwritten events in its own memory channel when it
# is killed: a memory channel loses those in any crash, which is the collector's durability, not failover.)
#
# Part 0: --check reports the sink group errors that Flume handles (unknown sink, sink in two groups,
# duplicate priority, load_balance with one sink, default with two) with file:line.
#
# Part 2: a second edge whose priority sink points at a tiny Python server that accepts connections and
# reads but never answers. Its first batch hangs until request-timeout (2000 ms), is rolled back and goes to
# c2: every number arrives and the switch takes about the request-timeout.
. "$(dirname "$0")/lib.sh"

RELAY_SEND=${RELAY_SEND:-$(dirname "$RELAYD")/relay-send}
[ -x "$RELAY_SEND" ] || it_skip "relay-send not built: $RELAY_SEND"

P1=$(it_free_port)
P2=$(it_free_port)
PE=$(it_free_port)
PE2=$(it_free_port)
PB=$(it_free_port)
O1="$IT_TMP/out1"
O2="$IT_TMP/out2"
CTL="$IT_TMP/ctl"
mkdir -p "$O1" "$O2" "$CTL"
conf="$IT_TMP/failover.conf"

# collector NAME PORT DIR: avro source -> memory -> file_roll.
collector() {
  cat <<EOF
$1.sources = r1
$1.channels = ch
$1.sinks = out
$1.sources.r1.type = avro
$1.sources.r1.bind = 127.0.0.1
$1.sources.r1.port = $2
$1.sources.r1.channels = ch
$1.channels.ch.type = memory
$1.channels.ch.capacity = 100000
$1.channels.ch.transactionCapacity = 1000
$1.sinks.out.type = file_roll
$1.sinks.out.channel = ch
$1.sinks.out.sink.directory = $3
$1.sinks.out.sink.rollInterval = 0
EOF
}

# edge NAME PORT PRIMARY_PORT SECONDARY_PORT: avro source -> memory -> failover group (k1 high, k2 low).
edge() {
  local k port
  cat <<EOF
$1.sources = r1
$1.channels = ch
$1.sinks = k1 k2
$1.sinkgroups = g1
$1.sources.r1.type = avro
$1.sources.r1.bind = 127.0.0.1
$1.sources.r1.port = $2
$1.sources.r1.channels = ch
$1.channels.ch.type = memory
$1.channels.ch.capacity = 100000
$1.channels.ch.transactionCapacity = 1000
$1.sinkgroups.g1.sinks = k1 k2
$1.sinkgroups.g1.processor.type = failover
$1.sinkgroups.g1.processor.priority.k1 = 10
$1.sinkgroups.g1.processor.priority.k2 = 5
$1.sinkgroups.g1.processor.maxpenalty = 4000
EOF
  for k in k1 k2; do
    port=$3
    [ $k = k2 ] && port=$4
    cat <<EOF
$1.sinks.$k.type = avro
$1.sinks.$k.channel = ch
$1.sinks.$k.hostname = 127.0.0.1
$1.sinks.$k.port = $port
$1.sinks.$k.batch-size = 100
$1.sinks.$k.connect-timeout = 1000
$1.sinks.$k.request-timeout = 2000
EOF
  done
}

{
  collector c1 "$P1" "$O1"
  collector c2 "$P2" "$O2"
  edge e "$PE" "$P1" "$P2"
  edge e2 "$PE2" "$PB" "$P2"
} >"$conf"

# gen.py START COUNT RATE [PAUSE_AT]: prints START..START+COUNT-1 at RATE lines/s; before PAUSE_AT it
# creates $CTL/paused and waits for $CTL/go, then writes the wall-clock ms of its resumption to $CTL/resumed.
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
        with open(os.path.join(ctl, "resumed"), "w") as f:
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

# count.py LO HI DIR...: every number LO..HI-1 must be in the files (others are ignored); prints counts.
cat >"$IT_TMP/count.py" <<'EOF'
import os, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
counts = {}
for d in sys.argv[3:]:
    for name in os.listdir(d):
        with open(os.path.join(d, name)) as f:
            for line in f:
                v = int(line)
                if lo <= v < hi:
                    counts[v] = counts.get(v, 0) + 1
missing = [v for v in range(lo, hi) if v not in counts]
dups = sum(c - 1 for c in counts.values())
print("numbers %d..%d: distinct=%d missing=%d duplicates=%d%s" % (lo, hi - 1, len(counts), len(missing), dups,
      (" first missing: %s" % missing[:5]) if missing else ""))
sys.exit(1 if missing else 0)
EOF

# in_range LO HI DIR: how many lines of DIR hold a number in LO..HI-1.
in_range() {
  find "$3" -maxdepth 1 -type f -print0 | xargs -0 -r cat | awk -v lo="$1" -v hi="$2" '$1 >= lo && $1 < hi' | wc -l
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

has_lines() { [ "$(in_range "$1" "$2" "$3")" -ge "$4" ]; }

# ---- part 0: sink group configuration errors, as Flume handles them, reported by --check ----
cat >"$IT_TMP/bad.conf" <<EOF
b.sources = r1
b.channels = ch
b.sinks = k1 k2 k3 k4 k5 k6
b.sources.r1.type = seq
b.sources.r1.channels = ch
b.channels.ch.type = memory
b.sinkgroups = gf glb gdef gone
b.sinkgroups.gf.sinks = k1 k2 nosuch
b.sinkgroups.gf.processor.type = failover
b.sinkgroups.gf.processor.priority.k1 = 5
b.sinkgroups.gf.processor.priority.k2 = 5
b.sinkgroups.glb.sinks = k2 k3
b.sinkgroups.glb.processor.type = load_balance
b.sinkgroups.gdef.sinks = k4 k5
b.sinkgroups.gdef.processor.type = default
b.sinkgroups.gone.sinks = k6
b.sinkgroups.gone.processor.type = load_balance
EOF
for k in k1 k2 k3 k4 k5 k6; do
  printf '%s\n' "b.sinks.$k.type = null" "b.sinks.$k.channel = ch" >>"$IT_TMP/bad.conf"
done
it_run_expect check 1 -n b -f "$IT_TMP/bad.conf" --check
cat "$IT_TMP/check.out" "$IT_TMP/check.log" >"$IT_TMP/check.all"
check_line() {
  it_assert_grep "$1" "$IT_TMP/check.all" "$2"
}
check_line "unknown sink" "bad.conf:8: sinkgroups.gf: sinks: sink 'nosuch' is unknown or was removed"
check_line "duplicate priority" \
  "bad.conf:11: sinkgroups.gf: processor.priority.k2: priority 5 duplicates that of sink k1; sink k2 is left out"
check_line "sink in two groups" "bad.conf:12: sinkgroups.glb: sinks: sink 'k2' already belongs to sink group gf"
check_line "load_balance with one sink" \
  "sinkgroups.glb: sinks: processor load_balance needs at least 2 sink\(s\), the group has 1 valid; group glb removed"
check_line "default with two sinks" \
  "bad.conf:14: sinkgroups.gdef: sinks: processor default needs exactly 1 sink\(s\), the group has 2 valid"
check_line "load_balance with one sink (2)" "bad.conf:16: sinkgroups.gone: sinks: processor load_balance needs at least 2"

it_start c1 -n c1 -f "$conf"
it_start c2 -n c2 -f "$conf"
it_wait_listening c1 1
it_wait_listening c2 1
it_start e -n e -f "$conf"
it_wait_listening e 1

# ---- part 1: kill the active collector mid-stream, then restart it ----
N1=12000
PAUSE=3000
CTL="$CTL" "$PYTHON" "$IT_TMP/gen.py" 0 "$N1" 1000 "$PAUSE" |
  "$RELAY_SEND" -H "127.0.0.1:$PE" --batch-size 10 --retry-timeout 30 2>"$IT_TMP/send1.log" &
sender=$!
wait_until 20 test -e "$CTL/paused"
wait_until 20 has_lines 0 "$PAUSE" "$O1" "$PAUSE"
[ "$(in_range 0 "$PAUSE" "$O2")" -eq 0 ] || it_fail "c2 received events while c1 was healthy"
kill -KILL "$(it_pid c1)"
wait "$(it_pid c1)" 2>/dev/null
unset "IT_PIDS[c1]"
t_kill=$(it_now_ms)
touch "$CTL/go"
wait_until 20 has_lines 0 "$N1" "$O2" 1
t_switch=$(it_now_ms)
t_resumed=$(cat "$CTL/resumed")
switch_ms=$((t_switch - t_resumed))
it_log "failover after kill: first event at c2 ${switch_ms} ms after the stream resumed ($((t_switch - t_kill)) ms after the kill)"
# The switch happens in the cycle that finds c1 gone (a lost or refused connection), not after a
# request-timeout: asserted on the edge's log; the time is only bounded generously (a loaded machine).
[ "$switch_ms" -lt 30000 ] || it_fail "switch took ${switch_ms} ms"
it_wait_log e 'sent to the failover list sink=k1 failures=1 retry_in_ms=2000'
it_assert_no_grep "c1's failure was not a timeout" "$IT_TMP/e.log" 'sink:avro:k1\] delivery failed.*status=TIMEOUT'

sleep 2.5
c1_before=$(in_range 0 "$N1" "$O1")
it_start c1b -n c1 -f "$conf"
it_wait_listening c1b 1
t_restart=$(it_now_ms)
wait_until 15 has_lines 0 "$N1" "$O1" $((c1_before + 1))
t_back=$(it_now_ms)
back_ms=$((t_back - t_restart))
it_log "traffic back at c1 ${back_ms} ms after its restart ($((t_back - t_resumed)) ms after the failure; penalties 2 s, 4 s)"
[ "$back_ms" -le 20000 ] || it_fail "c1 got traffic back only ${back_ms} ms after its restart (maxpenalty 4000)"
it_wait_log e 'sink recovered from the failover list sink=k1 active=k1'
sleep 0.3
c2_after_return=$(in_range 0 "$N1" "$O2")

wait "$sender" || it_fail "relay-send failed: $(tail -3 "$IT_TMP/send1.log")"
"$PYTHON" "$IT_TMP/count.py" 0 "$N1" "$O1" "$O2" >"$IT_TMP/count1.out" || {
  cat "$IT_TMP/count1.out"
  it_fail "numbers lost in part 1"
}
it_log "part 1: $(cat "$IT_TMP/count1.out"); c1=$(in_range 0 "$N1" "$O1") c2=$(in_range 0 "$N1" "$O2")"
[ "$(in_range 0 "$N1" "$O2")" -eq "$c2_after_return" ] || it_fail "c2 still got traffic after c1 returned"
it_stop e
it_stop c1b

# ---- part 2: the primary accepts connections but never answers ----
cat >"$IT_TMP/blackhole.py" <<'EOF'
import socket, sys, threading, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
log = open(sys.argv[2], "a", buffering=1)
def swallow(conn):
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass
srv.settimeout(0.2)
deadline = time.monotonic() + 120  # stops by itself
while time.monotonic() < deadline:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    log.write("%d\n" % int(time.time() * 1000))
    threading.Thread(target=swallow, args=(conn,), daemon=True).start()
EOF
"$PYTHON" "$IT_TMP/blackhole.py" "$PB" "$IT_TMP/blackhole.log" &
blackhole=$!
# On exit the helper server goes too, then lib.sh's cleanup runs with the test's exit status.
_stop_blackhole() {
  local rc=$?
  kill "$blackhole" 2>/dev/null
  (exit "$rc")
  _it_cleanup
}
trap _stop_blackhole EXIT
wait_until 10 bash -c "exec 8<>/dev/tcp/127.0.0.1/$PB" 2>/dev/null
it_start e2 -n e2 -f "$conf"
it_wait_listening e2 1
N2=2000
t_start=$(it_now_ms)
"$PYTHON" "$IT_TMP/gen.py" 100000 "$N2" 1000 | "$RELAY_SEND" -H "127.0.0.1:$PE2" --batch-size 10 \
  --retry-timeout 30 2>"$IT_TMP/send2.log" &
sender=$!
wait_until 20 has_lines 100000 $((100000 + N2)) "$O2" 1
hung_ms=$(($(it_now_ms) - t_start))
it_log "silent primary: first event at c2 ${hung_ms} ms after the stream started (request-timeout 2000)"
# Behaviour: nothing reaches c2 before the silent primary's request-timeout, and k1's batch failed by that
# timeout; the upper bound only ends a test that hangs (a run at load average 22 took 14.5 s).
[ "$hung_ms" -ge 1900 ] || it_fail "events reached c2 before the silent primary's request-timeout"
[ "$hung_ms" -le 30000 ] || it_fail "failover from the silent primary took ${hung_ms} ms"
it_wait_log e2 'sink:avro:k1\] delivery failed, batch rolled back status=TIMEOUT .*within 2000 ms' 1 10
wait "$sender" || it_fail "relay-send to e2 failed: $(tail -3 "$IT_TMP/send2.log")"
wait_until 30 has_lines 100000 $((100000 + N2)) "$O2" "$N2"
"$PYTHON" "$IT_TMP/count.py" 100000 $((100000 + N2)) "$O2" >"$IT_TMP/count2.out" || {
  cat "$IT_TMP/count2.out"
  it_fail "numbers lost in part 2"
}
it_log "part 2: $(cat "$IT_TMP/count2.out"); connections to the silent server: $(wc -l <"$IT_TMP/blackhole.log")"
it_assert_grep "e2 timed out on the silent primary" "$IT_TMP/e2.log" 'sent to the failover list sink=k1'
it_stop e2
it_stop c2
kill "$blackhole" 2>/dev/null
echo "PASS: failover ${switch_ms} ms after a kill, ${hung_ms} ms from a silent peer, back ${back_ms} ms after the restart"
