# tls_lib.sh - certificates for the TLS integration tests (sourced after lib.sh), made with the openssl CLI.
# shellcheck shell=bash
#
# ECDSA P-256 keys. Every server certificate names DNS:localhost and IP:127.0.0.1. Files go to $TLS_DIR:
#   NAME.key (PEM key), NAME.pem (certificate), NAME.bundle.pem (chain + key, a relayd PEM keystore),
#   NAME.p12 (PKCS12 keystore, password $TLS_PASS).

TLS_DIR="$IT_TMP/tls"
TLS_PASS=changeit
mkdir -p "$TLS_DIR"
command -v openssl >/dev/null || it_skip "openssl CLI not installed"

# tls_ca NAME: a self-signed CA.
tls_ca() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$TLS_DIR/$1.key" 2>/dev/null
  openssl req -x509 -new -key "$TLS_DIR/$1.key" -subj "/CN=$1" -days 30 -out "$TLS_DIR/$1.pem" 2>/dev/null ||
    it_fail "cannot make CA $1"
}

# tls_cert CA NAME CN [DAYS]: a certificate signed by CA (DAYS -1 = already expired); TLS_SAN overrides the
# subjectAltName (default DNS:CN,DNS:localhost,IP:127.0.0.1).
tls_cert() {
  local ca=$1 name=$2 cn=$3 days=${4:-30} d=$TLS_DIR
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/$name.key" 2>/dev/null
  openssl req -new -key "$d/$name.key" -subj "/CN=$cn/O=relayd tests" -out "$d/$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "${TLS_SAN:-DNS:$cn,DNS:localhost,IP:127.0.0.1}" >"$d/$name.ext"
  openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -CAcreateserial -days "$days" \
    -extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null || it_fail "cannot make certificate $name"
  _tls_bundle "$ca" "$name"
}

# tls_cert_future CA NAME CN: a certificate valid only from 2099 on.
tls_cert_future() {
  local ca=$1 name=$2 cn=$3 d=$TLS_DIR
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/$name.key" 2>/dev/null
  openssl req -new -key "$d/$name.key" -subj "/CN=$cn" -out "$d/$name.csr" 2>/dev/null
  mkdir -p "$d/ca-db" && : >"$d/ca-db/index.txt" && echo 1000 >"$d/ca-db/serial"
  cat >"$d/ca-db/ca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $d/ca-db/index.txt
serial = $d/ca-db/serial
new_certs_dir = $d/ca-db
default_md = sha256
policy = p
copy_extensions = copy
[p]
commonName = supplied
CNF
  openssl ca -batch -config "$d/ca-db/ca.cnf" -cert "$d/$ca.pem" -keyfile "$d/$ca.key" -in "$d/$name.csr" \
    -startdate 20990101000000Z -enddate 20991231000000Z -out "$d/$name.pem" 2>/dev/null ||
    it_fail "cannot make future certificate $name"
  _tls_bundle "$ca" "$name"
}

_tls_bundle() {
  local ca=$1 name=$2 d=$TLS_DIR
  cat "$d/$name.pem" "$d/$name.key" >"$d/$name.bundle.pem"
  openssl pkcs12 -export -in "$d/$name.pem" -inkey "$d/$name.key" -certfile "$d/$ca.pem" \
    -passout "pass:$TLS_PASS" -out "$d/$name.p12" 2>/dev/null || it_fail "cannot make $name.p12"
}

# tls_metric PORT FAMILY REASON: the value of FAMILY{reason="REASON"} (every FAMILY sample when REASON is
# empty) summed over components on the Prometheus page of the relayd whose --metrics-port is PORT (0 if
# absent).
tls_metric() {
  "$PYTHON" - "$1" "$2" "$3" <<'PY'
import re, sys, urllib.request
port, family, reason = sys.argv[1:]
body = urllib.request.urlopen("http://127.0.0.1:%s/prometheus" % port, timeout=10).read().decode()
total = 0
for line in body.splitlines():
    if line.startswith(family + "{") and (not reason or ('reason="%s"' % reason) in line):
        total += float(line.rsplit(" ", 1)[1])
print(int(total))
PY
}

# tls_wait_metric PORT FAMILY REASON MIN: waits (bounded) until the counter reaches MIN.
tls_wait_metric() {
  local deadline v
  deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
  while :; do
    v=$(tls_metric "$1" "$2" "$3")
    [ "$v" -ge "$4" ] && return 0
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "$2{reason=$3} is $v, expected at least $4"
    sleep 0.1
  done
}
