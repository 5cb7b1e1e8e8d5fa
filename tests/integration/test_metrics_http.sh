#!/usr/bin/env bash
# test_metrics_http.sh - the monitoring HTTP endpoint's behaviour and the ways to turn it on (issue 7).
#
# Agent a (avro source -> memory -> file_roll, --metrics-port, --summary-interval 1):
#   - logs "[monitoring:http] listening bind=127.0.0.1 port=P"; GET /health is 200 with status UP, agent a
#     and every component UP; GET / is a 200 HTML page linking /metrics, /prometheus and /health; HEAD
#     /metrics is 200; an unknown path is 404; POST and PUT (with a small form body) and DELETE are 405;
#   - while one client holds a half-sent request and another an idle connection, relay-send delivers 20000
#     numbers through the avro source and, at the same time, rounds of bad requests get their answers
#     (20 KB of headers in many lines or in one: 413 or 400; POST: 405; unknown path: 404; garbage) between
#     good GET /metrics; every number arrives exactly once, and both slow clients are dropped about 10 s
#     after they connected;
#   - its summary lines ("[monitoring] summary interval_s=1 in_per_s=... out_per_s=... fill=c1:...%
#     failures=0") add up to the events relayed.
# Agent b: one source cannot start (its port is a's) and one sink is dropped by the configuration: /health
# is 503, status DOWN, and "down" names exactly SOURCE.r1 and SINK.k2, the rest UP.
# Flume's command line: -Dflume.monitoring.type=http -Dflume.monitoring.port=P turns it on,
# -Dflume.root.logger=DEBUG,console sets the log level, an unknown -Dfoo=bar gives one warning naming it.
# Configuration keys <agent>.monitoring.type/port/summary-interval turn it on (and pass --check); -D beats
# them and --metrics-port beats -D. --metrics-port 0 and --metrics-bind 127.0.0.2 work; a metrics port in use
# makes relayd exit 1 naming the address. relayd --version prints the build line.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

MPY=/usr/bin/python3
N=20000

# ---- relayd --version: "relayd X.Y.Z" then "built with: compiler=... glib=... libevent=..."
it_run_expect version 0 --version
it_assert_grep "--version first line" "$IT_TMP/version.out" '^relayd [0-9]+\.[0-9]+\.[0-9]+'
it_assert_eq "--version prints two lines or more" 1 "$(sed -n '2{/^built with: /p}' "$IT_TMP/version.out" | wc -l)"
for key in compiler glib libevent; do
  it_assert_grep "--version names $key" "$IT_TMP/version.out" "^built with: (.* )?$key=[^ ]+"
done

cat >"$IT_TMP/httpcheck.py" <<'PYEOF'
"""HTTP checks for test_metrics_http.sh: one mode per invocation, exit 1 with a message on failure."""
import http.client
import json
import re
import select
import socket
import sys
import time


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def request(host, port, method, path, headers=None, body=None, timeout=5):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        conn.close()


def raw(host, port, data, timeout=5):
    """Sends DATA, returns everything the server answers until it closes (or times out)."""
    s = socket.create_connection((host, port), timeout=timeout)
    got = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got and got.startswith(b"HTTP/"):
                break  # the status line and headers are enough
    finally:
        s.close()
    return got


def status_of(resp):
    m = re.match(rb"HTTP/1\.[01] ([0-9]{3}) ", resp)
    return int(m.group(1)) if m else None


def big_headers(host, port, one_line):
    if one_line:
        hdrs = b"X-Big: " + b"a" * 20480 + b"\r\n"
    else:
        hdrs = b"".join(b"X-Pad-%03d: %s\r\n" % (i, b"b" * 90) for i in range(205))
    resp = raw(host, port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + hdrs + b"\r\n")
    st = status_of(resp)
    if st not in (413, 400):
        fail("%s of 20 KB headers: answer %r, expected 413 or 400" % ("one line" if one_line else "many lines",
                                                                     resp[:200]))


