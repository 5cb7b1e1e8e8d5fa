#!/usr/bin/env bash
# test_client_python.sh - clients/python/relayd_client.py, the Python module for Avro RPC, against relayd in
# both directions, used the way its documentation shows (a few lines of Python each).
#
# (a) Client -> relayd avro source -> memory -> file_roll (headers written): one append with headers, then
#     3000 numbered events by append_batch (batches of 500, header n=<number>), plain and with deflate;
#     every number arrives exactly once with its header.
# (b) Client -> relayd whose channel (capacity 10) nothing drains: a batch of 20 raises DeliveryError with
#     status FAILED, and the client keeps working on the next call.
# (c) relayd (avro source, memory, avro sink) -> a Server from the module whose handler refuses the first
#     batch: relayd rolls back, retries, and every number arrives exactly once; plain and with deflate.
# (d) The module as make install lays it out finds the installed IDL by itself.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
avro_require_python_avro
export PYTHONPATH="$TOP_SRCDIR/clients/python"

# send_events PORT COMPRESSION FIRST COUNT: the client part of (a).
send_events() {
  local deflate=False
  [ "$2" = deflate ] && deflate=True
  timeout -k 5 60 "$AVRO_PY" - "$1" "$deflate" "$3" "$4" <<'PY' || it_fail "python client exited $?"
import sys
from relayd_client import Client

port, deflate, first, count = int(sys.argv[1]), sys.argv[2] == "True", int(sys.argv[3]), int(sys.argv[4])
with Client("127.0.0.1", port, deflate=deflate) as client:
    client.append(b"hello", {"host": "web1", "kind": "greeting"})
    for start in range(first, first + count, 500):
        client.append_batch([(str(n), {"n": n}) for n in range(start, min(start + 500, first + count))])
print("sent", count + 1)
PY
}

# check_output DIR FIRST COUNT: the greeting with its headers and FIRST.. once each with header n.
check_output() {
  it_cat_dir "$1" >"$IT_TMP/out.txt"
  "$AVRO_PY" "$IT_TOOLS/check_header_numbers.py" "$IT_TMP/out.txt" "$2" "$3" || it_fail "output check failed"
}

client_to_relayd() {
  local label=$1 comp=$2 out="$IT_TMP/$1-out" port
  port=$(it_free_port)
  avro_collector_conf "$IT_TMP/$label.conf" col "$port" "$out" "$comp"
  echo "col.sinks.k1.sink.serializer.headers = true" >>"$IT_TMP/$label.conf"
  it_start "$label" -n col -f "$IT_TMP/$label.conf"
  it_wait_listening "$label" 1
  send_events "$port" "$comp" 0 3000
  it_wait_lines "$out" 3001 20 "$label"
  sleep 0.3
  check_output "$out" 0 3000
  it_stop "$label"
}

client_failed() {
  local port
  port=$(it_free_port)
  {
    avro_conf_source full "$port"
    avro_conf_memory full 10 10
    echo "full.sinks ="
  } | grep -v '^full.sinks = k1$' >"$IT_TMP/full.conf"
  it_start full -n full -f "$IT_TMP/full.conf"
  it_wait_listening full 1
  timeout -k 5 30 "$AVRO_PY" - "$port" <<'PY' >"$IT_TMP/failed.out" 2>&1 || { cat "$IT_TMP/failed.out"; it_fail "FAILED client exited $?"; }
import sys
from relayd_client import Client, DeliveryError

client = Client("127.0.0.1", int(sys.argv[1]))
try:
    client.append_batch([(b"x", {})] * 20)
    print("batch of 20 accepted by a channel of 10")
    sys.exit(1)
except DeliveryError as exc:
    print("refused:", exc.status)
    assert exc.status == "FAILED"
client.append(b"fits")          # the same client goes on
print("append ok")
client.close()
PY
  cat "$IT_TMP/failed.out"
  it_assert_grep "batch answered FAILED" "$IT_TMP/failed.out" '^refused: FAILED$'
  it_assert_grep "next call accepted" "$IT_TMP/failed.out" '^append ok$'
  it_stop full
}

relayd_to_server() {
  local label=$1 comp=$2 n=$3 dir="$IT_TMP/$1-dir" port sport deflate=False send_flag=() server
  [ "$comp" = deflate ] && deflate=True && send_flag=(--compression deflate)
  mkdir -p "$dir"
  sport=$(it_free_port)
  cat >"$IT_TMP/$label-server.py" <<'PY'
import sys, threading
from relayd_client import Server

out = open(sys.argv[2], "ab")
lock = threading.Lock()
state = {"refused": 0}

def handle(events):
    with lock:
        if state["refused"] == 0:       # the first batch is refused: relayd must send it again
            state["refused"] = 1
            print("refused", len(events), flush=True)
            return False
        out.write(b"".join(body + b"\n" for body, headers in events if headers.get("origin") == "edge"))
        out.flush()
        return True

server = Server("127.0.0.1", int(sys.argv[1]), handle, deflate=sys.argv[3] == "True")
print("listening port=%d" % server.server_address[1], flush=True)
server.serve_forever()
PY
  avro_bg "$label-server.log" "$AVRO_PY" "$IT_TMP/$label-server.py" "$sport" "$dir/bodies" "$deflate"
  server=$AVRO_BG_PID
  avro_wait_file_line "$IT_TMP/$label-server.log" '^listening port=' 10 "$server"
  avro_edge_to_refusing_server "$label" "$sport" "$comp" "$n" "$dir" "${send_flag[@]}"
}

# installed_layout: make install puts the module in share/relayd/clients/python and the IDL in
# share/relayd/idl; the module finds flume.avpr from there without RELAYD_AVPR.
installed_layout() {
  local share="$IT_TMP/prefix/share/relayd"
  mkdir -p "$share/clients/python" "$share/idl"
  cp "$TOP_SRCDIR/clients/python/relayd_client.py" "$share/clients/python/"
  cp "$TOP_SRCDIR/idl/flume.avpr" "$share/idl/"
  (cd / && env -u RELAYD_AVPR PYTHONPATH="$share/clients/python" "$AVRO_PY" -c \
    'import relayd_client; print("installed module reads", relayd_client.load_protocol().name)') \
    || it_fail "the installed module does not find the installed flume.avpr"
}

installed_layout
client_to_relayd a-plain none
client_to_relayd a-deflate deflate
client_failed
relayd_to_server c-plain none 5000
relayd_to_server c-deflate deflate 5000
echo "PASS: $IT_NAME"
