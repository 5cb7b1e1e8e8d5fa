# lib.sh - shared helpers for relayd's integration tests (sourced by tests/integration/test_*.sh).
# shellcheck shell=bash
#
# Each test starts the real relayd binary on free loopback ports, talks to it, and checks what arrives.
# `make check` provides RELAYD (the binary), TOP_SRCDIR and TOP_BUILDDIR; run by hand, they default to the
# source tree this file is in and its build/ directory. A test:
#
#   . "$(dirname "$0")/lib.sh"
#   it_start a -n a -f "$conf"          # stderr -> $IT_TMP/a.log
#   it_wait_listening a 1
#   ...checks, it_fail "why" on failure...
#   it_stop a                           # SIGTERM, exit status 0, no sanitizer report
#
# Exit statuses follow automake: 0 pass, 77 skip, anything else fail. On exit every relayd still running is
# killed and the temporary directory removed; when the test failed, the logs of every relayd are printed
# first (they end up in the test's .log file). IT_KEEP=1 keeps the temporary directory.

if [ -z "${BASH_VERSION:-}" ]; then
  echo "lib.sh needs bash" >&2
  exit 99
fi
set -u

IT_NAME=$(basename "$0" .sh)
IT_DIR=$(cd "$(dirname "$0")" && pwd)
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$IT_DIR/../.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR/build}
RELAYD=${RELAYD:-$TOP_BUILDDIR/src/relayd}
IT_TOOLS="$TOP_SRCDIR/tests/tools"
# Debian's interpreter when present: it starts in 30 ms where a version manager's shim (pyenv) takes 0.4-3 s,
# and it is the one python3-avro, python3-thrift and the other test packages are installed for.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || echo python3)}
# Sanitizer builds start and stop more slowly; every wait below is a bound, not a sleep.
IT_TIMEOUT=${IT_TIMEOUT:-20}

IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/relayd-$IT_NAME.XXXXXX") || exit 99
declare -A IT_PIDS=()
IT_GROUPS=() # process groups a test started with setsid (browsers...): killed at exit, whatever the outcome
IT_STATUS=0 # exit status of the last it_run / it_stop
IT_STOP_MS=0

IT_START_S=$(date +%s)

_it_cleanup() {
  local rc=$? name
  # One line per test run, for scripts/test's list of the slowest tests (the suite's time budget).
  echo "$(($(date +%s) - IT_START_S)) $IT_NAME $rc" >>"$TOP_BUILDDIR/test-times.txt" 2>/dev/null
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for name in "${!IT_PIDS[@]}"; do
      echo "---- $name: stderr (last 60 lines) ----"
      tail -n 60 "$IT_TMP/$name.log" 2>/dev/null
    done
  fi
  for name in "${!IT_PIDS[@]}"; do
    kill -KILL "${IT_PIDS[$name]}" 2>/dev/null
    wait "${IT_PIDS[$name]}" 2>/dev/null
  done
  for name in "${IT_GROUPS[@]}"; do
    kill -KILL -- -"$name" 2>/dev/null
  done
  if [ "${IT_KEEP:-0}" = 1 ]; then
    echo "kept $IT_TMP"
  else
    rm -rf "$IT_TMP"
  fi
  exit $rc
}
trap _it_cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$RELAYD" ]; then
  echo "relayd binary not found: $RELAYD" >&2
  exit 99
fi

# Prints a message and ends the test as failed.
it_fail() {
  echo "FAIL: $IT_NAME: $*"
  exit 1
}

# Ends the test as skipped (automake's 77).
it_skip() {
  echo "SKIP: $IT_NAME: $*"
  exit 77
}

it_log() {
  echo "# $*"
}

# Milliseconds since the epoch.
it_now_ms() {
  date +%s%3N
}

