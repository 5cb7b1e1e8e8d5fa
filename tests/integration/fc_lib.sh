# fc_lib.sh - helpers for the file-channel integration tests (sourced after lib.sh and avro_lib.sh).
#
# Tests compose their agents from avro_lib.sh's source and sink lines and fc_conf_file_channel (channel
# directories under $IT_TMP). fc_start (re)starts a relayd under a name and APPENDS to its log, so
# a test can kill and restart an agent many times and still read every line it logged; the pid goes into
# lib.sh's IT_PIDS, so lib.sh's exit trap kills whatever still runs. fc_kill sends SIGKILL and reaps.

FCDUMP="$TOP_BUILDDIR/src/relayd-fcdump"
[ -x "$FCDUMP" ] || {
  echo "relayd-fcdump not found: $FCDUMP" >&2
  exit 99
}

# fc_conf_file_channel AGENT DIR [CAPACITY] [TX_CAPACITY] [KEY=VALUE...]: the lines of file channel c1 with
# checkpointDir DIR/checkpoint and dataDirs DIR/data (minimumRequiredSpace 1 MiB: test machines are small);
# a KEY=VALUE replaces the default of that key or adds one.
fc_conf_file_channel() {
  local agent=$1 dir=$2 kv key val
  local -A value=([type]=file [checkpointDir]="$dir/checkpoint" [dataDirs]="$dir/data" [capacity]=${3:-1000000}
    [transactionCapacity]=${4:-1000} [minimumRequiredSpace]=1048576 [keep-alive]=1)
  local keys=(type checkpointDir dataDirs capacity transactionCapacity minimumRequiredSpace keep-alive)
  shift 4 2>/dev/null || shift $#
  for kv in "$@"; do
    key=${kv%%=*}
    key=${key// /}
    [ -n "${value[$key]+set}" ] || keys+=("$key")
    val=${kv#*=}
    value[$key]=${val#"${val%%[! ]*}"}
  done
  for key in "${keys[@]}"; do
    echo "$agent.channels.c1.$key = ${value[$key]}"
  done
}

# fc_start NAME ARGS...: starts relayd in the background, appending stderr to $IT_TMP/NAME.log.
fc_start() {
  local name=$1
  shift
  "$RELAYD" "$@" >>"$IT_TMP/$name.out" 2>>"$IT_TMP/$name.log" </dev/null &
  IT_PIDS[$name]=$!
}

# fc_kill NAME: SIGKILL and reap (the status is 137, nothing to check).
fc_kill() {
  local pid=${IT_PIDS[$1]}
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# fc_wait_ready NAME PORT [TIMEOUT_S]: waits until NAME accepts connections on PORT; prints nothing.
fc_wait_ready() {
  local name=$1 port=$2 limit=${3:-$IT_TIMEOUT} deadline
  deadline=$(($(it_now_ms) + limit * 1000))
  while ! (exec 8<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    it_alive "$name" || it_fail "$name exited while waiting for port $port"
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "$name: nothing listens on port $port after ${limit}s"
    sleep 0.01
  done
}

# fc_seqcheck ARGS...: tests/tools/fc_seqcheck.py; fails the test when it reports a problem.
fc_seqcheck() {
  local out
  if ! out=$("$PYTHON" "$IT_TOOLS/fc_seqcheck.py" "$@" 2>&1); then
    echo "$out"
    it_fail "fc_seqcheck $*"
  fi
  echo "$out"
}

# fc_pending DIR...: the pending event count relayd-fcdump prints for a channel (checkpoint dir, data dirs).
fc_pending() {
  "$FCDUMP" "$@" | sed -n 's/.*pending[_ ]*events[=: ]*\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# fc_numbers_paced COUNT SECONDS: prints 0..COUNT-1, one per line, spread evenly over about SECONDS (so a
# relay-send reading them keeps sending for that long).
fc_numbers_paced() {
  "$PYTHON" - "$1" "$2" <<'PY'
import sys, time
count, seconds = int(sys.argv[1]), float(sys.argv[2])
chunk = 1000
start = time.monotonic()
for first in range(0, count, chunk):
    sys.stdout.write("".join("%d\n" % n for n in range(first, min(first + chunk, count))))
    sys.stdout.flush()
    delay = start + seconds * (first + chunk) / count - time.monotonic()
    if delay > 0:
        time.sleep(delay)
PY
}
