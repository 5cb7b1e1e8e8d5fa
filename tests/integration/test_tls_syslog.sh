#!/usr/bin/env bash
# test_tls_syslog.sh - TLS on the syslogtcp and multiport_syslogtcp sources with clients we did not write:
# Python's ssl module (octet-counted and '\n'-framed RFC 5424), `openssl s_client`, Node's tls module, and
# rsyslogd's omfwd with the ossl stream driver (RFC 5425, when Debian's rsyslog-openssl is installed).
#
# Agent "a" feeds a file_roll sink (bodies, counted) and a logger sink (headers) from three sources:
#   t: syslogtcp, ssl with a PKCS12 keystore, ssl-client-auth = required (truststore = the CA),
#      ssl-allowed-subjects = client-*, ssl-peer-header = tls-subject, ssl-handshake-timeout = 1000 ms;
#   m: multiport_syslogtcp on two ports, ssl with a PEM keystore (live.pem), no client certificates;
#   p: plaintext syslogtcp.
# Checks: numbered events from Python over TLS reach t (with the certificate's subject in tls-subject) and
# both ports of m (port header); s_client's line arrives; each failure (plaintext client on t, TLS client on
# p, no client certificate, certificate from another CA, subject not allowed, handshake that never
# completes) closes the connection with one WARN line naming the peer and the reason, counts
# relayd_source_tls_errors_total{reason=...}, stores nothing, and the next client is served. SIGHUP with a
# new live.pem: a connection open across the reload finishes, a new one sees the new certificate. A wrong
# keystore password is reported by --check with the file named. At the end every number is there once.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/tls_lib.sh"

PY=/usr/bin/python3
EV="$IT_TOOLS/syslog_events.py"
D=$TLS_DIR
node=0
tls_ca ca
tls_ca otherca
tls_cert ca server localhost
tls_cert ca server2 localhost-v2
tls_cert ca client1 client-1
tls_cert ca badname intruder
tls_cert otherca foreign client-2
cp "$D/server.bundle.pem" "$D/live.pem"

