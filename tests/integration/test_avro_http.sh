#!/usr/bin/env bash
# test_avro_http.sh - the avro source with transport = http: Avro's standard HTTP transport, used by stock
# Avro RPC libraries without any framing code of their own (issue 19).
#
# (a) python3-avro's own avro.ipc.HTTPTransceiver and avro.ipc.Requestor with idl/flume.avpr -> relayd ->
#     memory -> file_roll: append with headers, then 3000 numbered events by appendBatch, all on one
#     keep-alive connection; every call answers OK and every number arrives exactly once.
# (b) A channel of 10 that nothing drains: an appendBatch of 20 is answered Status FAILED (HTTP 200, after
#     the failed commit), and a following append of one event is answered OK.
# (c) Bad requests get a 4xx response and a closed connection, and the source serves the next client: GET
#     (405), POST without Content-Length or chunked encoding (411), a body that is not a framed message (400), a body above
#     max-pack-bytes (413, refused from the header alone). The source counts them as protocol errors.
# (d) transport = http with compression-type = deflate is a configuration error (--check exits 1).
# (e) A Netty client (relay-send) against the http source is refused rather than served as garbage.
# (f) Node's avsc with its stock stateless HTTP channel (http.request, which streams the body chunked):
#     appendBatch calls answered OK, every number stored once. Skipped when node or avsc is not available
#     (test_avro_node_interop.sh installs avsc under the build tree).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
avro_require_python_avro
AVPR="$TOP_SRCDIR/idl/flume.avpr"

port=$(it_free_port)
out="$IT_TMP/out"
{
  avro_conf_source col "$port" none transport=http max-pack-bytes=1000000
  avro_conf_memory col
  avro_conf_file_roll col "$out"
} >"$IT_TMP/http.conf"
echo "col.sinks.k1.sink.serializer.headers = true" >>"$IT_TMP/http.conf"
it_start col -n col -f "$IT_TMP/http.conf"
it_wait_listening col 1

# (a) the few lines a Python user writes with the stock library.
timeout -k 5 60 "$AVRO_PY" - "$port" "$AVPR" <<'PY' >"$IT_TMP/a.out" 2>&1 || { cat "$IT_TMP/a.out"; it_fail "(a) python client failed"; }
import sys
import avro.ipc, avro.protocol

protocol = avro.protocol.parse(open(sys.argv[2]).read())
client = avro.ipc.HTTPTransceiver("127.0.0.1", int(sys.argv[1]))
requestor = avro.ipc.Requestor(protocol, client)
status = requestor.request("append", {"event": {"headers": {"host": "web1"}, "body": b"hello"}})
assert status == "OK", status
for start in range(0, 3000, 500):
    events = [{"headers": {"n": str(n)}, "body": str(n).encode()} for n in range(start, start + 500)]
    status = requestor.request("appendBatch", {"events": events})
    assert status == "OK", status
client.close()
print("sent 3001 events, every call OK")
PY
cat "$IT_TMP/a.out"
it_wait_lines "$out" 3001 20 col
sleep 0.3
it_cat_dir "$out" >"$IT_TMP/a.txt"
it_assert_eq "(a) the event with headers" 1 "$(grep -cx '{host=web1} hello' "$IT_TMP/a.txt")"
grep -v hello "$IT_TMP/a.txt" | sed -E 's/^\{n=([0-9]+)\} ([0-9]+)$/\1 \2/' >"$IT_TMP/a.pairs"
awk '$1 != $2 { bad++ } END { exit bad ? 1 : 0 }' "$IT_TMP/a.pairs" || it_fail "(a) header n differs from the body"
mkdir -p "$IT_TMP/a-bodies"
cut -d' ' -f2 "$IT_TMP/a.pairs" >"$IT_TMP/a-bodies/bodies"
it_seqcheck --count 3000 "$IT_TMP/a-bodies"

# (c) bad requests, each on its own connection: status line of the answer, and whether it was closed.
"$AVRO_PY" - "$port" <<'PY' >"$IT_TMP/c.out" 2>&1 || { cat "$IT_TMP/c.out"; it_fail "(c) raw HTTP client failed"; }
import socket, struct, sys
port = int(sys.argv[1])

def ask(raw):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(raw)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break          # the server closed the connection
        data += chunk
    sock.close()
    return data.split(b"\r\n", 1)[0].decode()

