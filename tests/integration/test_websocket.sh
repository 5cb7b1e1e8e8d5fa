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
#   - ping-interval: two raw peers that never answer the pings are closed after a ping and one more
#     interval, with one (rate-limited) line for both and two timeouts counted, while a raw peer that only
#     answers the pings keeps its connection over several intervals and its message is then acknowledged;
#   - full channels: r3 and r4 (ack, batchSize 10) feed channels of 20 events (c2 with keep-alive 0: a full
#     channel fails the put at once; c3 with keep-alive 1: after a second) whose file_roll directories are
#     removed, so their sinks cannot drain them. A Node client each sends more than fits: the sources stop at
#     the channel's capacity (the put retried and counted as ChannelWriteFail, nothing acknowledged beyond
#     it), the clients keep their connections (r3 pings every second), and once the directories are back
#     every message arrives exactly once and every acknowledgement in order;
#   - the counters: one protocol error over a limit, one malformed, two timeouts, no connection left open.
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
mkdir -p "$IT_TMP/plugins.d/websocket/lib" "$IT_TMP/out" "$IT_TMP/full2" "$IT_TMP/full3"
ln -s "$so" "$IT_TMP/plugins.d/websocket/lib/websocket.so"
p1=$(it_free_port)
p2=$(it_free_port)
p3=$(it_free_port)
p4=$(it_free_port)
cat >"$IT_TMP/a.conf" <<EOF
a.sources = r1 r2 r3 r4
a.channels = c1 c2 c3
a.sinks = k1 k2 k3
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
# r3 -> c2 (keep-alive 0) -> k2 and r4 -> c3 (keep-alive 1) -> k3: the full channels.
for i in 2 3; do
  port=$p3 ping=1
  [ $i = 3 ] && port=$p4 ping=0
  cat >>"$IT_TMP/a.conf" <<EOF
a.sources.r$((i + 1)).type = websocket
a.sources.r$((i + 1)).host = 127.0.0.1
a.sources.r$((i + 1)).port = $port
a.sources.r$((i + 1)).ack = true
a.sources.r$((i + 1)).batchSize = 10
a.sources.r$((i + 1)).ping-interval = $ping
a.sources.r$((i + 1)).channels = c$i
a.channels.c$i.type = memory
a.channels.c$i.capacity = 20
a.channels.c$i.transactionCapacity = 10
a.channels.c$i.keep-alive = $((i - 2))
a.sinks.k$i.type = file_roll
a.sinks.k$i.channel = c$i
a.sinks.k$i.sink.directory = $IT_TMP/full$i
a.sinks.k$i.sink.rollInterval = 0
a.sinks.k$i.sink.batchSize = 10
EOF
done
m=$(it_free_port)
it_start a -n a -f "$IT_TMP/a.conf" --plugins-path "$IT_TMP/plugins.d" --metrics-port "$m"
it_wait_listening a 4
# file_roll opens its file lazily: without their directories k2 and k3 cannot drain c2 and c3.
rmdir "$IT_TMP/full2" "$IT_TMP/full3"

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
  IT_GROUPS+=("$chrome") # a failing check must not leave the browser running
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
FULL=200 # ten times what the channels hold
wsc send "ws://127.0.0.1:$p3/" $FULL full2 >"$IT_TMP/full2.out" 2>&1 &
clients[full2]=$!
wsc send "ws://127.0.0.1:$p4/" $FULL full3 >"$IT_TMP/full3.out" 2>&1 &
clients[full3]=$!
# Raw frames (what ws never sends): a ping between two fragments is answered at once, the message is
# acknowledged before the close is answered; a text message that is not UTF-8 is closed with 1007. Meanwhile
# (ping-interval = 1) two peers that never answer a ping are closed after one ping, and a peer that answers
# only pings keeps its connection over two rounds of pings.
"$PYTHON" - "$p1" <<'PY' >"$IT_TMP/raw.out" 2>&1 || it_fail "raw frames: $(cat "$IT_TMP/raw.out")"
import socket, sys, threading, time
def frame(op, payload, fin=True):
    m = b"\x01\x02\x03\x04"
    return bytes([(0x80 if fin else 0) | op, 0x80 | len(payload)]) + m + bytes(c ^ m[i % 4] for i, c in enumerate(payload))
def connect(frames=b""):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" + frames)
    return s
def recv(s):
    try:
        return s.recv(4096)
    except ConnectionResetError:
        return b""
def exchange(frames, limit=20):  # everything the server sends until it closes (at most limit seconds)
    s, got, t0 = connect(frames), b"", time.monotonic()
    while time.monotonic() - t0 < limit:
        d = recv(s)
        if not d:
            break
        got += d
        if got.endswith(b"\x88\x02\x03\xef"):  # 1007: answer the close, the server then closes
            s.sendall(frame(8, b"\x03\xef"))
    return got.split(b"\r\n\r\n", 1)[1]
def silent(results):  # reads, never answers: a ping, then the server closes (no close frame)
    t0 = time.monotonic()
    r = exchange(b"", 10)
    results.append(("silent", r, time.monotonic() - t0))