read -r PT PM1 PM2 PP M < <($PY -c 'import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
out="$IT_TMP/out"
mkdir -p "$out"
cat >"$IT_TMP/a.conf" <<CONF
a.sources = t m p
a.channels = c1 c2
a.sinks = k1 k2
a.sources.t.type = syslogtcp
a.sources.t.host = 127.0.0.1
a.sources.t.port = $PT
a.sources.t.ssl = true
a.sources.t.keystore = $D/server.p12
a.sources.t.keystore-password = $TLS_PASS
a.sources.t.truststore = $D/ca.pem
a.sources.t.ssl-client-auth = required
a.sources.t.ssl-allowed-subjects = client-*
a.sources.t.ssl-peer-header = tls-subject
a.sources.t.ssl-handshake-timeout = 1000
a.sources.t.channels = c1 c2
a.sources.m.type = multiport_syslogtcp
a.sources.m.host = 127.0.0.1
a.sources.m.ports = $PM1 $PM2
a.sources.m.portHeader = port
a.sources.m.ssl = true
a.sources.m.keystore = $D/live.pem
a.sources.m.channels = c1 c2
a.sources.p.type = syslogtcp
a.sources.p.host = 127.0.0.1
a.sources.p.port = $PP
a.sources.p.channels = c1 c2
a.channels.c1.type = memory
a.channels.c1.capacity = 100000
a.channels.c1.transactionCapacity = 1000
a.channels.c2.type = memory
a.channels.c2.capacity = 100000
a.channels.c2.transactionCapacity = 1000
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $out
a.sinks.k1.sink.rollInterval = 0
a.sinks.k2.type = logger
a.sinks.k2.channel = c2
a.sinks.k2.maxBytesToLog = 1024
CONF
it_start a -n a -f "$IT_TMP/a.conf" --metrics-port "$M"
it_wait_listening a 4

N=$(it_scaled 2000)
next=0
stored=0
# send PORT FRAMING [CERT KEY]: the Python TLS client sends N numbers; waits until they were written.
send() {
  local port=$1 framing=$2 cert=${3:--} key=${4:--}
  timeout -k 5 60 $PY "$EV" tls 127.0.0.1 "$port" "$D/ca.pem" "$cert" "$key" "$next" "$N" "$framing" ||
    it_fail "the Python TLS client failed on port $port"
  next=$((next + N))
  stored=$((stored + N))
  it_wait_lines "$out" "$stored" 30 a
}
# bad NAME REASON CMD...: runs a client that must be refused: one line naming the peer and the reason, the
# counter (nothing stored: checked at the end); then a good client is served on t.
bad() {
  local name=$1 reason=$2 before lines
  shift 2
  before=$(tls_metric "$M" relayd_source_tls_errors_total "$reason")
  lines=$(it_count "$IT_TMP/a.log" "tls=$reason")
  timeout -k 5 30 "$@" >"$IT_TMP/bad.out" 2>&1 </dev/null || true
  tls_wait_metric "$M" relayd_source_tls_errors_total "$reason" $((before + 1))
  it_wait_log a "closing connection peer=127\.0\.0\.1:[0-9]+ tls=$reason" $((lines + 1))
  it_log "$name: refused (tls=$reason)"
  send "$PT" octet "$D/client1.pem" "$D/client1.key"
}

# ---- good clients: Python (both framings, both ports of m), s_client
send "$PT" octet "$D/client1.pem" "$D/client1.key"
send "$PM1" lf
send "$PM2" octet
printf '<13>1 - h app - - - s_client line\n' | timeout 10 openssl s_client -connect "127.0.0.1:$PM1" \
  -CAfile "$D/ca.pem" -verify_return_error -verify_hostname localhost -quiet -no_ign_eof >"$IT_TMP/sc.out" 2>&1
stored=$((stored + 1))
it_wait_lines "$out" "$stored" 30 a
# Node's tls module, with a client certificate, to t
if command -v node >/dev/null; then
  timeout -k 5 30 node -e '
const tls = require("tls"), fs = require("fs");
const [port, ca, cert, key] = process.argv.slice(1);
const s = tls.connect({ host: "127.0.0.1", port: +port, servername: "localhost", ca: fs.readFileSync(ca),
                        cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
                      () => s.end("<13>1 - h app - - - node line\n"));
s.on("error", (e) => { console.error(e.message); process.exit(1); });
s.on("close", () => process.exit(0));' "$PT" "$D/ca.pem" "$D/client1.pem" "$D/client1.key" ||
    it_fail "the Node TLS client failed"
  stored=$((stored + 1))
  it_wait_lines "$out" "$stored" 30 a
  node=1
fi

# ---- rsyslogd's omfwd over TLS (ossl stream driver) with a client certificate, to t
rsyslog=0
if [ -n "$(find /usr/lib -name lmnsd_ossl.so 2>/dev/null)" ]; then
  RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
  PR=$($PY -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$IT_TMP/rs"
  cat >"$IT_TMP/rsyslog.conf" <<CONF
global(workDirectory="$IT_TMP/rs" DefaultNetstreamDriverCAFile="$D/ca.pem"
       DefaultNetstreamDriverCertFile="$D/client1.pem" DefaultNetstreamDriverKeyFile="$D/client1.key")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$PR")
# only the test's message: rsyslogd's own start and status messages would be forwarded too
if \$programname == "rs" then {
  action(type="omfwd" target="127.0.0.1" port="$PT" protocol="tcp" TCP_Framing="octet-counted"
         StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost" template="RSYSLOG_SyslogProtocol23Format")
}
CONF
  "$RSYSLOGD" -n -f "$IT_TMP/rsyslog.conf" -i "$IT_TMP/rsyslog.pid" >"$IT_TMP/rsyslog.log" 2>&1 &
  rs_pid=$!
  trap 'rc=$?; kill $rs_pid 2>/dev/null; (exit $rc); _it_cleanup' EXIT
  deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
  while $PY -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(('127.0.0.1', $PR))" \
    2>/dev/null; do
    kill -0 $rs_pid 2>/dev/null || { cat "$IT_TMP/rsyslog.log"; it_fail "rsyslogd exited"; }
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "rsyslogd did not open its UDP port"
    sleep 0.1
  done
  logger -n 127.0.0.1 --udp -P "$PR" --rfc3164 -t rs -p local2.err "via rsyslog ossl"
  stored=$((stored + 1))
  it_wait_lines "$out" "$stored" 30 a
  kill "$rs_pid" 2>/dev/null
  rsyslog=1
  it_log "rsyslog omfwd (ossl driver, RFC 5425) delivered over mutual TLS"
else
  it_log "rsyslog-openssl is not installed: rsyslog part skipped"
fi

# ---- failures
bad plaintext plaintext-on-tls-port bash -c "printf '<13>1 - h app - - - plain\n' | nc -q 2 127.0.0.1 $PT"
bad tls-on-plain tls-on-plaintext-port $PY "$EV" tls 127.0.0.1 "$PP" "$D/ca.pem" - - 900000000 1 lf
bad no-client-cert no-client-certificate $PY "$EV" tls 127.0.0.1 "$PT" "$D/ca.pem" - - 900000000 1 lf
bad foreign-ca untrusted-certificate $PY "$EV" tls 127.0.0.1 "$PT" "$D/ca.pem" "$D/foreign.pem" \
  "$D/foreign.key" 900000000 1 lf
bad subject subject-not-allowed $PY "$EV" tls 127.0.0.1 "$PT" "$D/ca.pem" "$D/badname.pem" "$D/badname.key" \
  900000000 1 lf
bad handshake-timeout handshake-timeout bash -c "sleep 3 | nc -q 0 127.0.0.1 $PT"

# ---- reload: a connection open across SIGHUP finishes; new connections get the new certificate
gate="$IT_TMP/gate"
timeout -k 5 90 $PY "$EV" tls 127.0.0.1 "$PM1" "$D/ca.pem" - - "$next" "$N" lf "$gate" &
held=$!
deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
until [ -e "$gate.half" ]; do
  [ "$(it_now_ms)" -le "$deadline" ] || it_fail "the held client did not send its first half"
  sleep 0.05
done
cp "$D/server2.bundle.pem" "$D/live.pem"
kill -HUP "$(it_pid a)"
it_wait_log a 'source:multiport_syslogtcp:m\] TLS certificates reloaded'
echo | timeout 10 openssl s_client -connect "127.0.0.1:$PM2" -CAfile "$D/ca.pem" >"$IT_TMP/sc2.out" 2>&1 || true
it_assert_grep "new connection sees the new certificate" "$IT_TMP/sc2.out" "subject=.*CN ?= ?localhost-v2"
touch "$gate"
wait "$held" || it_fail "the connection held across the reload failed"
next=$((next + N))
stored=$((stored + N))
it_wait_lines "$out" "$stored" 30 a

# ---- every number exactly once (file_roll), headers (logger)
it_wait_log a 'Event: \{' "$stored"
it_assert_eq "file_roll holds what was sent" "$stored" "$(it_lines "$out")"
$PY "$EV" dump "$IT_TMP/a.log" >"$IT_TMP/events.json"
$PY - "$IT_TMP/events.json" "$next" "$rsyslog" "$PM1" "$PM2" "$node" <<'PY' || it_fail "events"
import json, re, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
total, rsyslog, pm1, pm2, node = (int(a) for a in sys.argv[2:])
seen = {}
bad = []
for e in evs:
    m = re.search(r" tls (\d+)$", e["b"])
    if m:
        i = int(m.group(1))
        seen[i] = seen.get(i, 0) + 1
        port = e["h"].get("port")
        subject = e["h"].get("tls-subject")
        if port is None and subject != "O=relayd tests,CN=client-1":
            bad.append("event %d on t without the peer header: %r" % (i, e["h"]))
        if port is not None and (subject is not None or port not in (str(pm1), str(pm2))):
            bad.append("event %d on m: %r" % (i, e["h"]))
missing = [i for i in range(total) if seen.get(i) != 1]
extra = [i for i in seen if i >= total]
if missing or extra:
    bad.append("numbers not exactly once: %d wrong (first %r), %d from refused clients" % (
        len(missing), missing[:5], len(extra)))
if any(e["b"].endswith("plain") for e in evs):
    bad.append("the plaintext client's line was stored")
if len([e for e in evs if e["b"].endswith("s_client line")]) != 1:
    bad.append("s_client's line is not there once")
nd = [e for e in evs if e["b"].endswith("node line")]
if len(nd) != node or any(e["h"].get("tls-subject") != "O=relayd tests,CN=client-1" for e in nd):
    bad.append("Node's line: %r" % nd)
rs = [e for e in evs if e["b"].endswith("via rsyslog ossl")]
if len(rs) != rsyslog or any(e["h"].get("tls-subject") != "O=relayd tests,CN=client-1" for e in rs):
    bad.append("rsyslog's line: %r" % rs)
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
print("checked %d events" % len(evs))
PY
it_stop a

# ---- a wrong keystore password: --check names the key and the file
sed -i "s/^a.sources.t.keystore-password = .*/a.sources.t.keystore-password = wrong/" "$IT_TMP/a.conf"
it_run_expect check 1 --check -n a -f "$IT_TMP/a.conf"
it_assert_grep "wrong password named" "$IT_TMP/check.out" "keystore.*server\.p12"
exit 0
