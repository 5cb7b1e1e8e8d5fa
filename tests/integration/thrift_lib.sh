# thrift_lib.sh - helpers for the Thrift integration tests (sourced by test_thrift_*.sh after lib.sh).
#
# The tests talk to relayd with Thrift code generated from idl/flume.thrift at test time, so they need the
# thrift compiler; the Python tools need Debian's python3-thrift, importable by /usr/bin/python3 only (the
# python3 first on PATH may be another installation), hence THRIFT_PYTHON. Helper processes (Python Thrift
# servers) are started through thrift_bg so that they are registered in lib.sh's IT_PIDS: they are killed on
# exit and their stderr is printed when the test fails, like relayd's.

THRIFT_IDL="$TOP_SRCDIR/idl/flume.thrift"
THRIFT_PYTHON=${THRIFT_PYTHON:-/usr/bin/python3}
THRIFT=${THRIFT:-thrift}
# Bound on one client or helper run (seconds); every test stays far below it.
THRIFT_CLIENT_TIMEOUT=${THRIFT_CLIENT_TIMEOUT:-30}

# Skips the test unless the thrift compiler is installed.
thrift_need_compiler() {
  command -v "$THRIFT" >/dev/null 2>&1 || it_skip "the thrift compiler ($THRIFT) is not installed"
}

# Skips the test unless THRIFT_PYTHON can import Debian's thrift package.
thrift_need_python() {
  "$THRIFT_PYTHON" -c 'import thrift.protocol.TCompactProtocol' 2>/dev/null \
    || it_skip "$THRIFT_PYTHON cannot import thrift (install python3-thrift)"
}

# thrift_gen LANG DIR: generates code for LANG (thrift's --gen argument) from idl/flume.thrift into DIR.
thrift_gen() {
  local lang=$1 dir=$2
  mkdir -p "$dir"
  "$THRIFT" --gen "$lang" -out "$dir" "$THRIFT_IDL" >"$IT_TMP/thrift-gen.log" 2>&1 \
    || { cat "$IT_TMP/thrift-gen.log"; it_fail "thrift --gen $lang failed"; }
}

# thrift_bg NAME CMD...: starts CMD in the background like it_start (stdout to $IT_TMP/NAME.out, stderr to
# $IT_TMP/NAME.log) and registers it in IT_PIDS, so it_alive/it_stop/it_wait_exit and the cleanup apply.
thrift_bg() {
  local name=$1
  shift
  "$@" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.log" </dev/null &
  IT_PIDS["$name"]=$!
  it_log "started $name (pid ${IT_PIDS[$name]}): $*"
}

# thrift_wait_out NAME REGEX [TIMEOUT_S]: waits until NAME's stdout has a line matching REGEX.
thrift_wait_out() {
  local name=$1 regex=$2 limit=${3:-$IT_TIMEOUT} deadline
  deadline=$(($(it_now_ms) + limit * 1000))
  until grep -qE -- "$regex" "$IT_TMP/$name.out" 2>/dev/null; do
    it_alive "$name" || it_fail "$name exited while waiting for '$regex' on its stdout"
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "$name: no '$regex' on stdout within ${limit}s"
    sleep 0.02
  done
}

# thrift_py_server NAME PORT OUTFILE [ARGS...]: starts tests/tools/thrift_py_server.py (generated code in
# $THRIFT_PYGEN) on PORT writing received bodies to OUTFILE, and waits until it listens.
thrift_py_server() {
  local name=$1 port=$2 outfile=$3
  shift 3
  thrift_bg "$name" "$THRIFT_PYTHON" "$IT_TOOLS/thrift_py_server.py" --gen "$THRIFT_PYGEN" --port "$port" \
    --out "$outfile" "$@"
  thrift_wait_out "$name" '^ready '
}

# thrift_py_client ARGS...: runs tests/tools/thrift_py_client.py (generated code in $THRIFT_PYGEN) to
# completion, bounded; its summary goes to stdout; fails the test if it fails.
thrift_py_client() {
  local rc=0
  timeout -k 2 "$THRIFT_CLIENT_TIMEOUT" "$THRIFT_PYTHON" "$IT_TOOLS/thrift_py_client.py" --gen "$THRIFT_PYGEN" \
    "$@" || rc=$?
  [ $rc -eq 0 ] || it_fail "thrift_py_client.py $* exited $rc"
}

