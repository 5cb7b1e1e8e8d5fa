#!/usr/bin/env bash
# test_tls_sink.sh - relayd's avro sink over TLS against Python TLS servers (tests/tools/avro_py_peer.py on
# Python's ssl module), the sink-side failures, both ssl+deflate layer orders, and stores that cannot load.
#
# One agent, seven pipelines rN (plaintext avro source, fed by relay-send) -> cN -> kN (avro sink, ssl):
#   k1 -> S1 (certificate for localhost, requires a client certificate from the CA): delivered;
#   k2 -> S2 (certificate naming only elsewhere.example): hostname-mismatch, nothing delivered;
#   k3 -> S2 with ssl-verify-hostname = false: delivered;
#   k4 -> S3 (certificate from another CA): untrusted-certificate, nothing delivered;
#   k5 -> S3 with trust-all-certs = true: delivered;
#   k6 -> S4 (deflate inside TLS, Flume 1.9) with ssl-deflate-order = tls-outside-deflate: delivered;
#   k7 -> S5 (deflate outside TLS, Flume 1.10+) with the default order: delivered.
# The failing sinks count relayd_sink_tls_errors_total{reason} and log the reason. Then relayd is started
# with a wrong keystore password, a key that does not match its certificate, a missing keystore and a JKS
# keystore: each exits 1 with a line naming the file (for JKS, the keytool command converting it). Finally
# sources without keystore keys take it from -Djavax.net.ssl.keyStore... or FLUME_SSL_KEYSTORE_PATH/PASSWORD.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/tls_lib.sh"
avro_require_python_avro

PEER="$IT_TOOLS/avro_py_peer.py"
D=$TLS_DIR
tls_ca ca
tls_ca otherca
tls_cert ca server localhost
tls_cert ca client client-1
TLS_SAN=DNS:elsewhere.example tls_cert ca elsewhere elsewhere.example
tls_cert otherca foreign localhost

# server NAME ARGS...: a Python avro TLS server writing bodies to $IT_TMP/NAME.txt; sets PORT_<NAME>.
server() {
  local name=$1 port
  shift
  port=$(it_free_port)
  : >"$IT_TMP/$name.txt"
  avro_bg "$name.log" "$AVRO_PY" "$PEER" server --port "$port" --out "$IT_TMP/$name.txt" "$@"
  avro_wait_file_line "$IT_TMP/$name.log" "^listening port=" 30 "$AVRO_BG_PID"
  printf -v "PORT_$name" %s "$port"
}
server S1 --tls-cert "$D/server.pem" --tls-key "$D/server.key" --tls-ca "$D/ca.pem"
server S2 --tls-cert "$D/elsewhere.pem" --tls-key "$D/elsewhere.key"
server S3 --tls-cert "$D/foreign.pem" --tls-key "$D/foreign.key"
server S4 --tls-cert "$D/server.pem" --tls-key "$D/server.key" --deflate
server S5 --tls-cert "$D/server.pem" --tls-key "$D/server.key" --deflate --deflate-outside-tls

M=$(it_free_port)
declare -A SRC=()
for n in 1 2 3 4 5 6 7; do SRC[$n]=$(it_free_port); done
# pipe N SERVER_PORT KEY=VALUE...: pipeline N's lines.
pipe() {
  local n=$1 port=$2 kv
  shift 2
  cat <<CONF
s.sources.r$n.type = avro
s.sources.r$n.bind = 127.0.0.1
s.sources.r$n.port = ${SRC[$n]}
s.sources.r$n.channels = c$n
s.channels.c$n.type = memory
s.sinks.k$n.type = avro
s.sinks.k$n.channel = c$n
s.sinks.k$n.hostname = localhost
s.sinks.k$n.port = $port
s.sinks.k$n.batch-size = 50
s.sinks.k$n.connect-timeout = 2000
s.sinks.k$n.ssl = true
s.sinks.k$n.truststore = $D/ca.pem
CONF
  for kv in "$@"; do
    echo "s.sinks.k$n.${kv%%=*} = ${kv#*=}"
  done
}
{
  echo "s.sources = r1 r2 r3 r4 r5 r6 r7"
  echo "s.channels = c1 c2 c3 c4 c5 c6 c7"
  echo "s.sinks = k1 k2 k3 k4 k5 k6 k7"
  pipe 1 "$PORT_S1" keystore="$D/client.p12" keystore-password="$TLS_PASS"
  pipe 2 "$PORT_S2"
  pipe 3 "$PORT_S2" ssl-verify-hostname=false
  pipe 4 "$PORT_S3"
  pipe 5 "$PORT_S3" trust-all-certs=true truststore=
  pipe 6 "$PORT_S4" compression-type=deflate ssl-deflate-order=tls-outside-deflate
  pipe 7 "$PORT_S5" compression-type=deflate
} | grep -v ' = $' >"$IT_TMP/s.conf"
it_start s -n s -f "$IT_TMP/s.conf" --metrics-port "$M"
it_wait_listening s 7
for n in 1 2 3 4 5 6 7; do
  avro_numbers $((n * 1000)) $((n * 1000 + 99)) | avro_send "${SRC[$n]}" --retry-timeout 0