def ponger(results):  # answers each ping until two were answered over 3 s, then sends a message
    s, buf, pings, t0 = connect(), b"", 0, time.monotonic()
    while b"\r\n\r\n" not in buf:
        buf += recv(s)
    buf = buf.split(b"\r\n\r\n", 1)[1]
    while pings < 2 or time.monotonic() - t0 < 3:
        assert time.monotonic() - t0 < 20, "ponger: %d pings in 20 s" % pings
        while len(buf) < 2:
            d = recv(s)
            assert d, "ponger: closed after %d pings, %.1f s" % (pings, time.monotonic() - t0)
            buf += d
        assert buf[:2] == b"\x89\x00", buf
        buf = buf[2:]
        pings += 1
        s.sendall(frame(10, b""))
    s.sendall(frame(1, b"raw-2") + frame(8, b"\x03\xe8"))
    while time.monotonic() - t0 < 40:
        d = recv(s)
        if not d:
            break
        buf += d
    results.append(("ponger", buf, pings))
results = []
threads = [threading.Thread(target=f, args=(results,), daemon=True) for f in (silent, silent, ponger)]
for t in threads:
    t.start()
r = exchange(frame(1, b"ra", fin=False) + frame(9, b"pp") + frame(0, b"w-1") + frame(8, b"\x03\xe8"))
assert r == b"\x8a\x02pp\x81\x011\x88\x02\x03\xe8", r
r = exchange(frame(1, b"\xff\xfe"))
assert r == b"\x88\x02\x03\xef", r
for t in threads:
    t.join()
assert len(results) == 3, results
for kind, got, n in results:
    if kind == "silent":  # one ping at the first quiet second, the close at the second one
        assert got == b"\x89\x00" and 1.5 <= n < 10, (got, n)
    else:
        assert got == b"\x81\x011\x88\x02\x03\xe8", got
PY

# The full channels: r3 and r4 stop at the channels' capacity, retry and count the failed puts, acknowledge
# nothing beyond what is committed and keep their clients connected.
it_wait_log a 'WARN +\[source:websocket:r3\] put to required channel failed channel=c2 result=[A-Z]+ events=[0-9]+ capacity=20 '
it_wait_log a 'WARN +\[source:websocket:r4\] put to required channel failed channel=c3 result=[A-Z]+ events=[0-9]+ capacity=20 '
sleep 1.5 # more retries, and a round of pings on r3
for client in full2 full3; do
  kill -0 "${clients[$client]}" 2>/dev/null || it_fail "$client client ended with the channel full: $(cat "$IT_TMP/$client.out")"
done
counters=$(curl -sf "http://127.0.0.1:$m/metrics") || it_fail "GET /metrics"
"$PYTHON" - "$counters" <<'PY' || it_fail "the full channels' counters: $counters"
import json, sys
m = json.loads(sys.argv[1])
for r, c in (("r3", "c2"), ("r4", "c3")):
    src, ch = m["SOURCE." + r], m["CHANNEL." + c]
    # whole batches of up to 10 until the next one does not fit
    assert 10 < int(src["EventAcceptedCount"]) == int(ch["ChannelSize"]) <= 20, (src, ch)
    assert int(src["ChannelWriteFail"]) >= 2 and int(src["OpenConnectionCount"]) == 1, src
    assert int(src["ProtocolErrorCount"]) == 0, src
PY
mkdir "$IT_TMP/full2" "$IT_TMP/full3" # room returns (after the sinks' pause of 5 s following their failure)

for client in plain tls big abrupt full2 full3; do
  wait "${clients[$client]}" || it_fail "$client client: $(cat "$IT_TMP/$client.out")"
done
it_assert_eq "ws client" "acked $N closed 1000" "$(cat "$IT_TMP/plain.out")"
it_assert_eq "wss client" "acked $N closed 1000" "$(cat "$IT_TMP/tls.out")"
it_assert_eq "client of the full channel c2" "acked $FULL closed 1000" "$(cat "$IT_TMP/full2.out")"
it_assert_eq "client of the full channel c3" "acked $FULL closed 1000" "$(cat "$IT_TMP/full3.out")"
# The oversized message is refused with 1009 (and a line); the next client is served.
it_assert_eq "oversized message, then the next client" "closed 1009
acked 10 closed 1000" "$(cat "$IT_TMP/big.out")"
it_assert_grep "the 1009 line" "$IT_TMP/a.log" "\[source:websocket:r1\] peer=127\.0\.0\.1:[0-9]+ closing connection with status 1009: message of more than max-message-bytes=65536 bytes"
# The two peers that ignored the pings: one line (the second one suppressed), two timeouts (counters below).
it_assert_eq "lines about unanswered pings" 1 "$(it_count "$IT_TMP/a.log" '\[source:websocket:r1\] peer=127\.0\.0\.1:[0-9]+ closing connection: no answer to a ping within 1 s \(0 similar lines suppressed')"
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

# Every message once: plain, tls, next, raw, full2, full3 and browser exactly; abrupt 1..K (the acknowledged ones) and maybe
# more (committed but not yet acknowledged when the client left), none twice.
"$PYTHON" - "$IT_TMP/out:$IT_TMP/full2:$IT_TMP/full3" "$IT_TIMEOUT" "$browser" "plain=$N" "tls=$N" "next=10" \
  "raw=2" "abrupt=$abrupt+" "browser=$((browser * 2))" "full2=$FULL" "full3=$FULL" <<'PY' || it_fail "the messages in the output (see above)"
import collections, os, re, sys, time
out, limit, browser = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
specs = [a.split("=") for a in sys.argv[4:]]
def lines():
    got = []
    for d in out.split(":"):
        for f in sorted(os.listdir(d)):
            got += open(os.path.join(d, f), "rb").read().decode().splitlines()
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
assert int(r1["ProtocolErrorTimeoutCount"]) == 2, r1
assert int(r1["OpenConnectionCount"]) == 0, r1
PY
it_stop a
