#!/usr/bin/env bash
# test_tls_avro.sh - TLS on the Avro source with clients we did not write: Python's ssl module (Avro framing
# from tests/tools/avro_py_peer.py, and python3-avro's own Requestor over http.client's HTTPS), Node's tls and
# https modules with avsc, and `openssl s_client`; every failure case provoked and checked.
#
# Agent "a" has four avro sources into one memory channel and a file_roll sink:
#   r1: ssl with a PKCS12 keystore, no client auth;
#   r2: ssl with a PEM keystore, ssl-client-auth = required (truststore = the CA), ssl-allowed-subjects =
#       client-*, ssl-peer-header = tls-subject, ssl-handshake-timeout = 1000 ms;
#   r3: plaintext;
#   r4: transport = http (Avro's HTTP transport) with ssl, ssl-client-auth = required: HTTPS.
# Checks: the Python client delivers numbered events over TLS to r1 and, with a client certificate, to r2;
# python3-avro's Requestor (HTTPTransceiver with an HTTPSConnection) delivers over HTTPS to r4, its plain
# HTTP transceiver is refused there (plaintext-on-tls-port); avsc over Node's tls module delivers to r2 and
# avsc over Node's https module to r4, both with a client certificate (skipped without node or avsc);
# every source counts its accepted handshakes in relayd_source_tls_handshakes_total, as many as
# tests/tools/tls-handshake-flood's parallel clients completed;
# s_client sees the server chain verified against the CA (r2 sends its certificate alone, without the root
# of its truststore) and TLSv1.2/1.3 negotiable but TLSv1.1 refused, and
# r1's exclude-cipher-suites (IANA names) refuses those suites;
# each failure closes the connection with one WARN line naming the peer and the reason, bumps
# relayd_source_tls_errors_total{reason=...}, and the next good client is served: plaintext client on r1,
# TLS client on r3, no client certificate, client certificate from another CA, expired, not yet valid,
# subject not allowed, handshake that never completes. At the end the files hold every number exactly once.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/tls_lib.sh"
avro_require_python_avro

PEER="$IT_TOOLS/avro_py_peer.py"
D=$TLS_DIR
tls_ca ca
tls_ca otherca
tls_cert ca server localhost
tls_cert ca client1 client-1
tls_cert ca badname intruder
tls_cert otherca foreign client-2
tls_cert ca expired client-3 -1
tls_cert_future ca future client-4

P1=$(it_free_port)
P2=$(it_free_port)
P3=$(it_free_port)
P4=$(it_free_port)
M=$(it_free_port)
out="$IT_TMP/out"
{
  echo "a.sources = r1 r2 r3 r4"
  echo "a.channels = c1 c2"
  echo "a.sinks = k1 k2"
  for r in r1 r2 r3 r4; do
    echo "a.sources.$r.type = avro"
    echo "a.sources.$r.bind = 127.0.0.1"
    echo "a.sources.$r.channels = c1"
  done
  echo "a.sources.r1.port = $P1"
  echo "a.sources.r1.ssl = true"
  echo "a.sources.r1.keystore = $D/server.p12"
  echo "a.sources.r1.keystore-password = $TLS_PASS"
  echo "a.sources.r1.keystore-type = PKCS12"
  echo "a.sources.r1.exclude-cipher-suites = TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 TLS_AES_256_GCM_SHA384"
  echo "a.sources.r2.port = $P2"
  echo "a.sources.r2.ssl = true"
  echo "a.sources.r2.keystore = $D/server.bundle.pem"
  echo "a.sources.r2.truststore = $D/ca.pem"
  echo "a.sources.r2.ssl-client-auth = required"
  echo "a.sources.r2.ssl-allowed-subjects = client-*, other-?"
  echo "a.sources.r2.ssl-peer-header = tls-subject"
  echo "a.sources.r2.ssl-handshake-timeout = 1000"
  echo "a.sources.r3.port = $P3"
  echo "a.sources.r4.port = $P4"
  echo "a.sources.r4.transport = http"
  echo "a.sources.r4.ssl = true"
  echo "a.sources.r4.keystore = $D/server.bundle.pem"
  echo "a.sources.r4.truststore = $D/ca.pem"
  echo "a.sources.r4.ssl-client-auth = required"
  avro_conf_memory a
  avro_conf_file_roll a "$out"
  # r2 also feeds a logger sink, to see the peer header
  echo "a.sources.r2.channels = c1 c2"
  echo "a.channels.c2.type = memory"
  echo "a.sinks.k2.type = logger"
  echo "a.sinks.k2.channel = c2"
} >"$IT_TMP/a.conf"
it_start a -n a -f "$IT_TMP/a.conf" --metrics-port "$M"
it_wait_listening a 4