def expect(host, port, method, path, want, ctype_prefix=None, body_res=()):
    st, ct, body = request(host, port, method, path, body=b"x=1" if method in ("POST", "PUT") else None)
    if st != want:
        fail("%s %s: status %d, expected %d: %r" % (method, path, st, want, body[:200]))
    if ctype_prefix and not ct.lower().startswith(ctype_prefix):
        fail("%s %s: Content-Type %r, expected %s..." % (method, path, ct, ctype_prefix))
    for rx in body_res:
        if not re.search(rx, body.decode("utf-8", "replace")):
            fail("%s %s: body lacks %r: %r" % (method, path, rx, body[:600]))
    if method == "HEAD" and body:
        fail("HEAD %s: a body of %d bytes" % (path, len(body)))
    return body


def health(host, port, want_status, agent, up, down):
    st, ct, body = request(host, port, "GET", "/health")
    try:
        h = json.loads(body.decode("utf-8"))
    except ValueError:
        fail("GET /health: not JSON (status %d): %r" % (st, body[:300]))
    print("GET /health -> %d %s" % (st, json.dumps(h, sort_keys=True)))
    if st != want_status:
        fail("GET /health: status %d, expected %d" % (st, want_status))
    if h.get("status") != ("UP" if want_status == 200 else "DOWN") or h.get("agent") != agent:
        fail("GET /health: status/agent %r/%r, expected %r/%r" % (h.get("status"), h.get("agent"),
                                                               "UP" if want_status == 200 else "DOWN", agent))
    comps = h.get("components")
    if not isinstance(comps, dict):
        fail("GET /health: no components object")
    for k in up:
        if comps.get(k) != "UP":
            fail("GET /health: components[%r] = %r, expected UP" % (k, comps.get(k)))
    if want_status == 200:
        if set(comps) != set(up):
            fail("GET /health: components %s, expected exactly %s" % (sorted(comps), sorted(up)))
        if h.get("down"):
            fail("GET /health: 200 with a down object %r" % h.get("down"))
    else:
        d = h.get("down")
        if not isinstance(d, dict) or set(d) != set(down):
            fail("GET /health: down = %r, expected the keys %s" % (d, sorted(down)))
        for k, why in d.items():
            if not isinstance(why, str) or not why.strip():
                fail("GET /health: down[%r] = %r is not a reason" % (k, why))


def slow(host, port, lo, hi):
    """Holds an idle connection and a half-sent request; both must be dropped between LO and HI s later."""
    idle = socket.create_connection((host, port))
    half = socket.create_connection((host, port))
    half.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: still typ")
    t0 = time.time()
    print("holding", flush=True)
    socks = {idle: "idle", half: "half-sent"}
    closed = {}
    while socks and time.time() - t0 < hi + 5:
        r, _, _ = select.select(list(socks), [], [], 0.2)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed[socks.pop(s)] = time.time() - t0
                s.close()
            elif not data.startswith(b"HTTP/1.1 408") and not data.startswith(b"HTTP/1.1 400"):
                fail("%s connection got %r" % (socks[s], data[:200]))
    print("dropped after: %s" % ", ".join("%s %.1f s" % kv for kv in sorted(closed.items())), flush=True)
    for name in ("idle", "half-sent"):
        if name not in closed:
            fail("the %s connection was still open %d s later" % (name, hi + 5))
        if not lo <= closed[name] <= hi:
            fail("the %s connection was dropped after %.1f s, expected %d..%d s" % (name, closed[name], lo, hi))


