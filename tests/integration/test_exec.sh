#!/usr/bin/env bash
# test_exec.sh - exec source with real commands: tail -F across a rotation, restart, stderr, stop.
#
# 1. `tail -n +1 -F app.log` feeds a file_roll sink; 500 numbered lines are appended, the file is rotated
#    by rename and a new app.log gets 500 more: all 1000 arrive exactly once and in order.
# 2. A command (through shell = /bin/sh -c) that prints one line and one stderr line and exits, with
#    restart = true and restartThrottle = 200: it runs again and again (each run's line arrives, each
#    stderr line is logged with logStdErr = true), and no exited run is left as a zombie child of relayd.
# 3. A command that ignores SIGTERM (and a child it started that does too): at stop relayd sends TERM to
#    the process group, then KILL after killTimeout, reaps it, logs it, exits 0, and nothing of the group
#    survives. Type given as Flume's class name.
. "$(dirname "$0")/lib.sh"

common() { # AGENT OUTDIR
  mkdir -p "$2"
  cat <<EOF
$1.sources = r1
$1.channels = c1
$1.sinks = k1
$1.sources.r1.channels = c1
$1.channels.c1.type = memory
$1.channels.c1.capacity = 10000
$1.channels.c1.transactionCapacity = 100
$1.sinks.k1.type = file_roll
$1.sinks.k1.channel = c1
$1.sinks.k1.sink.directory = $2
$1.sinks.k1.sink.rollInterval = 0
$1.sinks.k1.sink.batchSize = 100
EOF
}

# group_members PGID: "pid stat comm" of each process in process group PGID.
group_members() {
  ps -e -o pgid=,pid=,stat=,comm= | awk -v g="$1" '$1 == g { print $2, $3, $4 }'
}

# ---- 1. tail -F across a rotation ----
log="$IT_TMP/app.log"
: >"$log"
{
  common a "$IT_TMP/out-a"
  cat <<EOF
a.sources.r1.type = exec
a.sources.r1.command = tail -n +1 -F $log
a.sources.r1.batchSize = 50
a.sources.r1.batchTimeout = 100
EOF
} >"$IT_TMP/a.conf"
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_log a 'command started pid='
seq 0 499 >>"$log"
it_wait_lines "$IT_TMP/out-a" 500 30 a
mv "$log" "$log.1"
seq 500 999 >"$log"
it_wait_lines "$IT_TMP/out-a" 1000 30 a
sleep 0.3
it_stop a
it_seqcheck --count 1000 --ordered "$IT_TMP/out-a"
it_assert_grep "Flume's counters" "$IT_TMP/a.log" 'source:exec:r1\] counters EventReceivedCount=1000 EventAcceptedCount=1000 '

# ---- 2. a command that exits is restarted; stderr is logged; no zombies ----
{
  common b "$IT_TMP/out-b"
  cat <<EOF
b.sources.r1.type = exec
b.sources.r1.shell = /bin/sh -c
b.sources.r1.command = n=\$(cat $IT_TMP/runs 2>/dev/null || echo 0); echo \$((n + 1)) >$IT_TMP/runs; echo run-\$n; echo oops-\$n >&2
b.sources.r1.restart = true
b.sources.r1.restartThrottle = 200
b.sources.r1.logStdErr = true
b.sources.r1.batchTimeout = 100
EOF
} >"$IT_TMP/b.conf"
it_start b -n b -f "$IT_TMP/b.conf"
it_wait_lines "$IT_TMP/out-b" 4 30 b
it_wait_log b 'command exited pid=[0-9]+ exit status 0' 3
it_wait_log b 'stderr line=oops-2'
zombies=$(ps -o stat= --ppid "$(it_pid b)" | grep -c '^Z' || true)
[ "$zombies" -le 1 ] || it_fail "relayd has $zombies zombie children (an exited run not reaped)"
it_stop b
for i in 0 1 2 3; do
  it_assert_grep "run $i delivered" <(it_cat_dir "$IT_TMP/out-b") "^run-$i\$"
done

# ---- 3. stop: a command ignoring SIGTERM is killed with its process group and reaped ----
{
  common c "$IT_TMP/out-c"
  cat <<EOF
c.sources.r1.type = org.apache.flume.source.ExecSource
c.sources.r1.shell = /bin/sh -c
c.sources.r1.command = trap '' TERM; echo up; sleep 300 & wait; wait
c.sources.r1.killTimeout = 1000
c.sources.r1.batchSize = 1
EOF
} >"$IT_TMP/c.conf"
it_start c -n c -f "$IT_TMP/c.conf"
it_wait_lines "$IT_TMP/out-c" 1 30 c
pid=$(grep -oE 'command started pid=[0-9]+' "$IT_TMP/c.log" | head -n 1 | grep -oE '[0-9]+$')
[ -n "$pid" ] || it_fail "no pid in the log"
[ "$(group_members "$pid" | wc -l)" -ge 2 ] || it_fail "expected the shell and its sleep in group $pid"
it_stop c
it_assert_grep "kill logged" "$IT_TMP/c.log" "killed its process group pid=$pid killed by signal 9"
# relayd has exited; a grandchild killed with the group may stay a zombie until init reaps it.
left=$(group_members "$pid" | awk '$2 !~ /^Z/')
[ -z "$left" ] || it_fail "processes of group $pid survived the stop: $left"
[ "$IT_STOP_MS" -lt 10000 ] || it_fail "stop took ${IT_STOP_MS} ms"
echo "PASS: $IT_NAME"
