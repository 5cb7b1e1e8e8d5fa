#!/usr/bin/env bash
# test_websocket.sh - the websocket source plugin with real clients (issue 17).
#
# One agent loads the in-tree plugin from a plugins.d layout: r1 (ws://, path /events, ack, a 64 KiB message
# limit, a ping every second) and r2 (wss:// with a PKCS12 keystore from tls_lib.sh, ack) into one memory
# channel and a file_roll sink. Then:
#   - Node's ws package sends N text and binary messages (every third one fragmented) over ws:// and wss://
#     at once; each client gets the acknowledgements 1..N in order and closes with 1000; each message is a
#     line of the output, exactly once;
#   - a 70000-byte message is refused with close status 1009 (counted), and the next client is served;
#   - a client that drops its TCP connection after half of its acknowledgements loses none of the
#     acknowledged messages;
#   - headless Chromium loads a page that opens `new WebSocket(...)`, sends a text and a binary message and,
#     once both are acknowledged, a third message listing the acknowledgements (skipped, saying so, only
#     when chromium is missing or cannot run here);
#   - raw frames: a ping between two fragments is answered, the message acknowledged before the closing
#     handshake is answered; a text message that is not UTF-8 is closed with 1007;
#   - the counters: one protocol error over a limit, one malformed, no connection left open.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/tls_lib.sh"

so="$TOP_BUILDDIR/plugins/websocket/.libs/websocket.so"
[ -f "$so" ] || it_fail "the websocket plugin is not built: $so"
command -v node >/dev/null || it_skip "node is not installed"
NODE_DIR="$TOP_BUILDDIR/tests/node"
if ! node -e 'process.exit(/^8\./.test(require(process.argv[1] + "/package.json").version) ? 0 : 1)' \
  "$NODE_DIR/node_modules/ws" 2>/dev/null; then
  command -v npm >/dev/null || it_skip "npm is not installed"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{ "name": "relayd-node-interop", "private": true }' >"$NODE_DIR/package.json"
  (cd "$NODE_DIR" && timeout 30 npm install --no-audit --no-fund ws@8) >"$IT_TMP/npm.log" 2>&1 ||
    it_skip "npm install ws@8 failed (no registry access?): $(tail -n 3 "$IT_TMP/npm.log")"
fi
export NODE_PATH="$NODE_DIR/node_modules"
wsc() { timeout -k 5 60 node "$IT_TOOLS/ws_node_client.js" "$@"; }

N=$(it_scaled 1000)
tls_ca ca
tls_cert ca server localhost
mkdir -p "$IT_TMP/plugins.d/websocket/lib" "$IT_TMP/out"
ln -s "$so" "$IT_TMP/plugins.d/websocket/lib/websocket.so"
p1=$(it_free_port)
p2=$(it_free_port)
cat >"$IT_TMP/a.conf" <<EOF
a.sources = r1 r2
a.channels = c1
a.sinks = k1
a.sources.r1.type = websocket
a.sources.r1.host = 127.0.0.1
a.sources.r1.port = $p1
a.sources.r1.path = /events
a.sources.r1.ack = true
a.sources.r1.batchSize = 50
a.sources.r1.max-message-bytes = 65536
a.sources.r1.ping-interval = 1
a.sources.r1.channels = c1
a.sources.r2.type = websocket
a.sources.r2.host = 127.0.0.1
a.sources.r2.port = $p2
a.sources.r2.ack = true
a.sources.r2.ssl = true
a.sources.r2.keystore = $TLS_DIR/server.p12
a.sources.r2.keystore-password = $TLS_PASS
a.sources.r2.channels = c1
a.channels.c1.type = memory
a.channels.c1.capacity = 100000
a.channels.c1.transactionCapacity = 1000
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $IT_TMP/out
a.sinks.k1.sink.rollInterval = 0
a.sinks.k1.sink.batchSize = 100
EOF
m=$(it_free_port)
it_start a -n a -f "$IT_TMP/a.conf" --plugins-path "$IT_TMP/plugins.d" --metrics-port "$m"
it_wait_listening a 2

# A real browser, started first (it is slow to start) and checked at the end: Chromium keeps running headless
# until it is stopped; the page's third message lists the acknowledgements of the first two.
browser=0
if command -v chromium >/dev/null; then
  browser=1
  cat >"$IT_TMP/page.html" <<EOF
<!DOCTYPE html><html><body><script>
const ws = new WebSocket("ws://127.0.0.1:$p1/events"), acks = [];
ws.onopen = () => { ws.send("browser-1"); ws.send(new TextEncoder().encode("browser-2")); };
ws.onmessage = (e) => { acks.push(e.data); if (acks.length === 2) ws.send("browser-acks=" + acks.join(",")); };
</script></body></html>
EOF
  setsid chromium --headless --no-sandbox --disable-gpu --user-data-dir="$IT_TMP/chromium" \
    "file://$IT_TMP/page.html" >"$IT_TMP/chromium.log" 2>&1 &
  chrome=$!
else
  it_log "SKIPPED the browser case: chromium is not installed (scripts/setup installs it)"
fi