# Prints a TCP port on 127.0.0.1 that nobody listens on now (the kernel's choice, so parallel tests differ).
it_free_port() {
  "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# IT_SANITIZED is true when relayd was built with a sanitizer (ASan/UBSan/TSan run several times slower).
# it_scaled N prints N for a normal build and N/5 (at least 1) for a sanitizer build: volume tests (hundreds
# of thousands of events) use it so that the whole suite, run three times by scripts/test, stays short.
IT_SANITIZED=false
ldd "$RELAYD" 2>/dev/null | grep -q 'lib[at]san' && IT_SANITIZED=true
it_scaled() {
  if $IT_SANITIZED; then
    local n=$(($1 / 5))
    echo $((n > 0 ? n : 1))
  else
    echo "$1"
  fi
}

# Fails the test if file $1 holds a sanitizer report.
it_check_sanitizer() {
  local file=$1
  if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' "$file" 2>/dev/null; then
    echo "---- sanitizer report in $file ----"
    grep -A 40 -E 'ERROR: AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' "$file" | head -n 80
    it_fail "sanitizer report in $(basename "$file")"
  fi
}

# it_run NAME ARGS...: runs relayd to completion (bounded by IT_TIMEOUT), stdout to $IT_TMP/NAME.out, stderr
# to $IT_TMP/NAME.log; sets IT_STATUS. Fails on a sanitizer report or a timeout.
it_run() {
  local name=$1
  shift
  IT_STATUS=0
  timeout -k 5 "$IT_TIMEOUT" "$RELAYD" "$@" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.log" </dev/null || IT_STATUS=$?
  it_check_sanitizer "$IT_TMP/$name.log"
  if [ "$IT_STATUS" -eq 124 ] || [ "$IT_STATUS" -eq 137 ]; then
    cat "$IT_TMP/$name.log"
    it_fail "relayd $* did not finish within ${IT_TIMEOUT}s"
  fi
}

# it_run_expect NAME STATUS ARGS...: it_run, then fails unless relayd exited with STATUS.
it_run_expect() {
  local name=$1 want=$2
  shift 2
  it_run "$name" "$@"
  if [ "$IT_STATUS" -ne "$want" ]; then
    echo "---- stdout ----"
    cat "$IT_TMP/$name.out"
    echo "---- stderr ----"
    cat "$IT_TMP/$name.log"
    it_fail "relayd $* exited $IT_STATUS, expected $want"
  fi
}

# it_start NAME ARGS...: starts relayd in the background; stderr to $IT_TMP/NAME.log, stdout to NAME.out.
it_start() {
  local name=$1
  shift
  "$RELAYD" "$@" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.log" </dev/null &
  IT_PIDS[$name]=$!
  it_log "started $name (pid ${IT_PIDS[$name]}): relayd $*"
}

it_pid() {
  echo "${IT_PIDS[$1]}"
}

# it_alive NAME: true while that relayd runs.
it_alive() {
  kill -0 "${IT_PIDS[$1]}" 2>/dev/null
}

# it_count FILE REGEX: number of lines of FILE matching the extended REGEX (0 when FILE is missing).
it_count() {
  local n
  n=$(grep -cE -- "$2" "$1" 2>/dev/null) || true
  echo "${n:-0}"
}

# it_wait_log NAME REGEX [COUNT] [TIMEOUT_S]: waits until NAME's stderr has COUNT (default 1) lines matching
# REGEX; fails if relayd exits first or the time runs out.
it_wait_log() {
  local name=$1 regex=$2 want=${3:-1} limit=${4:-$IT_TIMEOUT}
  local log="$IT_TMP/$name.log" deadline
  deadline=$(($(it_now_ms) + limit * 1000))
  while [ "$(it_count "$log" "$regex")" -lt "$want" ]; do
    if ! it_alive "$name"; then
      it_fail "$name exited while waiting for $want line(s) matching '$regex'"
    fi
    if [ "$(it_now_ms)" -gt "$deadline" ]; then
      it_fail "$name: no $want line(s) matching '$regex' within ${limit}s"
    fi
    sleep 0.02
  done
}

# it_wait_listening NAME COUNT: waits for COUNT "listening" lines (one per listening source).
it_wait_listening() {
  it_wait_log "$1" 'INFO +\[source:[^]]*\] listening ' "${2:-1}"
}

# it_wait_port NAME PORT: waits until something accepts connections on 127.0.0.1:PORT (for agents whose
# log level hides the "listening" line); fails if relayd NAME exits first.
it_wait_port() {
  local name=$1 port=$2 deadline
  deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
  while ! (exec 8<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    it_alive "$name" || it_fail "$name exited while waiting for port $port"
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "nothing listens on port $port after ${IT_TIMEOUT}s"
    sleep 0.02
  done
}

# it_wait_exit NAME TIMEOUT_S: waits for relayd to exit by itself; sets IT_STATUS (fails on timeout).
it_wait_exit() {
  local name=$1 limit=${2:-$IT_TIMEOUT} pid=${IT_PIDS[$1]} deadline
  deadline=$(($(it_now_ms) + limit * 1000))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(it_now_ms)" -gt "$deadline" ]; then
      it_fail "$name (pid $pid) still running after ${limit}s"
    fi
    sleep 0.02
  done
  IT_STATUS=0
  wait "$pid" || IT_STATUS=$?
  unset "IT_PIDS[$name]"
  it_check_sanitizer "$IT_TMP/$name.log"
}

# it_stop NAME [SIGNAL] [TIMEOUT_S]: sends SIGNAL (TERM), waits for the exit, fails unless the status is 0
# and the log is free of sanitizer reports. Sets IT_STOP_MS to the time from signal to exit.
it_stop() {
  local name=$1 sig=${2:-TERM} limit=${3:-$IT_TIMEOUT} t0
  t0=$(it_now_ms)
  kill -"$sig" "${IT_PIDS[$name]}" 2>/dev/null || it_fail "$name was not running when it was to be stopped"
  it_wait_exit "$name" "$limit"
  IT_STOP_MS=$(($(it_now_ms) - t0))
  if [ "$IT_STATUS" -ne 0 ]; then
    it_fail "$name exited with status $IT_STATUS after SIG$sig, expected 0"
  fi
  it_log "$name stopped by SIG$sig in ${IT_STOP_MS} ms"
}

# it_lines DIR: total number of complete lines in the regular files of DIR.
it_lines() {
  local files
  files=$(find "$1" -maxdepth 1 -type f 2>/dev/null)
  if [ -z "$files" ]; then
    echo 0
    return
  fi
  # shellcheck disable=SC2086
  cat $files | wc -l
}

# it_wait_lines DIR COUNT [TIMEOUT_S] [NAME]: waits until the files in DIR hold at least COUNT lines.
it_wait_lines() {
  local dir=$1 want=$2 limit=${3:-$IT_TIMEOUT} name=${4:-} deadline
  deadline=$(($(it_now_ms) + limit * 1000))
  while [ "$(it_lines "$dir")" -lt "$want" ]; do
    if [ -n "$name" ] && ! it_alive "$name"; then
      it_fail "$name exited while waiting for $want lines in $dir"
    fi
    if [ "$(it_now_ms)" -gt "$deadline" ]; then
      it_fail "only $(it_lines "$dir") of $want lines arrived in $dir within ${limit}s"
    fi
    sleep 0.05
  done
}

# it_cat_dir DIR: the files of DIR concatenated in name order (file_roll names them <start-ms>-<n>).
it_cat_dir() {
  find "$1" -maxdepth 1 -type f -print0 | sort -z -V | xargs -0 -r cat
}

# it_seqcheck ARGS...: runs tests/tools/seqcheck.py; fails the test when it reports a problem.
it_seqcheck() {
  local out
  if ! out=$("$PYTHON" "$IT_TOOLS/seqcheck.py" "$@" 2>&1); then
    echo "$out"
    it_fail "seqcheck $*"
  fi
  echo "$out"
}

# it_client ARGS...: tests/integration/lineclient.py (netcat-protocol client), output on stdout.
it_client() {
  "$PYTHON" "$IT_DIR/lineclient.py" "$@"
}

# it_assert_eq WHAT EXPECTED ACTUAL
it_assert_eq() {
  if [ "$2" != "$3" ]; then
    echo "---- expected ----"
    printf '%s\n' "$2"
    echo "---- actual ----"
    printf '%s\n' "$3"
    it_fail "$1: mismatch"
  fi
}

# it_assert_grep WHAT FILE REGEX: FILE must have a line matching the extended REGEX.
it_assert_grep() {
  if ! grep -qE -- "$3" "$2"; then
    echo "---- $2 ----"
    cat "$2"
    it_fail "$1: no line matches '$3'"
  fi
}

# it_assert_no_grep WHAT FILE REGEX: FILE must have no line matching the extended REGEX.
it_assert_no_grep() {
  if grep -qE -- "$3" "$2"; then
    echo "---- $2 ----"
    cat "$2"
    it_fail "$1: unexpected line matching '$3'"
  fi
}

# ---- issue 19: --check also tries the ports ----
# it_check_clean NAME ARGS...: runs `relayd --check ARGS` and fails unless it reports no problem. --check tries
# to listen on every source's port, so a bundled agent's fixed port (41414, 44444...) that something else on
# the machine happens to hold is tolerated: exit 1 is accepted when every problem line is such a port in use.
it_check_clean() {
  local name=$1
  shift
  it_run "$name" --check "$@"
  [ "$IT_STATUS" -eq 0 ] && return 0
  if [ "$IT_STATUS" -eq 1 ] && ! grep -vE ': would not start: cannot listen on .*: Address already in use$|: agent [^ ]+: [0-9]+ problem\(s\)$' \
    "$IT_TMP/$name.out" >/dev/null; then
    it_log "$name: only fixed ports held by something else on this machine: $(grep -c 'would not start' "$IT_TMP/$name.out")"
    return 0
  fi
  echo "---- stdout ----"
  cat "$IT_TMP/$name.out"
  it_fail "relayd --check $* reported problems (exit $IT_STATUS)"
}
