#!/usr/bin/env bash
# test_syslog_rdns.sh - clientHostnameHeader never stalls the loop: a fake DNS server (tests/tools/fake_dns.py)
# answers 127.0.0.2 at once, never answers 127.0.0.3 and says 127.0.0.4 does not exist. Messages from
# 127.0.0.3 (UDP and TCP) wait clientHostnameTimeout and then carry the IP, while messages sent after them
# from 127.0.0.2 (named two.example), 127.0.0.4 (the IP) and 127.0.0.1 (localhost, from /etc/hosts) arrive
# first. Names are cached: more messages from 127.0.0.2 ask no more questions. --check rejects a bad server.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
read -r port_t port_u < <($PY -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
$PY "$IT_TOOLS/fake_dns.py" "$IT_TMP/dns.port" 127.0.0.2=two.example 127.0.0.3=drop 127.0.0.4=nxdomain \
  >"$IT_TMP/dns.log" 2>&1 &
dns_pid=$!
trap 'rc=$?; kill $dns_pid 2>/dev/null; (exit $rc); _it_cleanup' EXIT
for _ in $(seq 1 500); do [ -s "$IT_TMP/dns.port" ] && break; sleep 0.02; done
[ -s "$IT_TMP/dns.port" ] || it_fail "fake DNS server did not start"
dns="127.0.0.1:$(cat "$IT_TMP/dns.port")"

# the unanswered sender's messages wait this long (ms): long enough that the others surely arrive first
TIMEOUT_MS=6000
conf() {
  cat <<EOF
a.sources = t u
a.channels = c1
a.sinks = k1
a.sources.t.type = syslogtcp
a.sources.t.host = 127.0.0.1
a.sources.t.port = $port_t
a.sources.t.clientIPHeader = rip
a.sources.t.clientHostnameHeader = rhost
a.sources.t.clientHostnameNameservers = $1
a.sources.t.clientHostnameTimeout = $TIMEOUT_MS
a.sources.t.channels = c1
a.sources.u.type = syslogudp
a.sources.u.host = 127.0.0.1
a.sources.u.port = $port_u
a.sources.u.clientHostnameHeader = rhost
a.sources.u.clientHostnameNameservers = $dns
a.sources.u.clientHostnameTimeout = $TIMEOUT_MS
a.sources.u.channels = c1
a.channels.c1.type = memory
a.sinks.k1.type = logger
a.sinks.k1.channel = c1
EOF
}
conf "$dns 127.0.0.1:x" >"$IT_TMP/bad.conf"
it_run_expect check 1 --check -n a -f "$IT_TMP/bad.conf"
it_assert_grep "bad nameserver" "$IT_TMP/check.out" "clientHostnameNameservers: '127.0.0.1:x' is not an IP address"
conf "$dns" >"$IT_TMP/a.conf"
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_listening a 2

# send FROM:udp|tcp:TAG...: one RFC 3164 message per argument, from source address FROM, in one interpreter
send() {
  $PY - "$port_u" "$port_t" "$@" <<'PY'
import socket, sys
ports = {"udp": int(sys.argv[1]), "tcp": int(sys.argv[2])}
for arg in sys.argv[3:]:
    src, proto, tag = arg.split(":")
    msg = ("<13>Dec  2 09:00:00 h %s\n" % tag).encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    s.bind((src, 0))
    if proto == "udp":
        s.sendto(msg, ("127.0.0.1", ports[proto]))
    else:
        s.connect(("127.0.0.1", ports[proto]))
        s.sendall(msg)
    s.close()
PY
}
start_ms=$(it_now_ms)
send 127.0.0.3:udp:slowudp 127.0.0.3:tcp:slowtcp 127.0.0.2:udp:fastudp 127.0.0.2:tcp:fasttcp \
  127.0.0.4:udp:nxudp 127.0.0.1:tcp:localtcp
it_wait_log a 'rhost=two\.example' 2
it_wait_log a 'rhost=127\.0\.0\.4'
it_wait_log a 'rhost=localhost'
fast_ms=$(($(it_now_ms) - start_ms))
[ "$(it_count "$IT_TMP/a.log" 'rhost=127\.0\.0\.3')" -eq 0 ] ||
  it_fail "a message of the unanswered sender did not wait (the others took ${fast_ms} ms)"
it_wait_log a 'rhost=127\.0\.0\.3' 2
slow_ms=$(($(it_now_ms) - start_ms))
[ "$slow_ms" -ge $((TIMEOUT_MS - 500)) ] || it_fail "the unanswered sender waited only ${slow_ms} ms"
it_log "answered senders after ${fast_ms} ms, the unanswered one after ${slow_ms} ms"

# more from the named sender come from the cache: one question per source in all
send 127.0.0.2:udp:againudp 127.0.0.2:tcp:againtcp
it_wait_log a 'rhost=two\.example' 4
it_assert_eq "DNS questions for 127.0.0.2" 2 "$(it_count "$IT_TMP/dns.log" 'question 2\.0\.0\.127\.in-addr\.arpa')"

$PY "$IT_TOOLS/syslog_events.py" dump "$IT_TMP/a.log" >"$IT_TMP/events.json"
$PY - "$IT_TMP/events.json" <<'PY' || it_fail "headers"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
want = {"slowudp": ("127.0.0.3", None), "slowtcp": ("127.0.0.3", "127.0.0.3"),
        "fastudp": ("two.example", None), "fasttcp": ("two.example", "127.0.0.2"),
        "nxudp": ("127.0.0.4", None), "localtcp": ("localhost", "127.0.0.1"),
        "againudp": ("two.example", None), "againtcp": ("two.example", "127.0.0.2")}
got = {e["b"]: e["h"] for e in evs}
bad = ["%s: %s" % (tag, got.get(tag)) for tag, (host, ip) in want.items()
       if tag not in got or got[tag].get("rhost") != host or got[tag].get("rip") != ip]
order = [e["b"] for e in evs]
if not bad and (order.index("slowudp") < order.index("fastudp") or order.index("slowtcp") < order.index("fasttcp")):
    bad.append("order %s" % order)
if bad:
    sys.exit("\n".join(bad))
PY
it_stop a