next=0
# good PORT [client cert args]: the Python TLS client sends 100 numbers; all must be acknowledged.
good() {
  local port=$1
  shift
  timeout -k 5 60 "$AVRO_PY" "$PEER" client --port "$port" --first "$next" --count 100 --tls-ca "$D/ca.pem" "$@" \
    >"$IT_TMP/good.out" 2>&1 || {
    cat "$IT_TMP/good.out"
    it_fail "good TLS client on port $port was not served"
  }
  next=$((next + 100))
}
# good_https: python3-avro's stock Requestor, its HTTPTransceiver's connection made an HTTPSConnection with a
# client certificate, sends 100 numbers to r4 in appendBatch calls; every call must answer OK.
good_https() {
  timeout -k 5 60 "$AVRO_PY" - "$P4" "$TOP_SRCDIR/idl/flume.avpr" "$D" "$next" <<'PY' >"$IT_TMP/good.out" 2>&1 || {
import http.client, ssl, sys
import avro.ipc, avro.protocol

port, avpr, d, first = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])


class HTTPSTransceiver(avro.ipc.HTTPTransceiver):
    def __init__(self, host, port, context):  # as HTTPTransceiver's, with HTTPS
        self.req_resource = "/"
        self.conn = http.client.HTTPSConnection(host, port, context=context)
        self.conn.connect()
        self.remote_name = self.conn.sock.getsockname()


context = ssl.create_default_context(cafile=d + "/ca.pem")
context.load_cert_chain(d + "/client1.pem", d + "/client1.key")
client = HTTPSTransceiver("127.0.0.1", port, context)
requestor = avro.ipc.Requestor(avro.protocol.parse(open(avpr).read()), client)
for start in range(first, first + 100, 50):
    events = [{"headers": {"n": str(n)}, "body": str(n).encode()} for n in range(start, start + 50)]
    status = requestor.request("appendBatch", {"events": events})
    assert status == "OK", status
print("HTTPS:", client.conn.sock.version(), "2 calls OK")
client.close()
PY
    cat "$IT_TMP/good.out"
    it_fail "python3-avro over HTTPS on port $P4 was not served"
  }
  next=$((next + 100))
}
# bad NAME PORT REASON CMD...: runs a bad client (must not succeed), then checks one log line naming the
# reason, the counter, and that the next good client is served.
bad() {
  local name=$1 port=$2 reason=$3 before lines
  shift 3
  before=$(tls_metric "$M" relayd_source_tls_errors_total "$reason")
  lines=$(it_count "$IT_TMP/a.log" "tls=$reason")
  if timeout -k 5 30 "$@" >"$IT_TMP/bad.out" 2>&1 </dev/null; then
    cat "$IT_TMP/bad.out"
    it_fail "$name: the bad client succeeded"
  fi
  tls_wait_metric "$M" relayd_source_tls_errors_total "$reason" $((before + 1))
  it_wait_log a "closing connection peer=127\.0\.0\.1:[0-9]+ tls=$reason" $((lines + 1))
  it_log "$name: refused (tls=$reason)"
  case $port in
    "$P2") good "$port" --tls-cert "$D/client1.pem" --tls-key "$D/client1.key" ;;
    "$P3")
      avro_numbers "$next" $((next + 99)) | avro_send "$P3" --retry-timeout 0
      next=$((next + 100))
      ;;
    "$P4") good_https ;;
    *) good "$port" ;;
  esac
}

# ---- good clients
good "$P1"
good "$P2" --tls-cert "$D/client1.pem" --tls-key "$D/client1.key"
avro_numbers "$next" $((next + 99)) | avro_send "$P3" --retry-timeout 0
next=$((next + 100))
good_https
it_assert_grep "HTTPS client" "$IT_TMP/good.out" "^HTTPS: TLSv1.3 2 calls OK"