# The Node clients run at once: plain and tls; big then next; abrupt.
declare -A clients
wsc send "ws://127.0.0.1:$p1/events?client=node" "$N" plain >"$IT_TMP/plain.out" 2>&1 &
clients[plain]=$!
CA_FILE="$TLS_DIR/ca.pem" wsc send "wss://localhost:$p2/" "$N" tls >"$IT_TMP/tls.out" 2>&1 &
clients[tls]=$!
(wsc big "ws://127.0.0.1:$p1/events" 70000 && wsc send "ws://127.0.0.1:$p1/events" 10 next) >"$IT_TMP/big.out" 2>&1 &
clients[big]=$!
wsc abrupt "ws://127.0.0.1:$p1/events" "$N" abrupt >"$IT_TMP/abrupt.out" 2>&1 &
clients[abrupt]=$!
# Raw frames (what ws never sends): a ping between two fragments is answered at once, the message is
# acknowledged before the close is answered; a text message that is not UTF-8 is closed with 1007.
"$PYTHON" - "$p1" <<'PY' >"$IT_TMP/raw.out" 2>&1 || it_fail "raw frames: $(cat "$IT_TMP/raw.out")"
import socket, sys
def frame(op, payload, fin=True):
    m = b"\x01\x02\x03\x04"
    return bytes([(0x80 if fin else 0) | op, 0x80 | len(payload)]) + m + bytes(c ^ m[i % 4] for i, c in enumerate(payload))
def exchange(frames):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" + frames)
    got = b""
    while True:
        d = s.recv(4096)
        if not d:
            return got.split(b"\r\n\r\n", 1)[1]
        got += d
        if got.endswith(b"\x88\x02\x03\xef"):  # 1007: answer the close, the server then closes
            s.sendall(frame(8, b"\x03\xef"))
r = exchange(frame(1, b"ra", fin=False) + frame(9, b"pp") + frame(0, b"w-1") + frame(8, b"\x03\xe8"))
assert r == b"\x8a\x02pp\x81\x011\x88\x02\x03\xe8", r
r = exchange(frame(1, b"\xff\xfe"))
assert r == b"\x88\x02\x03\xef", r
PY

for client in plain tls big abrupt; do
  wait "${clients[$client]}" || it_fail "$client client: $(cat "$IT_TMP/$client.out")"
done
it_assert_eq "ws client" "acked $N closed 1000" "$(cat "$IT_TMP/plain.out")"
it_assert_eq "wss client" "acked $N closed 1000" "$(cat "$IT_TMP/tls.out")"
# The oversized message is refused with 1009 (and a line); the next client is served.
it_assert_eq "oversized message, then the next client" "closed 1009
acked 10 closed 1000" "$(cat "$IT_TMP/big.out")"
it_assert_grep "the 1009 line" "$IT_TMP/a.log" "\[source:websocket:r1\] peer=127\.0\.0\.1:[0-9]+ closing connection with status 1009: message of more than max-message-bytes=65536 bytes"
[[ $(cat "$IT_TMP/abrupt.out") =~ ^acked\ ([0-9]+)$ ]] || it_fail "abrupt client: $(cat "$IT_TMP/abrupt.out")"
abrupt=${BASH_REMATCH[1]}

if [ $browser = 1 ]; then
  deadline=$(($(it_now_ms) + 60000))
  until it_cat_dir "$IT_TMP/out" | grep -q '^browser-acks='; do
    if ! kill -0 "$chrome" 2>/dev/null; then
      it_log "SKIPPED the browser case: chromium cannot run here: $(tail -n 2 "$IT_TMP/chromium.log")"
      browser=0
      break
    fi
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "no message from chromium: $(tail -n 5 "$IT_TMP/chromium.log")"
    sleep 0.2
  done
  kill -TERM -- -"$chrome" 2>/dev/null
  wait "$chrome" 2>/dev/null
fi

# Every message once: plain, tls, next and browser exactly; abrupt 1..K (the acknowledged ones) and maybe
# more (committed but not yet acknowledged when the client left), none twice.
"$PYTHON" - "$IT_TMP/out" "$IT_TIMEOUT" "$browser" "plain=$N" "tls=$N" "next=10" "raw=1" "abrupt=$abrupt+" \
  "browser=$((browser * 2))" <<'PY' || it_fail "the messages in the output (see above)"
import collections, os, re, sys, time
out, limit, browser = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
specs = [a.split("=") for a in sys.argv[4:]]
def lines():
    got = []
    for f in sorted(os.listdir(out)):
        got += open(os.path.join(out, f), "rb").read().decode().splitlines()
    return got
def check(got):
    problems = [] if got.count("browser-acks=1,2") == browser else ["browser-acks=1,2 missing"]
    for prefix, want in specs:
        k = int(want.rstrip("+"))
        nums = [int(l.rsplit("-", 1)[1]) for l in got if re.fullmatch(re.escape(prefix) + r"-\d+", l)]
        dup = [n for n, c in collections.Counter(nums).items() if c > 1]
        missing = sorted(set(range(1, k + 1)) - set(nums))
        extra = [n for n in nums if n < 1 or (n > k and not want.endswith("+"))]
        if dup or missing or extra:
            problems.append("%s: missing %s duplicates %s unexpected %s" % (prefix, missing[:5], dup[:5], extra[:5]))
    return problems
deadline = time.time() + limit
while check(lines()) and time.time() < deadline:
    time.sleep(0.1)
problems = check(lines())
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY

counters=$(curl -sf "http://127.0.0.1:$m/metrics") || it_fail "GET /metrics"
"$PYTHON" - "$counters" <<'PY' || it_fail "counters of r1: $counters"
import json, sys
r1 = json.loads(sys.argv[1])["SOURCE.r1"]
assert int(r1["ProtocolErrorLimitCount"]) == 1 and int(r1["ProtocolErrorMalformedCount"]) == 1, r1
assert int(r1["OpenConnectionCount"]) == 0, r1
PY
it_stop a