print("get:", ask(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
print("nolength:", ask(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n"))
body = struct.pack(">i", 5) + b"\x01\x02\x03\x04\x05" + struct.pack(">i", 0)
print("garbage:", ask(b"POST / HTTP/1.1\r\nContent-Type: avro/binary\r\nContent-Length: %d\r\n\r\n" % len(body) + body))
print("toobig:", ask(b"POST / HTTP/1.1\r\nContent-Type: avro/binary\r\nContent-Length: 5000000\r\n\r\n"))
PY
cat "$IT_TMP/c.out"
it_assert_grep "(c) GET" "$IT_TMP/c.out" '^get: HTTP/1.1 405 '
it_assert_grep "(c) no length" "$IT_TMP/c.out" '^nolength: HTTP/1.1 411 '
it_assert_grep "(c) garbage" "$IT_TMP/c.out" '^garbage: HTTP/1.1 400 '
it_assert_grep "(c) too big" "$IT_TMP/c.out" '^toobig: HTTP/1.1 413 '

# (e) relay-send speaks Netty framing: refused, nothing stored.
rc=0
echo netty | timeout -k 5 30 "$AVRO_SEND" -H "127.0.0.1:$port" --retry-timeout 1 >"$IT_TMP/e.out" 2>&1 || rc=$?
[ $rc -ne 0 ] || it_fail "(e) a Netty client was served by an http source"
sleep 0.3
it_assert_eq "(e) nothing stored from the Netty client" 3001 "$(it_lines "$out")"
it_stop col
it_assert_grep "(c, e) bad requests counted" "$IT_TMP/col.log" 'EventReadFail=([5-9]|[1-9][0-9]+)$'
it_assert_grep "(e) the log names the likely mismatch" "$IT_TMP/col.log" 'not an HTTP request \(a Netty client'


# (f) avsc's own HTTP transport, if node and avsc are there.
NODE_DIR="$TOP_BUILDDIR/tests/node/node_modules"
if command -v node >/dev/null 2>&1 && [ -f "$NODE_DIR/avsc/package.json" ]; then
  port=$(it_free_port)
  {
    avro_conf_source node "$port" none transport=http
    avro_conf_memory node
    avro_conf_file_roll node "$IT_TMP/f-out"
  } >"$IT_TMP/f.conf"
  it_start node -n node -f "$IT_TMP/f.conf"
  it_wait_listening node 1
  NODE_PATH="$NODE_DIR" timeout -k 5 60 node - "$port" "$AVPR" <<'JS' >"$IT_TMP/f.out" 2>&1 || { cat "$IT_TMP/f.out"; it_fail "(f) avsc HTTP client failed"; }
const avro = require('avsc');
const fs = require('fs');
const http = require('http');
const [port, avpr] = process.argv.slice(2);
const client = avro.Service.forProtocol(JSON.parse(fs.readFileSync(avpr, 'utf8'))).createClient({ timeout: 20000 });
client.createChannel((cb) => http.request({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/',
                                            headers: { 'content-type': 'avro/binary' } })
  .on('response', (res) => cb(null, res)).on('error', cb));
async function main() {
  for (let start = 0; start < 2000; start += 250) {
    const events = [];
    for (let n = start; n < start + 250; n++) events.push({ headers: { n: String(n) }, body: Buffer.from(String(n)) });
    const status = await new Promise((resolve, reject) =>
      client.appendBatch(events, (err, res) => (err ? reject(err) : resolve(res))));
    if (status !== 'OK') throw new Error('answered ' + status);
  }
  console.log('avsc over HTTP: 8 calls OK');
  process.exit(0);
}
main().catch((err) => { console.error(err); process.exit(1); });
JS
  cat "$IT_TMP/f.out"
  avro_expect_numbers "$IT_TMP/f-out" 2000 20 node
  it_stop node
else
  echo "(f) skipped: node or avsc not available"
fi

# (b) backpressure: FAILED inside a 200 answer.
port=$(it_free_port)
{
  avro_conf_source full "$port" none transport=http
  avro_conf_memory full 10 10
  echo "full.sinks ="
} | grep -v '^full.sinks = k1$' >"$IT_TMP/full.conf"
it_start full -n full -f "$IT_TMP/full.conf"
it_wait_listening full 1
timeout -k 5 30 "$AVRO_PY" - "$port" "$AVPR" <<'PY' >"$IT_TMP/b.out" 2>&1 || { cat "$IT_TMP/b.out"; it_fail "(b) client failed"; }
import sys
import avro.ipc, avro.protocol
protocol = avro.protocol.parse(open(sys.argv[2]).read())
requestor = avro.ipc.Requestor(protocol, avro.ipc.HTTPTransceiver("127.0.0.1", int(sys.argv[1])))
print("batch of 20:", requestor.request("appendBatch", {"events": [{"headers": {}, "body": b"x"}] * 20}))
print("one event:", requestor.request("append", {"event": {"headers": {}, "body": b"y"}}))
PY
cat "$IT_TMP/b.out"
it_assert_grep "(b) full channel answers FAILED" "$IT_TMP/b.out" '^batch of 20: FAILED$'
it_assert_grep "(b) then OK" "$IT_TMP/b.out" '^one event: OK$'
it_stop full

# (d) no deflate over HTTP.
{
  avro_conf_source col "$(it_free_port)" deflate transport=http
  avro_conf_memory col
  avro_conf_file_roll col "$IT_TMP/d-out"
} >"$IT_TMP/d.conf"
it_run_expect d 1 --check -n col -f "$IT_TMP/d.conf"
it_assert_grep "(d) deflate with http refused" "$IT_TMP/d.out" 'compression-type: deflate is not available with transport = http'
echo "PASS: $IT_NAME"