# ---- avsc over Node's tls module (Netty framing, r2) and https module (Avro's HTTP transport, r4)
if avro_have_node_avsc; then
  NODE_PATH="$NODE_DIR/node_modules" timeout -k 5 60 node "$IT_TOOLS/avro_node_peer.js" client "$P2" "$next" 500 \
    100 2 "tls=$D/ca.pem,$D/client1.pem,$D/client1.key" >"$IT_TMP/node.out" 2>&1 ||
    { cat "$IT_TMP/node.out"; it_fail "avsc over Node's tls module was not served"; }
  next=$((next + 500))
  NODE_PATH="$NODE_DIR/node_modules" timeout -k 5 60 node - "$P4" "$TOP_SRCDIR/idl/flume.avpr" "$D" "$next" \
    <<'JS' >"$IT_TMP/node.out" 2>&1 || { cat "$IT_TMP/node.out"; it_fail "avsc over Node's https module was not served"; }
const avro = require('avsc');
const fs = require('fs');
const https = require('https');
const [port, avpr, d, first] = process.argv.slice(2);
const tls = { ca: fs.readFileSync(d + '/ca.pem'), cert: fs.readFileSync(d + '/client1.pem'),
              key: fs.readFileSync(d + '/client1.key') };
const client = avro.Service.forProtocol(JSON.parse(fs.readFileSync(avpr, 'utf8'))).createClient({ timeout: 20000 });
client.createChannel((cb) => https.request({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/',
                                             headers: { 'content-type': 'avro/binary' }, ...tls })
  .on('response', (res) => cb(null, res)).on('error', cb));
async function main() {
  for (let start = Number(first); start < Number(first) + 200; start += 100) {
    const events = [];
    for (let n = start; n < start + 100; n++) events.push({ headers: { n: String(n) }, body: Buffer.from(String(n)) });
    const status = await new Promise((resolve, reject) =>
      client.appendBatch(events, (err, res) => (err ? reject(err) : resolve(res))));
    if (status !== 'OK') throw new Error('answered ' + status);
  }
  console.log('avsc over HTTPS: 2 calls OK');
  process.exit(0);
}
main().catch((err) => { console.error(err); process.exit(1); });
JS
  next=$((next + 200))
  it_log "avsc over TLS (r2) and HTTPS (r4): served"
else
  echo "avsc parts skipped: $AVRO_NODE_MISSING"
fi

# ---- parallel new connections: every completed handshake is counted once by the source
before=$(tls_metric "$M" relayd_source_tls_handshakes_total "")
# (The flood is a client of ours with 4 threads in one libcrypto; in a ThreadSanitizer build TSan flags
# libcrypto's own certificate caching, whose lock-free reads happen in uninstrumented code it cannot see.
# relayd stays fully checked; only this client's reports are off.)
TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}report_bugs=0" "$TOP_BUILDDIR/tests/tools/tls-handshake-flood" 127.0.0.1 "$P2" 4 1 "$D/ca.pem" "$D/client1.bundle.pem" >"$IT_TMP/flood.out" ||
  { cat "$IT_TMP/flood.out"; it_fail "tls-handshake-flood completed no handshake"; }
cat "$IT_TMP/flood.out"
n=$(sed -n 's/^handshakes=\([0-9]*\) failures=0 .*/\1/p' "$IT_TMP/flood.out")
[ -n "$n" ] || it_fail "tls-handshake-flood had failures"
it_assert_eq "handshakes counted by r2" $((before + n)) "$(tls_metric "$M" relayd_source_tls_handshakes_total "")"

# ---- openssl s_client: chain verified, TLS 1.2 and 1.3 only
for v in -tls1_2 -tls1_3; do
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$P1" -CAfile "$D/ca.pem" -verify_return_error \
    -verify_hostname localhost $v >"$IT_TMP/sc.out" 2>&1 || true
  it_assert_grep "s_client $v" "$IT_TMP/sc.out" "Verify return code: 0 \(ok\)"
