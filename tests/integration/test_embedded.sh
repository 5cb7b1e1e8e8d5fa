#!/usr/bin/env bash
# test_embedded.sh - the embedded agent library from its installed header, pkg-config file and Python module
# (issue 17).
#
# Installs the libraries, headers, pkg-config files and the Python module into a temporary DESTDIR; checks the
# exported symbols are relay_embedded_* only, versioned; builds tests/tools/embedded_put_prog.c with nothing but
# `pkg-config --cflags --libs relay-embedded`. Then, against relayd collectors (avro or thrift source ->
# memory channel -> file_roll):
#   1. C, failover: 8 lanes put N numbered events (batches and single puts) into an embedded agent whose
#      failover group sends to collector A (priority) and B; each lane's share goes through 20 threads one
#      after the other, so application threads exit between puts (their cached batch array and channel
#      transaction are freed then: no leak in the sanitizer build) while new ones start putting. Halfway the program pauses; once A has written
#      everything it was sent, A is SIGKILLed and the program goes on: the rest fails over to B. Stop delivers
#      everything; every number is in A's or B's files (duplicates allowed and counted). (The pause only makes
#      sure A holds no acknowledged but unwritten events in its own memory channel when killed: that would be
#      the collector's durability, not the embedded agent's.)
#   2. C, full channel: put on a full memory channel returns FULL after the keep-alive (1 s); two agents in
#      one process, each logging to its own callback; state, configuration and size errors.
#   3. C, file channel: N events put while the thrift collector is down, stop says N are left and kept; the
#      collector starts, start again delivers all of them.
#   4. Python: as 1, through relayd_embedded (ctypes), with its exceptions. This part runs as its own test,
#      test_embedded_python.sh (which sets EMBEDDED_PART=python and sources this file), to keep each short.
. "$(dirname "$0")/lib.sh"

EMBEDDED_PART=${EMBEDDED_PART:-c}
if [ "$EMBEDDED_PART" = python ] && $IT_SANITIZED; then
  it_skip "sanitizer build: python3 cannot load a sanitized library without preloading the sanitizer runtime"
fi

command -v pkg-config >/dev/null || it_skip "pkg-config is not installed"
CC=${CC:-cc}
N=$(it_scaled 200000)
dest="$IT_TMP/dest"
make -s -C "$TOP_BUILDDIR" install-libLTLIBRARIES install-embeddedincludeHEADERS install-pkgconfigDATA \
  install-embeddedpyDATA DESTDIR="$dest" >"$IT_TMP/install.log" 2>&1 || {
  cat "$IT_TMP/install.log"
  it_fail "make install into DESTDIR failed"
}
pc=$(find "$dest" -name relay-embedded.pc | head -n 1)
[ -n "$pc" ] || it_fail "relay-embedded.pc not installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s#^prefix=.*#prefix=$dest$prefix#" "$pc"
export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir=$(pkg-config --variable=libdir relay-embedded)
incdir=$(pkg-config --variable=includedir relay-embedded)
[ -f "$incdir/relayd/embedded.h" ] || it_fail "relayd/embedded.h not installed in $incdir"
so="$libdir/librelay-embedded.so.0"
[ -e "$so" ] || it_fail "librelay-embedded.so.0 not installed"
pymod=$(find "$dest" -name relayd_embedded.py | head -n 1)
[ -n "$pymod" ] || it_fail "relayd_embedded.py not installed"
grep -q "$libdir\|${libdir#"$dest"}" "$pymod" || it_fail "relayd_embedded.py does not name the installed libdir"
nm -D --defined-only "$so" | awk '$3 !~ /^RELAY_EMBEDDED_/ {print $3}' >"$IT_TMP/exported"
it_assert_no_grep "only relay_embedded_* is exported" "$IT_TMP/exported" '^[^r]|^relay_[^e]|^relay_embedded_(build|fail|space|config_)'
it_assert_grep "symbols are versioned" <(objdump -T "$so") 'RELAY_EMBEDDED_0 +relay_embedded_put_batch$'

