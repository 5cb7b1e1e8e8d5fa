# avro_lib.sh - helpers shared by the Avro RPC integration tests (sourced after lib.sh).
#
# Agent configurations are written as Flume properties; every agent uses a memory channel big enough for a
# whole relay-send batch and a file_roll sink (collectors) or an avro sink (edges). relay-send is the C
# client built next to relayd; Python tools run under Debian's /usr/bin/python3 (it has python3-avro).

AVRO_SEND="$TOP_BUILDDIR/src/relay-send"
# Debian's interpreter: python3-avro is installed for it, not for whatever python3 comes first on PATH.
AVRO_PY=${AVRO_PY:-/usr/bin/python3}

[ -x "$AVRO_SEND" ] || {
  echo "relay-send not found: $AVRO_SEND" >&2
  exit 99
}

# avro_conf_source AGENT PORT [COMPRESSION] [EXTRA KEY=VALUE...]: the lines of an avro source r1 on
# 127.0.0.1:PORT into channel c1.
avro_conf_source() {
  local agent=$1 port=$2 comp=${3:-none} kv
  shift 3 2>/dev/null || shift $#
  cat <<EOF
$agent.sources = r1
$agent.channels = c1
$agent.sinks = k1
$agent.sources.r1.type = avro
$agent.sources.r1.bind = 127.0.0.1
$agent.sources.r1.port = $port
$agent.sources.r1.compression-type = $comp
$agent.sources.r1.channels = c1
EOF
  for kv in "$@"; do
    echo "$agent.sources.r1.${kv%%=*} = ${kv#*=}"
  done
}

# avro_conf_memory AGENT [CAPACITY] [TX_CAPACITY] [KEEP_ALIVE_S]: the memory channel c1.
avro_conf_memory() {
  cat <<EOF
$1.channels.c1.type = memory
$1.channels.c1.capacity = ${2:-100000}
$1.channels.c1.transactionCapacity = ${3:-1000}
$1.channels.c1.keep-alive = ${4:-3}
EOF
}

# avro_conf_avro_sink AGENT PORT [COMPRESSION] [BATCH] [REQUEST_TIMEOUT_MS]: an avro sink k1 to 127.0.0.1:PORT.
avro_conf_avro_sink() {
  cat <<EOF
$1.sinks.k1.type = avro
$1.sinks.k1.channel = c1
$1.sinks.k1.hostname = 127.0.0.1
$1.sinks.k1.port = $2
$1.sinks.k1.compression-type = ${3:-none}
$1.sinks.k1.batch-size = ${4:-1000}
$1.sinks.k1.connect-timeout = 2000
$1.sinks.k1.request-timeout = ${5:-5000}
EOF
}

# avro_conf_file_roll AGENT DIR [BATCH]: a file_roll sink k1 writing one body per line into DIR.
avro_conf_file_roll() {
  mkdir -p "$2"
  cat <<EOF
$1.sinks.k1.type = file_roll
$1.sinks.k1.channel = c1
$1.sinks.k1.sink.directory = $2
$1.sinks.k1.sink.rollInterval = 0
$1.sinks.k1.sink.batchSize = ${3:-1000}
EOF
}

# avro_edge_conf FILE AGENT IN_PORT OUT_PORT [COMPRESSION]: avro source -> memory -> avro sink.
avro_edge_conf() {
  {
    avro_conf_source "$2" "$3" "${5:-none}"
    avro_conf_memory "$2"
    avro_conf_avro_sink "$2" "$4" "${5:-none}"
  } >"$1"
}

# avro_collector_conf FILE AGENT IN_PORT DIR [COMPRESSION]: avro source -> memory -> file_roll.
avro_collector_conf() {
  {
    avro_conf_source "$2" "$3" "${5:-none}"
    avro_conf_memory "$2"
    avro_conf_file_roll "$2" "$4"
  } >"$1"
}

# avro_send PORT ARGS...: relay-send to 127.0.0.1:PORT (lines on stdin), bounded in time; fails the test
# unless relay-send exits 0 (every event acknowledged). Its stderr goes to $IT_TMP/send.log.
avro_send() {
  local port=$1 rc=0
  shift
  timeout -k 5 50 "$AVRO_SEND" -H "127.0.0.1:$port" "$@" 2>>"$IT_TMP/send.log" || rc=$?
  if [ $rc -ne 0 ]; then
    tail -n 20 "$IT_TMP/send.log"
    it_fail "relay-send $* exited $rc"
  fi
}

# avro_numbers FIRST LAST: the decimal numbers FIRST..LAST, one per line.
avro_numbers() {
  seq "$1" "$2"
}

# avro_expect_numbers DIR COUNT [TIMEOUT_S] [NAME]: waits for COUNT lines in DIR, gives late duplicates a
# moment to show up, then checks with seqcheck.py that DIR holds 0..COUNT-1 exactly once each.
avro_expect_numbers() {
  it_wait_lines "$1" "$2" "${3:-$IT_TIMEOUT}" "${4:-}"
  sleep 0.3
  it_seqcheck --count "$2" "$1"
}

# avro_require_python_avro: skips the test unless Debian's python3 can import avro.ipc.
avro_require_python_avro() {
  "$AVRO_PY" -c 'import avro.ipc, avro.protocol' 2>/dev/null \
    || it_skip "$AVRO_PY cannot import avro.ipc (scripts/setup installs python3-avro)"
}