done
# r2 trusts the CA for client certificates: it still sends its own chain as the keystore has it (the
# certificate alone), fixed when the context was built, not completed from the truststore with the root
echo | timeout 10 openssl s_client -connect "127.0.0.1:$P2" -CAfile "$D/ca.pem" -cert "$D/client1.bundle.pem" \
  -showcerts >"$IT_TMP/sc.out" 2>&1 || true
it_assert_grep "s_client to r2" "$IT_TMP/sc.out" "Verify return code: 0 \(ok\)"
it_assert_eq "certificates r2 sends" 1 "$(it_count "$IT_TMP/sc.out" '^ *[0-9]+ s:')"
echo | timeout 10 openssl s_client -connect "127.0.0.1:$P1" -tls1_1 >"$IT_TMP/sc.out" 2>&1 || true
it_assert_no_grep "TLSv1.1 refused" "$IT_TMP/sc.out" "Cipher is (ECDHE|TLS_)"
# exclude-cipher-suites (Java/IANA names) removes those suites, the others stay
echo | timeout 10 openssl s_client -connect "127.0.0.1:$P1" -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384 \
  >"$IT_TMP/sc.out" 2>&1 || true
it_assert_no_grep "excluded suite refused" "$IT_TMP/sc.out" "Cipher is ECDHE"
echo | timeout 10 openssl s_client -connect "127.0.0.1:$P1" -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 \
  >"$IT_TMP/sc.out" 2>&1 || true
it_assert_grep "other suite served" "$IT_TMP/sc.out" "Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"
echo | timeout 10 openssl s_client -connect "127.0.0.1:$P1" -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 \
  >"$IT_TMP/sc.out" 2>&1 || true
it_assert_no_grep "excluded TLS 1.3 suite refused" "$IT_TMP/sc.out" "Cipher is TLS_AES_256"

# ---- failures
bad plaintext "$P1" plaintext-on-tls-port bash -c "printf 'GET / HTTP/1.0\r\n\r\nxxxx' | nc -q 5 127.0.0.1 $P1 | grep -q ."
bad plain-http "$P4" plaintext-on-tls-port "$AVRO_PY" -c "import avro.ipc, avro.protocol, sys
p = avro.protocol.parse(open('$TOP_SRCDIR/idl/flume.avpr').read())
r = avro.ipc.Requestor(p, avro.ipc.HTTPTransceiver('127.0.0.1', $P4))
sys.exit(r.request('append', {'event': {'headers': {}, 'body': b'x'}}) != 'OK')"
bad tls-on-plain "$P3" tls-on-plaintext-port "$AVRO_PY" "$PEER" client --port "$P3" --count 1 --tls-ca "$D/ca.pem"
bad no-client-cert "$P2" no-client-certificate "$AVRO_PY" "$PEER" client --port "$P2" --count 1 --tls-ca "$D/ca.pem"
bad foreign-ca "$P2" untrusted-certificate "$AVRO_PY" "$PEER" client --port "$P2" --count 1 --tls-ca "$D/ca.pem" \
  --tls-cert "$D/foreign.pem" --tls-key "$D/foreign.key"
bad expired "$P2" certificate-expired "$AVRO_PY" "$PEER" client --port "$P2" --count 1 --tls-ca "$D/ca.pem" \
  --tls-cert "$D/expired.pem" --tls-key "$D/expired.key"
bad future "$P2" certificate-not-yet-valid "$AVRO_PY" "$PEER" client --port "$P2" --count 1 --tls-ca "$D/ca.pem" \
  --tls-cert "$D/future.pem" --tls-key "$D/future.key"
bad subject "$P2" subject-not-allowed "$AVRO_PY" "$PEER" client --port "$P2" --count 1 --tls-ca "$D/ca.pem" \
  --tls-cert "$D/badname.pem" --tls-key "$D/badname.key"
bad handshake-timeout "$P2" handshake-timeout bash -c "sleep 3 | nc -q 0 127.0.0.1 $P2 | grep -q ."

# ---- the peer header carries the client certificate's subject (r2's events)
avro_expect_numbers "$out" "$next"
it_wait_log a "tls-subject=O=relayd tests,CN=client-1[},]"
it_stop a