export LD_LIBRARY_PATH="$libdir"

# collector NAME PORT DIR [TYPE [APP]]: TYPE (avro) source -> memory channel -> file_roll into DIR. With APP,
# only events whose header app is APP (set by the embedded agent's static interceptor) go there: the others
# go to DIR.stray.
collector() {
  local default=ch
  [ -z "${5:-}" ] || default=stray
  mkdir -p "$3" "$3.stray"
  cat >"$IT_TMP/$1.conf" <<EOF
$1.sources = r1
$1.channels = ch stray
$1.sinks = out stray
$1.sources.r1.type = ${4:-avro}
$1.sources.r1.bind = 127.0.0.1
$1.sources.r1.port = $2
$1.sources.r1.channels = ch stray
$1.sources.r1.selector.type = multiplexing
$1.sources.r1.selector.header = app
$1.sources.r1.selector.mapping.${5:-none} = ch
$1.sources.r1.selector.default = $default
$1.channels.stray.type = memory
$1.sinks.stray.type = file_roll
$1.sinks.stray.channel = stray
$1.sinks.stray.sink.directory = $3.stray
$1.sinks.stray.sink.serializer = header_and_text
$1.channels.ch.type = memory
$1.channels.ch.capacity = 100000
$1.channels.ch.transactionCapacity = 1000
$1.sinks.out.type = file_roll
$1.sinks.out.channel = ch
$1.sinks.out.sink.directory = $3
$1.sinks.out.sink.rollInterval = 0
$1.sinks.out.sink.batchSize = 1000
EOF
  it_start "$1" -n "$1" -f "$IT_TMP/$1.conf"
  it_wait_listening "$1" 1
}

# app NAME COMMAND...: runs an application in the background with stdin from a FIFO (fd 9 here), stdout to
# $IT_TMP/NAME.out and stderr to $IT_TMP/NAME.log.
app() {
  local name=$1
  shift
  rm -f "$IT_TMP/$name.fifo"
  mkfifo "$IT_TMP/$name.fifo"
  "$@" <"$IT_TMP/$name.fifo" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.log" &
  IT_PIDS[$name]=$!
  exec 9>"$IT_TMP/$name.fifo"
}

# app_wait_out NAME REGEX: waits for a line of the application's stdout.
app_wait_out() {
  local deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
  until grep -qE "$2" "$IT_TMP/$1.out"; do
    it_alive "$1" || {
      cat "$IT_TMP/$1.out"
      it_fail "$1 exited before printing '$2'"
    }
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "$1 did not print '$2' within ${IT_TIMEOUT}s"
    sleep 0.02
  done
}

# app_finish NAME: waits for the application's exit; fails unless it is 0 and free of sanitizer reports.
app_finish() {
  exec 9>&-
  it_wait_exit "$1" "$IT_TIMEOUT"
  if [ "$IT_STATUS" -ne 0 ]; then
    cat "$IT_TMP/$1.out"
    tail -n 30 "$IT_TMP/$1.log"
    it_fail "$1 exited with status $IT_STATUS"
  fi
}

