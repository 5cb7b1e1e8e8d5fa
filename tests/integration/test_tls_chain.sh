#!/usr/bin/env bash
# test_tls_chain.sh - a 3-hop chain avro -> thrift -> avro, every hop over mutual TLS, delivers numbered
# events exactly once; Thrift's own Python TSSLSocket client is served by a TLS thrift source.
#
#   Python avro client (client cert) -TLS-> edge: avro source -> memory -> thrift sink (client cert)
#     -TLS-> mid: thrift source -> memory -> avro sink (client cert, deflate) -TLS-> col: avro source
#     (deflate) -> memory -> file_roll
# Every source has ssl-client-auth = required with the test CA as truststore; every sink verifies the
# server's hostname (localhost) against the CA. TLS_CHAIN_EVENTS (default 200000) numbers go in; the
# collector's files must hold each exactly once. Then thrift_py_client.py (TSSLSocket, client cert) sends
# to mid's thrift source directly and those numbers arrive too; without a client certificate it is refused.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/thrift_lib.sh"
. "$IT_DIR/tls_lib.sh"
avro_require_python_avro
thrift_need_compiler
thrift_need_python

N=${TLS_CHAIN_EVENTS:-200000}
D=$TLS_DIR
tls_ca ca
tls_cert ca edge edge-1
tls_cert ca mid mid-1
tls_cert ca col col-1
tls_cert ca client client-1
THRIFT_PYGEN="$IT_TMP/gen-py"
thrift_gen py "$THRIFT_PYGEN"

PE=$(it_free_port)
PM=$(it_free_port)
PC=$(it_free_port)
MM=$(it_free_port)
out="$IT_TMP/out"

# server_tls AGENT SOURCE NAME: mutual TLS keys of a source using certificate NAME.
server_tls() {
  cat <<CONF
$1.sources.$2.ssl = true
$1.sources.$2.keystore = $D/$3.p12
$1.sources.$2.keystore-password = $TLS_PASS
$1.sources.$2.truststore = $D/ca.pem
$1.sources.$2.ssl-client-auth = required
CONF
}
# client_tls AGENT SINK NAME: TLS keys of a sink presenting certificate NAME (PEM bundle) to localhost.
client_tls() {
  cat <<CONF
$1.sinks.$2.ssl = true
$1.sinks.$2.hostname = localhost
$1.sinks.$2.keystore = $D/$3.bundle.pem
$1.sinks.$2.truststore = $D/ca.pem
$1.sinks.$2.truststore-type = PEM
CONF
}

{
  avro_conf_source edge "$PE"
  server_tls edge r1 edge
  avro_conf_memory edge 200000 1000
  cat <<CONF
edge.sinks.k1.type = thrift
edge.sinks.k1.channel = c1
edge.sinks.k1.port = $PM
edge.sinks.k1.batch-size = 1000
edge.sinks.k1.connect-timeout = 2000
CONF
  client_tls edge k1 edge
} >"$IT_TMP/edge.conf"
{
  cat <<CONF
mid.sources = r1
mid.channels = c1
mid.sinks = k1
mid.sources.r1.type = thrift
mid.sources.r1.bind = 127.0.0.1
mid.sources.r1.port = $PM
mid.sources.r1.channels = c1
CONF
  server_tls mid r1 mid
  avro_conf_memory mid 200000 1000
  avro_conf_avro_sink mid "$PC" deflate 1000
  client_tls mid k1 mid
} >"$IT_TMP/mid.conf"
{
  avro_conf_source col "$PC" deflate
  server_tls col r1 col
  avro_conf_memory col 200000 1000
  avro_conf_file_roll col "$out"
} >"$IT_TMP/col.conf"

it_start col -n col -f "$IT_TMP/col.conf"
it_wait_listening col 1
it_start mid -n mid -f "$IT_TMP/mid.conf" --metrics-port "$MM"
it_wait_listening mid 1
it_start edge -n edge -f "$IT_TMP/edge.conf"
it_wait_listening edge 1

t0=$(it_now_ms)
timeout -k 5 600 "$AVRO_PY" "$IT_TOOLS/avro_py_peer.py" client --port "$PE" --first 0 --count "$N" --batch 1000 \
  --tls-ca "$D/ca.pem" --tls-cert "$D/client.pem" --tls-key "$D/client.key" >"$IT_TMP/client.out" 2>&1 || {
  cat "$IT_TMP/client.out"
  it_fail "the Python TLS client could not deliver $N events to edge"
}
it_wait_lines "$out" "$N" 600 col
it_log "$N events through 3 TLS hops in $(($(it_now_ms) - t0)) ms"
it_assert_grep "edge -> mid connected" "$IT_TMP/edge.log" "connected peer=localhost:$PM"

# Thrift's own TLS client (TSSLSocket) with a client certificate is served by mid's thrift source.
thrift_py_client --port "$PM" --first "$N" --count 1000 --batch 100 --tls-ca "$D/ca.pem" \
  --tls-cert "$D/client.pem" --tls-key "$D/client.key"
# ... and refused without one.
if timeout -k 2 30 "$THRIFT_PYTHON" "$IT_TOOLS/thrift_py_client.py" --gen "$THRIFT_PYGEN" --port "$PM" --count 1 \
  --retries 0 --tls-ca "$D/ca.pem" >"$IT_TMP/nocert.out" 2>&1; then
  it_fail "a thrift client without certificate was served"
fi
tls_wait_metric "$MM" relayd_source_tls_errors_total no-client-certificate 1

avro_expect_numbers "$out" $((N + 1000)) 120 col
it_stop edge
it_stop mid
it_stop col