# avro_wait_file_line FILE REGEX [TIMEOUT_S] [PID]: waits until FILE has a line matching REGEX; fails when
# the time runs out or process PID (a helper tool) exits first.
avro_wait_file_line() {
  local file=$1 regex=$2 limit=${3:-$IT_TIMEOUT} pid=${4:-} deadline
  deadline=$(($(it_now_ms) + limit * 1000))
  until grep -qE -- "$regex" "$file" 2>/dev/null; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      cat "$file" 2>/dev/null
      it_fail "helper (pid $pid) exited before '$regex' appeared in $(basename "$file")"
    fi
    [ "$(it_now_ms)" -le "$deadline" ] || {
      cat "$file" 2>/dev/null
      it_fail "no line matching '$regex' in $(basename "$file") within ${limit}s"
    }
    sleep 0.05
  done
}

# Helper processes (Python/Node peers) started with avro_bg are killed when the test exits.
# On a failure their output is printed with the relayd logs.
AVRO_BG_PIDS=()
AVRO_BG_LOGS=()
_avro_cleanup_bg() {
  local rc=$? pid log
  for pid in "${AVRO_BG_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for log in "${AVRO_BG_LOGS[@]}"; do
      echo "---- helper $log (last 30 lines) ----"
      tail -n 30 "$IT_TMP/$log" 2>/dev/null
    done
  fi
  return $rc
}

# avro_bg LOGNAME CMD...: starts CMD in the background (stdout+stderr to $IT_TMP/LOGNAME), sets AVRO_BG_PID.
avro_bg() {
  local log=$1
  shift
  "$@" >"$IT_TMP/$log" 2>&1 </dev/null &
  AVRO_BG_PID=$!
  AVRO_BG_PIDS+=("$AVRO_BG_PID")
  AVRO_BG_LOGS+=("$log")
}

# avro_bg_wait PID TIMEOUT_S: waits for a background helper to exit; its status in AVRO_BG_STATUS.
# shellcheck disable=SC2034 # AVRO_BG_STATUS is read by the tests
avro_bg_wait() {
  local pid=$1 limit=${2:-$IT_TIMEOUT} deadline
  deadline=$(($(it_now_ms) + limit * 1000))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "helper (pid $pid) still running after ${limit}s"
    sleep 0.05
  done
  AVRO_BG_STATUS=0
  wait "$pid" || AVRO_BG_STATUS=$?
}

# lib.sh's EXIT trap cleans up relayd; ours runs first (passing the exit status on) so helpers die too.
trap '_avro_cleanup_bg; _it_cleanup' EXIT

# avro_require_node_avsc: node with avsc 5, installed at test time under the build tree
# ($TOP_BUILDDIR/tests/node, shared by the Node tests), in NODE_DIR; skips the test (77) without node, npm or
# registry access.
avro_require_node_avsc() {
  avro_have_node_avsc || it_skip "$AVRO_NODE_MISSING"
}

# avro_have_node_avsc: the same for a test that only skips its Node part: status 1 and the reason in
# AVRO_NODE_MISSING when node, npm or avsc cannot be had.
avro_have_node_avsc() {
  AVRO_NODE_MISSING=
  command -v node >/dev/null 2>&1 || AVRO_NODE_MISSING="node is not installed"
  command -v npm >/dev/null 2>&1 || AVRO_NODE_MISSING=${AVRO_NODE_MISSING:-"npm is not installed"}
  [ -z "$AVRO_NODE_MISSING" ] || return 1
  NODE_DIR="$TOP_BUILDDIR/tests/node"
  if ! node -e 'process.exit(/^5\./.test(require(process.argv[1] + "/package.json").version) ? 0 : 1)' \
    "$NODE_DIR/node_modules/avsc" 2>/dev/null; then
    mkdir -p "$NODE_DIR"
    # A package.json of its own keeps npm from installing into some parent directory's node_modules.
    [ -f "$NODE_DIR/package.json" ] || echo '{ "name": "relayd-avro-interop", "private": true }' >"$NODE_DIR/package.json"
    if ! (cd "$NODE_DIR" && timeout 30 npm install --no-audit --no-fund avsc@5) >"$IT_TMP/npm.log" 2>&1; then
      tail -n 20 "$IT_TMP/npm.log"
      AVRO_NODE_MISSING="npm install avsc@5 failed (no registry access?)"
      return 1
    fi
  fi
}

# avro_edge_to_refusing_server LABEL SERVER_PORT COMPRESSION COUNT DIR [RELAY_SEND_ARGS...]: the client
# tests' part (c). An edge agent (avro source with a static interceptor, memory channel, avro sink of batch
# 500) forwards COUNT numbers from relay-send to the server on SERVER_PORT, which writes the bodies under DIR
# and refuses one batch: every number arrives exactly once and the sink rolled back exactly one batch.
avro_edge_to_refusing_server() {
  local label=$1 sport=$2 comp=$3 n=$4 dir=$5 port
  shift 5
  port=$(it_free_port)
  {
    avro_conf_source edge "$port" "$comp"
    echo "edge.sources.r1.interceptors = i1"
    echo "edge.sources.r1.interceptors.i1.type = static"
    echo "edge.sources.r1.interceptors.i1.key = origin"
    echo "edge.sources.r1.interceptors.i1.value = edge"
    avro_conf_memory edge
    avro_conf_avro_sink edge "$sport" "$comp" 500
  } >"$IT_TMP/$label.conf"
  it_start "$label" -n edge -f "$IT_TMP/$label.conf"
  it_wait_listening "$label" 1
  avro_numbers 0 $((n - 1)) | avro_send "$port" --batch-size 1000 --retry-timeout 10 "$@"
  avro_expect_numbers "$dir" "$n" 30 "$label"
  it_stop "$label"
  it_assert_grep "$label: server refused one batch" "$IT_TMP/$label-server.log" '^refused [0-9]+$'
  it_assert_eq "$label: batches the sink rolled back" 1 \
    "$(it_count "$IT_TMP/$label.log" 'delivery failed, batch rolled back status=FAILED')"
}