def abuse(host, port, rounds):
    for i in range(rounds):
        big_headers(host, port, one_line=False)
        expect(host, port, "GET", "/metrics", 200)
        big_headers(host, port, one_line=True)
        expect(host, port, "POST", "/metrics", 405)
        expect(host, port, "GET", "/no/such/page", 404)
        raw(host, port, b"\x16\x03\x01\x02\x00garbage that is not HTTP\r\n\r\n", timeout=2)
        body = expect(host, port, "GET", "/metrics", 200)
        json.loads(body.decode("utf-8"))
    print("%d rounds of bad requests answered" % rounds)


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    a = sys.argv[4:]
    if mode == "expect":
        expect(host, port, a[0], a[1], int(a[2]), a[3] if len(a) > 3 and a[3] else None, a[4:])
    elif mode == "health":
        health(host, port, int(a[0]), a[1], [x for x in a[2].split(",") if x], [x for x in a[3].split(",") if x])
    elif mode == "bigheaders":
        big_headers(host, port, a[0] == "one")
    elif mode == "slow":
        slow(host, port, float(a[0]), float(a[1]))
    elif mode == "abuse":
        abuse(host, port, int(a[0]))
    else:
        fail("unknown mode " + mode)


main()
PYEOF

# http_py MODE HOST PORT ARGS...: runs one check of httpcheck.py; fails the test when it fails.
http_py() {
  local out
  if ! out=$(timeout -k 5 40 "$MPY" "$IT_TMP/httpcheck.py" "$@" 2>&1); then
    echo "$out"
    it_fail "httpcheck.py $*"
  fi
  [ -z "$out" ] || echo "$out"
}

# simple_conf FILE AGENT IN_PORT [EXTRA LINES...]: avro source r1 -> memory c1 -> null sink k1.
simple_conf() {
  local file=$1 agent=$2 port=$3 line
  shift 3
  {
    avro_conf_source "$agent" "$port"
    avro_conf_memory "$agent"
    echo "$agent.sinks.k1.type = null"
    echo "$agent.sinks.k1.channel = c1"
    for line in "$@"; do
      echo "$line"
    done
  } >"$file"
}

# wait_metrics NAME PORT [BIND]: waits for NAME's "[monitoring:http] listening" line for that port.
wait_metrics() {
  it_wait_log "$1" "INFO +\[monitoring:http\] listening bind=${3:-127\.0\.0\.1} port=$2( |$)"
}

# ---- agent a: the endpoint under load and abuse
a_in=$(it_free_port)
a_m=$(it_free_port)
out="$IT_TMP/out"
{
  avro_conf_source a "$a_in"
  avro_conf_memory a 100000 1000
  avro_conf_file_roll a "$out"
} >"$IT_TMP/a.conf"
it_start a -n a -f "$IT_TMP/a.conf" --metrics-port "$a_m" --summary-interval 1
it_wait_listening a 1
wait_metrics a "$a_m"

# Two slow clients, held while everything below happens; dropped ~10 s later.
avro_bg slow.out "$MPY" "$IT_TMP/httpcheck.py" slow 127.0.0.1 "$a_m" 9 13
slow_pid=$AVRO_BG_PID
avro_wait_file_line "$IT_TMP/slow.out" '^holding' 10 "$slow_pid"

http_py health 127.0.0.1 "$a_m" 200 a SOURCE.r1,CHANNEL.c1,SINK.k1 ""
http_py expect 127.0.0.1 "$a_m" GET / 200 text/html 'href="?/metrics' 'href="?/prometheus' 'href="?/health'
http_py expect 127.0.0.1 "$a_m" HEAD /metrics 200
http_py expect 127.0.0.1 "$a_m" GET /metrics 200 application/json
http_py expect 127.0.0.1 "$a_m" GET /nope 404
http_py expect 127.0.0.1 "$a_m" GET /metrics/x 404
http_py expect 127.0.0.1 "$a_m" POST /metrics 405
http_py expect 127.0.0.1 "$a_m" PUT /health 405
http_py expect 127.0.0.1 "$a_m" DELETE / 405
http_py bigheaders 127.0.0.1 "$a_m" many
http_py bigheaders 127.0.0.1 "$a_m" one

# relay-send and bad HTTP requests at the same time; every number must arrive.
# shellcheck disable=SC2016 # expanded by the inner bash
avro_bg send.out bash -c 'seq 0 $(($1 - 1)) | "$2" -H "127.0.0.1:$3" --batch-size 20 --retry-timeout 0' \
  _ "$N" "$AVRO_SEND" "$a_in"
