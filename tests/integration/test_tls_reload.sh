#!/usr/bin/env bash
# test_tls_reload.sh - SIGHUP reloads TLS certificates under load without dropping connections.
#
# An avro source with ssl (PEM keystore live.pem = certificate "server-v1") and ssl-client-auth = required
# feeds a file_roll sink. A Python TLS client (one connection, no retries: a dropped connection fails it)
# sends N numbered events. While it runs, live.pem is replaced by certificate "server-v2" and relayd gets
# SIGHUP: the log says the certificates were reloaded, a new `openssl s_client` connection sees server-v2,
# the running client finishes on its old connection and every number arrives exactly once. Then live.pem is
# replaced by garbage and SIGHUP sent again: the log says the reload failed and names the file, and new
# connections still get server-v2; relay-send with a client certificate is still served. The monitoring
# endpoint serves HTTPS (monitoring.ssl) from the same keystore and is reloaded with it.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/tls_lib.sh"
avro_require_python_avro

N=${TLS_RELOAD_EVENTS:-200000}
D=$TLS_DIR
tls_ca ca
tls_cert ca v1 server-v1
tls_cert ca v2 server-v2
tls_cert ca client client-1
cp "$D/v1.bundle.pem" "$D/live.pem"

P=$(it_free_port)
M=$(it_free_port)
out="$IT_TMP/out"
{
  avro_conf_source a "$P" none ssl=true keystore="$D/live.pem" truststore="$D/ca.pem" ssl-client-auth=required
  avro_conf_memory a 100000 1000
  avro_conf_file_roll a "$out"
  echo "a.monitoring.type = http"
  echo "a.monitoring.bind = 127.0.0.1"
  echo "a.monitoring.port = $M"
  echo "a.monitoring.ssl = true"
  echo "a.monitoring.keystore = $D/live.pem"
} >"$IT_TMP/a.conf"
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_listening a 1

# subject [PORT]: the CN of the certificate a new TLS connection sees.
subject() {
  echo | timeout 10 openssl s_client -connect "127.0.0.1:${1:-$P}" -CAfile "$D/ca.pem" -cert "$D/client.pem" \
    -key "$D/client.key" 2>/dev/null | sed -n 's/^subject=.*CN *= *\([^,]*\).*/\1/p'
}
it_assert_eq "certificate before reload" server-v1 "$(subject)"
it_assert_eq "monitoring certificate before reload" server-v1 "$(subject "$M")"
# https_get: GET /metrics over HTTPS, verifying the server against the CA (Python's ssl module).
https_get() {
  "$PYTHON" -c 'import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
print(urllib.request.urlopen("https://localhost:%s/metrics" % sys.argv[1], context=ctx, timeout=10).read().decode())' \
    "$M" "$D/ca.pem"
}
https_get | grep -q '"SOURCE.r1"' || it_fail "GET https://localhost:$M/metrics did not answer the metrics"

avro_bg client.out "$AVRO_PY" "$IT_TOOLS/avro_py_peer.py" client --port "$P" --first 0 --count "$N" --batch 100 \
  --tls-ca "$D/ca.pem" --tls-cert "$D/client.pem" --tls-key "$D/client.key"
client=$AVRO_BG_PID
it_wait_lines "$out" 1000 60 a
cp "$D/v2.bundle.pem" "$D/live.pem"
kill -HUP "$(it_pid a)"
it_wait_log a "TLS certificates reloaded keystore=$D/live.pem"
kill -0 "$client" 2>/dev/null || it_fail "the client finished before the reload: raise TLS_RELOAD_EVENTS"
it_assert_eq "certificate after reload" server-v2 "$(subject)"
it_assert_eq "monitoring certificate after reload" server-v2 "$(subject "$M")"
avro_bg_wait "$client" 300
[ "$AVRO_BG_STATUS" -eq 0 ] || it_fail "the client on the old connection failed (status $AVRO_BG_STATUS)"
avro_expect_numbers "$out" "$N" 120 a

# a reload that fails keeps the current certificates
echo garbage >"$D/live.pem"
kill -HUP "$(it_pid a)"
it_wait_log a "TLS reload failed, keeping the previous certificates: keystore $D/live.pem"
it_assert_eq "certificate after failed reload" server-v2 "$(subject)"
avro_numbers "$N" $((N + 99)) | avro_send "$P" --ssl --truststore "$D/ca.pem" --keystore "$D/client.p12" \
  --keystore-password "$TLS_PASS" --retry-timeout 0
avro_expect_numbers "$out" $((N + 100)) 60 a
it_stop a