# failover_run NAME APP COMMAND...: part 1 (and 4) with fresh collectors a-NAME and b-NAME; APP is the value
# of header app the application's interceptor sets.
failover_run() {
  local name=$1 app=$2 pa pb
  shift 2
  pa=$(it_free_port)
  pb=$(it_free_port)
  collector "a-$name" "$pa" "$IT_TMP/a-$name" avro "$app"
  collector "b-$name" "$pb" "$IT_TMP/b-$name" avro "$app"
  local t0
  t0=$(it_now_ms)
  app "$name" "$@" "$pa" "$pb" "$N"
  app_wait_out "$name" '^HALF$'
  it_wait_lines "$IT_TMP/a-$name" $((N / 2)) "$IT_TIMEOUT" "a-$name"
  kill -KILL "$(it_pid "a-$name")"
  it_wait_exit "a-$name" 5
  echo go >&9
  app_finish "$name"
  it_assert_grep "$name: stop delivered everything" "$IT_TMP/$name.out" '^STOP status=OK left=0$'
  it_stop "b-$name"
  [ "$(it_lines "$IT_TMP/b-$name")" -gt 0 ] || it_fail "$name: nothing failed over to collector B"
  "$PYTHON" "$IT_TOOLS/fc_seqcheck.py" --count "$N" "$IT_TMP/a-$name" "$IT_TMP/b-$name" || it_fail "$name: events missing"
  it_assert_eq "$name: events without header app=$app (the interceptor's)" 0 \
    "$(($(it_lines "$IT_TMP/a-$name.stray") + $(it_lines "$IT_TMP/b-$name.stray")))"
  it_log "$name: $N events in $(($(it_now_ms) - t0)) ms; A got $(it_lines "$IT_TMP/a-$name"), B got $(it_lines "$IT_TMP/b-$name")"
}

# ---- 4. Python ----
if [ "$EMBEDDED_PART" = python ]; then
  failover_run py embedded-py env PYTHONPATH="$(dirname "$pymod")" RELAYD_EMBEDDED_LIBRARY="$so" "$PYTHON" \
    "$TOP_SRCDIR/tests/integration/embedded_put.py"
  it_assert_grep "python: log callback" "$IT_TMP/py.out" '^LOG lines=[1-9]'
  exit 0
fi

san=$(sed -n 's/^RELAY_SAN_CFLAGS = //p' "$TOP_BUILDDIR/Makefile")
prog="$IT_TMP/embedded_put_prog"
# shellcheck disable=SC2046,SC2086
$CC -std=c11 -Wall -Wextra -Werror $san -o "$prog" "$TOP_SRCDIR/tests/tools/embedded_put_prog.c" -lpthread \
  $(pkg-config --cflags --libs relay-embedded) 2>"$IT_TMP/cc.log" || {
  cat "$IT_TMP/cc.log"
  it_fail "compiling against the installed library failed"
}

# ---- 1. C, failover ----
failover_run c embedded-c "$prog" failover
it_assert_grep "the log callback got the agent's lines" "$IT_TMP/c.log" '^\[cb failover\] 2 .*agent failover-test started'

# ---- 2. C, full channel, errors, two agents ----
dead=$(it_free_port)
app full "$prog" full "$dead"
app_finish full
cat "$IT_TMP/full.out"
it_assert_grep "FULL after the keep-alive" "$IT_TMP/full.out" '^FULL status=FULL waited=(0\.9|[1-9])'
it_assert_grep "each agent logs to its own callback" "$IT_TMP/full.log" '^\[cb agent-a\] .*\[sink:avro:k1\]'
it_assert_grep "each agent logs to its own callback" "$IT_TMP/full.log" '^\[cb agent-b\] .*\[sink:avro:k1\]'
it_assert_no_grep "no line outside the callbacks" "$IT_TMP/full.log" '^[^[]'

# ---- 3. C, file channel: stop, then start again ----
pt=$(it_free_port)
nf=$((N / 10))
app file "$prog" file "$IT_TMP/fc" "$pt" "$nf"
app_wait_out file '^STOPPED '
cat "$IT_TMP/file.out"
it_assert_grep "stop says the file channel keeps them" "$IT_TMP/file.out" "^STOPPED status=UNDELIVERED left=$nf "
collector t "$pt" "$IT_TMP/t" thrift
echo go >&9
app_finish file
it_assert_grep "the next start delivered them" "$IT_TMP/file.out" '^STOP status=OK left=0$'
it_stop t
"$PYTHON" "$IT_TOOLS/fc_seqcheck.py" --count "$nf" --max-duplicates 0 "$IT_TMP/t" || it_fail "file channel: events missing"