# thrift_conf_file_roll FILE AGENT OUTDIR PORT:PROTOCOL...: writes the config of AGENT: one thrift source per
# PORT:PROTOCOL argument (r1, r2, ... on 127.0.0.1) -> one memory channel -> file_roll sink into OUTDIR (one
# file, no roll).
thrift_conf_file_roll() {
  local file=$1 a=$2 outdir=$3 spec names="" i=0
  shift 3
  mkdir -p "$outdir"
  for spec in "$@"; do
    i=$((i + 1))
    names="$names r$i"
  done
  {
    echo "$a.sources =$names"
    echo "$a.channels = c1"
    echo "$a.sinks = k1"
    i=0
    for spec in "$@"; do
      i=$((i + 1))
      echo "$a.sources.r$i.type = thrift"
      echo "$a.sources.r$i.bind = 127.0.0.1"
      echo "$a.sources.r$i.port = ${spec%%:*}"
      echo "$a.sources.r$i.protocol = ${spec#*:}"
      echo "$a.sources.r$i.threads = 4"
      echo "$a.sources.r$i.channels = c1"
    done
    cat <<EOF
$a.channels.c1.type = memory
$a.channels.c1.capacity = 100000
$a.channels.c1.transactionCapacity = 1000
$a.sinks.k1.type = file_roll
$a.sinks.k1.channel = c1
$a.sinks.k1.sink.directory = $outdir
$a.sinks.k1.sink.rollInterval = 0
$a.sinks.k1.sink.batchSize = 500
EOF
  } >"$file"
}

# thrift_conf_seq_to_thrift FILE AGENT COUNT PORT PROTOCOL [BATCH]: writes the config of AGENT: a seq source
# of COUNT events (bodies 0..COUNT-1) -> memory channel -> thrift sink to 127.0.0.1:PORT in PROTOCOL.
thrift_conf_seq_to_thrift() {
  local file=$1 a=$2 count=$3 port=$4 protocol=$5 batch=${6:-100}
  cat >"$file" <<EOF
$a.sources = r1
$a.channels = c1
$a.sinks = k1
$a.sources.r1.type = seq
$a.sources.r1.totalEvents = $count
$a.sources.r1.batchSize = 100
$a.sources.r1.channels = c1
$a.channels.c1.type = memory
$a.channels.c1.capacity = $((count + 1000))
$a.channels.c1.transactionCapacity = 1000
$a.sinks.k1.type = thrift
$a.sinks.k1.channel = c1
$a.sinks.k1.hostname = 127.0.0.1
$a.sinks.k1.port = $port
$a.sinks.k1.batch-size = $batch
$a.sinks.k1.protocol = $protocol
$a.sinks.k1.connect-timeout = 2000
$a.sinks.k1.request-timeout = 5000
EOF
}

# thrift_wait_file_lines FILE COUNT [TIMEOUT_S] [NAME]: waits until FILE holds at least COUNT lines; fails
# on timeout or when process NAME (if given) exits first.
thrift_wait_file_lines() {
  local file=$1 want=$2 limit=${3:-$IT_TIMEOUT} name=${4:-} deadline have
  deadline=$(($(it_now_ms) + limit * 1000))
  while :; do
    have=$(wc -l <"$file" 2>/dev/null || echo 0)
    [ "$have" -ge "$want" ] && return 0
    if [ -n "$name" ] && ! it_alive "$name"; then
      it_fail "$name exited while waiting for $want lines in $file (have $have)"
    fi
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "only $have of $want lines in $file within ${limit}s"
    sleep 0.05
  done
}

# thrift_check_at_least_once FILE COUNT MAXDUP: FILE must hold every number 0..COUNT-1 and nothing else, with
# at most MAXDUP duplicate lines; prints the summary and sets THRIFT_DUPS to the number of duplicates.
thrift_check_at_least_once() {
  local file=$1 count=$2 maxdup=$3 total distinct bad
  total=$(wc -l <"$file")
  distinct=$(sort -u "$file" | wc -l)
  bad=$(grep -cvxE '0|[1-9][0-9]*' "$file") || true
  if [ "$bad" -eq 0 ] && [ "$distinct" -gt 0 ]; then
    bad=$(sort -u "$file" | awk -v n="$count" '$1 >= n' | wc -l)
  fi
  THRIFT_DUPS=$((total - distinct))
  echo "at-least-once: lines=$total distinct=$distinct duplicates=$THRIFT_DUPS out_of_range_or_bad=$bad"
  [ "$bad" -eq 0 ] || it_fail "$file holds lines that are not numbers below $count"
  [ "$distinct" -eq "$count" ] || it_fail "$file: $distinct distinct events of $count (events lost)"
  [ "$THRIFT_DUPS" -le "$maxdup" ] || it_fail "$file: $THRIFT_DUPS duplicates, more than $maxdup"
}