send_pid=$AVRO_BG_PID
http_py abuse 127.0.0.1 "$a_m" 25
avro_bg_wait "$send_pid" 40
[ "$AVRO_BG_STATUS" -eq 0 ] || {
  cat "$IT_TMP/send.out"
  it_fail "relay-send exited $AVRO_BG_STATUS while the metrics endpoint was abused"
}
avro_expect_numbers "$out" "$N" 30 a
http_py health 127.0.0.1 "$a_m" 200 a SOURCE.r1,CHANNEL.c1,SINK.k1 ""

# ---- agent b: a source that cannot start (a's port; kept running by --keep-running-on-start-failure) and a
# sink the configuration drops -> 503.
b_in=$(it_free_port)
b_m=$(it_free_port)
cat >"$IT_TMP/b.conf" <<EOF
b.sources = r1 r2
b.channels = c1
b.sinks = k1 k2
b.sources.r1.type = avro
b.sources.r1.bind = 127.0.0.1
b.sources.r1.port = $a_in
b.sources.r1.channels = c1
b.sources.r2.type = avro
b.sources.r2.bind = 127.0.0.1
b.sources.r2.port = $b_in
b.sources.r2.channels = c1
b.channels.c1.type = memory
b.sinks.k1.type = null
b.sinks.k1.channel = c1
b.sinks.k2.type = no_such_sink_type
b.sinks.k2.channel = c1
EOF
it_start b -n b -f "$IT_TMP/b.conf" --metrics-port "$b_m" --keep-running-on-start-failure
it_wait_listening b 1
wait_metrics b "$b_m"
http_py health 127.0.0.1 "$b_m" 503 b SOURCE.r2,CHANNEL.c1,SINK.k1 SOURCE.r1,SINK.k2
it_stop b

# ---- Flume's command line: -D options
d_in=$(it_free_port)
d_m=$(it_free_port)
simple_conf "$IT_TMP/d.conf" d "$d_in"
it_start d -n d -f "$IT_TMP/d.conf" -Dflume.monitoring.type=http "-Dflume.monitoring.port=$d_m" \
  -Dflume.root.logger=DEBUG,console -Dfoo=bar
wait_metrics d "$d_m"
http_py health 127.0.0.1 "$d_m" 200 d SOURCE.r1,CHANNEL.c1,SINK.k1 ""
it_assert_eq "one warning naming the unknown -Dfoo" 1 "$(it_count "$IT_TMP/d.log" ' WARN .*foo')"
it_assert_no_grep "known -D options are not warned about" "$IT_TMP/d.log" ' WARN .*flume\.(monitoring|root)'
it_assert_grep "-Dflume.root.logger=DEBUG,console sets the level" "$IT_TMP/d.log" '^[^ ]+ DEBUG '
it_stop d

# ---- configuration keys, and the precedence --metrics-* > -D > configuration
k_in=$(it_free_port)
k_m=$(it_free_port)
k_m2=$(it_free_port)
k_m3=$(it_free_port)
simple_conf "$IT_TMP/k.conf" k "$k_in" "k.monitoring.type = http" "k.monitoring.port = $k_m" \
  "k.monitoring.summary-interval = 1"
it_run_expect k-check 0 --check -n k -f "$IT_TMP/k.conf"
it_assert_grep "monitoring keys pass --check" "$IT_TMP/k-check.out" 'agent k: 0 problem'
it_start k1 -n k -f "$IT_TMP/k.conf"
wait_metrics k1 "$k_m"
http_py health 127.0.0.1 "$k_m" 200 k SOURCE.r1,CHANNEL.c1,SINK.k1 ""
it_wait_log k1 'INFO +\[monitoring\] summary interval_s=1 ' 1 5
it_stop k1
it_start k2 -n k -f "$IT_TMP/k.conf" -Dflume.monitoring.type=http "-Dflume.monitoring.port=$k_m2"
wait_metrics k2 "$k_m2"
http_py health 127.0.0.1 "$k_m2" 200 k SOURCE.r1,CHANNEL.c1,SINK.k1 ""
it_assert_eq "-D beats the configuration" 1 "$(it_count "$IT_TMP/k2.log" '\[monitoring:http\] listening')"
it_stop k2
it_start k3 -n k -f "$IT_TMP/k.conf" -Dflume.monitoring.type=http "-Dflume.monitoring.port=$k_m2" \
  --metrics-port "$k_m3"