done

# expect FILE FIRST: FILE holds FIRST..FIRST+99 (each once).
expect() {
  it_wait_lines_file "$1" 100
  it_assert_eq "$(basename "$1")" "$(seq "$2" $(($2 + 99)))" "$(sort -n "$1")"
}
it_wait_lines_file() {
  local deadline
  deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
  while [ "$(wc -l <"$1")" -lt "$2" ]; do
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "only $(wc -l <"$1") of $2 lines in $1"
    sleep 0.1
  done
}
expect "$IT_TMP/S1.txt" 1000
tls_wait_metric "$M" relayd_sink_tls_errors_total hostname-mismatch 1
it_wait_log s "\[sink:avro:k2\].*reason=hostname-mismatch"
expect "$IT_TMP/S2.txt" 3000
tls_wait_metric "$M" relayd_sink_tls_errors_total untrusted-certificate 1
it_wait_log s "\[sink:avro:k4\].*reason=untrusted-certificate"
expect "$IT_TMP/S3.txt" 5000
expect "$IT_TMP/S4.txt" 6000
expect "$IT_TMP/S5.txt" 7000
it_stop s

# ---- stores that cannot be loaded stop relayd with a line naming the file
cat "$D/server.pem" "$D/client.key" >"$D/mismatch.pem"
printf '\xfe\xed\xfe\xed\x00\x00\x00\x02' >"$D/old.jks"
# bad NAME KEYSTORE PASSWORD REGEX
bad_store() {
  {
    avro_conf_source b "$(it_free_port)" none ssl=true keystore="$2" keystore-password="$3"
    avro_conf_memory b
    echo "b.sinks.k1.type = null"
    echo "b.sinks.k1.channel = c1"
  } >"$IT_TMP/b.conf"
  it_run_expect "$1" 1 -n b -f "$IT_TMP/b.conf"
  it_assert_grep "$1" "$IT_TMP/$1.log" "$4"
}
bad_store wrong-password "$D/server.p12" wrong "keystore $D/server.p12: wrong password"
bad_store mismatch "$D/mismatch.pem" "" "keystore $D/mismatch.pem: its private key does not match its certificate"
bad_store missing "$D/nothing.p12" x "cannot read keystore $D/nothing.p12"
bad_store jks "$D/old.jks" x "keytool -importkeystore -srckeystore $D/old.jks -srcstoretype JKS"

# ---- Flume's globals: -Djavax.net.ssl.keyStore... and FLUME_SSL_KEYSTORE_* stand in for unset keys
global_store() {
  local name=$1 port
  shift
  port=$(it_free_port)
  {
    avro_conf_source "$name" "$port" none ssl=true
    avro_conf_memory "$name"
    echo "$name.sinks.k1.type = null"
    echo "$name.sinks.k1.channel = c1"
  } >"$IT_TMP/$name.conf"
  "$@" -n "$name" -f "$IT_TMP/$name.conf"
  it_wait_listening "$name" 1
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$D/ca.pem" -verify_return_error \
    >"$IT_TMP/$name.sc" 2>&1 || true
  it_assert_grep "$name: keystore from the globals" "$IT_TMP/$name.sc" "Verify return code: 0 \(ok\)"
  it_stop "$name"
}
global_store gd it_start gd -Djavax.net.ssl.keyStore="$D/server.p12" -Djavax.net.ssl.keyStorePassword="$TLS_PASS"
FLUME_SSL_KEYSTORE_PATH="$D/server.p12" FLUME_SSL_KEYSTORE_PASSWORD="$TLS_PASS" \
  global_store ge it_start ge