wait_metrics k3 "$k_m3"
http_py health 127.0.0.1 "$k_m3" 200 k SOURCE.r1,CHANNEL.c1,SINK.k1 ""
it_assert_eq "--metrics-port beats -D" 1 "$(it_count "$IT_TMP/k3.log" '\[monitoring:http\] listening')"
it_stop k3

# ---- --metrics-port 0 (the OS picks) and --metrics-bind
z_in=$(it_free_port)
simple_conf "$IT_TMP/z.conf" z "$z_in"
it_start z -n z -f "$IT_TMP/z.conf" --metrics-port 0 --metrics-bind 127.0.0.2
wait_metrics z '[1-9][0-9]*' '127\.0\.0\.2'
z_m=$(sed -n 's/.*\[monitoring:http\] listening bind=127\.0\.0\.2 port=\([0-9]*\).*/\1/p' "$IT_TMP/z.log" | head -n 1)
http_py health 127.0.0.2 "$z_m" 200 z SOURCE.r1,CHANNEL.c1,SINK.k1 ""
it_stop z

# ---- a metrics port in use: exit 1, naming the address
it_run_expect busy 1 -n z -f "$IT_TMP/z.conf" --metrics-port "$a_m"
it_assert_grep "the busy metrics address is named" "$IT_TMP/busy.log" " ERROR .*127\.0\.0\.1.*[^0-9]$a_m([^0-9]|$)"

# ---- agent a's summary lines: the right form, adding up to what was relayed
it_wait_log a 'INFO +\[monitoring\] summary ' "$(($(it_count "$IT_TMP/a.log" '\[monitoring\] summary ') + 1))" 5
sum_re='INFO +\[monitoring\] summary interval_s=1 in_per_s=[0-9]+(\.[0-9]+)? out_per_s=[0-9]+(\.[0-9]+)?'
sum_re+=' fill=c1:[0-9]+(\.[0-9]+)?% failures=[0-9]+( [a-z_]+=[^ ]+)*$' # more key=value may follow
grep '\[monitoring\] summary' "$IT_TMP/a.log" >"$IT_TMP/summary.lines"
if grep -vE -- "$sum_re" "$IT_TMP/summary.lines"; then
  it_fail "the summary lines above do not have the documented form"
fi
it_assert_no_grep "no failures counted" "$IT_TMP/summary.lines" 'failures=[1-9]'
totals=$(sed -E 's/.*in_per_s=([0-9.]+) out_per_s=([0-9.]+).*/\1 \2/' "$IT_TMP/summary.lines" \
  | awk '{ i += $1; o += $2 } END { printf "%d %d\n", i + 0.5, o + 0.5 }')
it_log "summary lines ($(wc -l <"$IT_TMP/summary.lines")): in+out totals $totals, relayed $N"
read -r sum_in sum_out <<<"$totals"
for v in "$sum_in" "$sum_out"; do
  if [ $((v * 100)) -lt $((N * 97)) ] || [ $((v * 100)) -gt $((N * 103)) ]; then
    it_fail "summary totals in=$sum_in out=$sum_out, expected $N (within 3%)"
  fi
done

# ---- the slow clients: dropped about 10 s after they connected, without disturbing anything above
avro_bg_wait "$slow_pid" 25
cat "$IT_TMP/slow.out"
[ "$AVRO_BG_STATUS" -eq 0 ] || it_fail "slow clients (see above)"
http_py health 127.0.0.1 "$a_m" 200 a SOURCE.r1,CHANNEL.c1,SINK.k1 ""
it_stop a
it_seqcheck --count "$N" "$out"
echo "PASS: $IT_NAME"
