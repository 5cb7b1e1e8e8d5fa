#!/usr/bin/env bash
# test_syslog.sh - the syslog sources with clients we did not write: util-linux logger (TCP, UDP, RFC 3164,
# RFC 5424, octet counting), Python's logging.handlers.SysLogHandler (UDP, and TCP where records end with
# NUL) and rsyslogd (omfwd over TCP, octet-counted RFC 5424 to syslogtcp and newline-framed RFC 3164 to
# multiport_syslogtcp). Every event's headers are checked against the RFC fields of its message (Facility,
# Severity, version, host, timestamp near now, client IP, port header); malformed, oversized and truncated
# messages arrive marked Invalid / Incomplete, with no byte lost; a per-port charset keeps the bytes.
# multiport_syslogtcp gives Flume's SyslogParser headers (Priority, Version; Invalid without Facility); Flume's
# format.* custom format on syslogtcp and syslogudp reads its timestamp with format.dateFormat.
# Abuse (issue 16): hostile peers on syslogtcp and multiport (truncated and oversized messages, octet-count
# lies, invalid UTF-8, garbage, the fuzz corpus, a slow client) are marked and counted with a rate-limited
# warning, and the next client is served after each. Meanwhile a second agent shows backpressure: its channel
# is full (file_roll cannot write), the syslogtcp source stops reading, and once the sink recovers every line
# arrives exactly once. --check reports bad keys (format.dateFormat letters, format.search without replace).
. "$(dirname "$0")/lib.sh"
# multiport reads RFC 3164 stamps as UTC (Flume's SyslogParser) while senders write local time: one zone
export TZ=UTC

command -v logger >/dev/null || it_skip "util-linux logger is not installed"
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || it_skip "rsyslogd is not installed"
PY=/usr/bin/python3
EV="$IT_TOOLS/syslog_events.py"

# six distinct free ports in one interpreter start
read -r port_b port_t port_u port_m1 port_m2 port_rs < <($PY -c 'import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')

# ---- (b) backpressure: started first, it waits out the file_roll sink's pause after a failure ----
N=$(it_scaled 20000)
out_b="$IT_TMP/out_b"
cat >"$IT_TMP/b.conf" <<EOF
b.sources = r1
b.channels = c1
b.sinks = k1
b.sources.r1.type = syslogtcp
b.sources.r1.host = 127.0.0.1
b.sources.r1.port = $port_b
b.sources.r1.channels = c1
b.channels.c1.type = memory
b.channels.c1.capacity = 100
b.channels.c1.transactionCapacity = 100
b.channels.c1.keep-alive = 1
b.sinks.k1.type = file_roll
b.sinks.k1.channel = c1
b.sinks.k1.sink.directory = $out_b
b.sinks.k1.sink.rollInterval = 0
b.sinks.k1.sink.batchSize = 100
EOF
mkdir -p "$out_b"
it_start b -n b -f "$IT_TMP/b.conf"
it_wait_listening b 1
rmdir "$out_b" # file_roll opens its file lazily: now it cannot write, and the channel fills
$PY "$EV" flood 127.0.0.1 "$port_b" "$N" &
flood_pid=$!

# ---- (a) clients and headers ----
cat >"$IT_TMP/a.conf" <<EOF
a.sources = t u m
a.channels = c1
a.sinks = k1
a.sources.t.type = syslogtcp
a.sources.t.host = 127.0.0.1
a.sources.t.port = $port_t
a.sources.t.eventSize = 200
a.sources.t.clientIPHeader = ip
a.sources.t.channels = c1
a.sources.u.type = org.apache.flume.source.SyslogUDPSource
a.sources.u.host = 127.0.0.1
a.sources.u.port = $port_u
a.sources.u.channels = c1
a.sources.m.type = multiport_syslogtcp
a.sources.m.host = 127.0.0.1
a.sources.m.ports = $port_m1 $port_m2
a.sources.m.portHeader = port
a.sources.m.charset.port.$port_m2 = ISO-8859-1
a.sources.m.channels = c1
a.channels.c1.type = memory
a.channels.c1.capacity = 10000
a.sinks.k1.type = logger
a.sinks.k1.maxBytesToLog = 1024
a.sinks.k1.channel = c1
EOF
# Flume's custom format on syslogtcp and syslogudp (backslashes doubled, as Java properties files want)
for s in t u; do
  cat >>"$IT_TMP/a.conf" <<'EOF'
a.sources.S.format.regex = <(\\d{1,3})>()(\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d) (\\S+) (.*)
a.sources.S.format.search = (\\d+)/(\\d+)/(\\d+)
a.sources.S.format.replace = $1-$2-$3
a.sources.S.format.dateFormat = yyyy-MM-dd HH:mm:ss
EOF
  sed -i "s/^a\.sources\.S\./a.sources.$s./" "$IT_TMP/a.conf"
done
a_start=$(it_now_ms)
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_listening a 4

mkdir -p "$IT_TMP/rs"
cat >"$IT_TMP/rsyslog.conf" <<EOF
global(workDirectory="$IT_TMP/rs")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$port_rs")
*.* action(type="omfwd" target="127.0.0.1" port="$port_t" protocol="tcp" TCP_Framing="octet-counted"
           template="RSYSLOG_SyslogProtocol23Format")
*.* action(type="omfwd" target="127.0.0.1" port="$port_m1" protocol="tcp")
EOF
"$RSYSLOGD" -n -f "$IT_TMP/rsyslog.conf" -i "$IT_TMP/rsyslog.pid" >"$IT_TMP/rsyslog.log" 2>&1 &
rs_pid=$!
trap 'rc=$?; kill $rs_pid $flood_pid 2>/dev/null; (exit $rc); _it_cleanup' EXIT

L=(logger -n 127.0.0.1)
"${L[@]}" --tcp -P "$port_t" --rfc5424 -t app1 --msgid ID47 -p local4.notice "m1 tcp rfc5424"
"${L[@]}" --tcp -P "$port_t" --rfc3164 -t app2 -p user.err "m2 tcp rfc3164"
"${L[@]}" --tcp -P "$port_t" --rfc5424 --octet-count -t app3 -p daemon.warning "m3 tcp octet-counted"
"${L[@]}" --udp -P "$port_u" --rfc5424 -t app4 -p local0.info "m4 udp rfc5424"
"${L[@]}" --udp -P "$port_u" --rfc3164 -t app5 -p mail.crit "m5 udp rfc3164"
$PY "$EV" pylog udp 127.0.0.1 "$port_u" "m6 python udp"
$PY "$EV" pylog tcp 127.0.0.1 "$port_t" "m7 python tcp 1" "m7 python tcp 2" "m7 python tcp 3"
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
big="<13>$(printf 'a%.0s' $(seq 496))"
$PY "$EV" raw 127.0.0.1 "$port_t" "$(hex "no priority here
<abc>bad priority
$big
<13>1 - h app - - - after the big one
30 <13>1 - h trunc")"
$PY "$EV" raw 127.0.0.1 "$port_m2" "$(hex "<13>1 - h app - - - caf")e90a"
$PY "$EV" raw 127.0.0.1 "$port_m1" "$(hex "<13>1 - h app - - - not utf8 ")ff0a" # Invalid on a UTF-8 port
$PY "$EV" raw 127.0.0.1 "$port_t" "$(hex "<14>2026/07/01 12:30:00 fmthost custom tcp body
")"
printf '<15>2026/07/01 12:30:00 fmthost custom udp body' >/dev/udp/127.0.0.1/"$port_u"
# rsyslog forwards what it receives on UDP, once its port is open (binding it ourselves then fails)
deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
while $PY -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(('127.0.0.1', $port_rs))" \
  2>/dev/null; do
  kill -0 $rs_pid 2>/dev/null || { cat "$IT_TMP/rsyslog.log"; it_fail "rsyslogd exited"; }
  [ "$(it_now_ms)" -le "$deadline" ] || it_fail "rsyslogd did not open its UDP port"
  sleep 0.1
done
"${L[@]}" --udp -P "$port_rs" --rfc3164 -t app8 -p local2.err "m8 via rsyslog"
it_wait_log a 'Facility=18, Severity=3' 2
it_wait_log a ' trunc }'
it_wait_log a ' cp 3 }'
it_wait_log a 'Facility=2, Severity=2'
kill "$rs_pid" 2>/dev/null
sleep 0.3

$PY "$EV" dump "$IT_TMP/a.log" >"$IT_TMP/events.json"
$PY - "$IT_TMP/events.json" "$(hostname)" "$(it_now_ms)" "$port_m1" "$port_m2" <<'PY' || it_fail "headers"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
host, now, pm1, pm2 = sys.argv[2].split(".")[0], int(sys.argv[3]), sys.argv[4], sys.argv[5]
bad = []
def one(pred, what, n=1):
    got = [e for e in evs if pred(e)]
    if len(got) != n:
        bad.append("%s: %d events, expected %d" % (what, len(got), n))
    return got
def expect(e, what, **want):
    for k, v in want.items():
        k = k.replace("_", ".")
        if e["h"].get(k) != v:
            bad.append("%s: header %s=%r, expected %r (%r)" % (what, k, e["h"].get(k), v, e))
def near_now(e, what):
    ts = int(e["h"].get("timestamp", "0"))
    if abs(ts - now) > 120000:
        bad.append("%s: timestamp %d not near %d" % (what, ts, now))
def host_ok(e, what):
    if not e["h"].get("host", "").startswith(host):
        bad.append("%s: host %r, expected %r" % (what, e["h"].get("host"), host))
for body_end, fac, sev, ver, what in [("m1 tcp rfc5424", "20", "5", "1", "logger tcp 5424"),
                                      ("m2 tcp rfc3164", "1", "3", None, "logger tcp 3164"),
                                      ("m3 tcp octet-counted", "3", "4", "1", "logger octet-count"),
                                      ("m4 udp rfc5424", "16", "6", "1", "logger udp 5424"),
                                      ("m5 udp rfc3164", "2", "2", None, "logger udp 3164")]:
    for e in one(lambda e: e["b"].endswith(body_end), what):
        expect(e, what, Facility=fac, Severity=sev, version=ver, flume_syslog_status=None)
        near_now(e, what)
        host_ok(e, what)
        if "tcp" in what or "octet" in what:
            expect(e, what, ip="127.0.0.1")
for e in one(lambda e: e["b"].endswith("m1 tcp rfc5424"), "5424 body"):
    if not e["b"].startswith("app1 ") or " ID47 " not in e["b"]:
        bad.append("5424 body keeps APP-NAME, MSGID and structured data: %r" % e["b"])
for e in one(lambda e: e["b"].endswith("m2 tcp rfc3164"), "3164 body"):
    if e["b"] != "app2: m2 tcp rfc3164":
        bad.append("3164 body: %r" % e["b"])
# Python's SysLogHandler: "<140>msg\0" (local1.warning), no timestamp or host: Flume keeps the raw message
for e in one(lambda e: e["b"] == "<140>m6 python udp", "python udp"):
    expect(e, "python udp", Facility="17", Severity="4", flume_syslog_status=None, timestamp=None)
for i in (1, 2, 3):
    for e in one(lambda e: e["b"] == "<140>m7 python tcp %d" % i, "python tcp %d (NUL-framed)" % i):
        expect(e, "python tcp", Facility="17", Severity="4", ip="127.0.0.1")
# rsyslog: octet-counted RFC 5424 to syslogtcp, traditional (RFC 3164) to multiport port 1
for e in one(lambda e: "m8 via rsyslog" in e["b"] and "port" not in e["h"], "rsyslog -> syslogtcp"):
    expect(e, "rsyslog 5424", Facility="18", Severity="3", version="1", flume_syslog_status=None)
    near_now(e, "rsyslog 5424")
for e in one(lambda e: "m8 via rsyslog" in e["b"] and "port" in e["h"], "rsyslog -> multiport"):
    expect(e, "rsyslog 3164", Facility="18", Severity="3", Priority="147", port=pm1, flume_syslog_status=None,
           priority=None)
    near_now(e, "rsyslog 3164")
# malformed, oversized, truncated: marked, nothing lost
for b in ("no priority here", "<abc>bad priority"):
    for e in one(lambda e: e["b"] == b, "invalid %r" % b):
        expect(e, "invalid", Facility="0", Severity="0", flume_syslog_status="Invalid")
big = [e for e in evs if e["b"].strip("a") in ("", "<13>")]
if sum(e["b"].count("a") for e in big) != 496 or len(big) != 3:
    bad.append("oversized line: %r" % [(len(e["b"]), e["h"].get("flume.syslog.status")) for e in big])
else:
    if [e["h"].get("flume.syslog.status") for e in big] != ["Incomplete", "Invalid", "Invalid"]:
        bad.append("oversized line statuses: %r" % [e["h"] for e in big])
    if len(big[0]["b"]) != 200:
        bad.append("oversized line cut at %d, expected eventSize 200" % len(big[0]["b"]))
for e in one(lambda e: e["b"] == "app - - - after the big one", "line after the big one"):
    expect(e, "after", flume_syslog_status=None, host="h")
for e in one(lambda e: e["b"] == "trunc", "truncated octet-counted frame"):
    expect(e, "truncated", flume_syslog_status="Incomplete", host="h", Severity="5")
for e in one(lambda e: e["b"] == "app - - - caf\xe9", "ISO-8859-1 port keeps the bytes"):
    expect(e, "charset", port=pm2, Priority="13", Version="1", host="h", priority=None, version=None)
for e in one(lambda e: e["b"] == "<13>1 - h app - - - not utf8 \xff", "invalid UTF-8 on a UTF-8 port"):
    expect(e, "not utf8", port=pm1, flume_syslog_status="Invalid", Facility=None, Priority=None)
# format.*: the date read with format.dateFormat after search/replace, in local time
import time
stamp = str(int(time.mktime((2026, 7, 1, 12, 30, 0, 0, 0, -1))) * 1000)
for proto, sev in (("tcp", "6"), ("udp", "7")):
    for e in one(lambda e: e["b"] == "custom %s body" % proto, "format.* on %s" % proto):
        expect(e, "format " + proto, Facility="1", Severity=sev, priority=str(8 + int(sev)), host="fmthost",
               timestamp=stamp, version=None, flume_syslog_status=None)
if bad:
    print("\n".join(bad))
    sys.exit(1)
print("checked %d events" % len(evs))
PY

# ---- abuse (issue 16): hostile peers and fuzzer inputs on syslogtcp and multiport, datagrams on syslogudp ----
for target in "$port_t tcp" "$port_m1 multiport" "$port_u udp"; do
  set -- $target
  timeout -k 2 120 $PY "$EV" abuse 127.0.0.1 "$1" "$IT_TMP/a.log" "$TOP_SRCDIR/tests/fuzz/corpus/fuzz_syslog" "$2" \
    >"$IT_TMP/abuse.out" 2>&1 || { cat "$IT_TMP/abuse.out"; it_fail "syslog abuse on port $1"; }
  cat "$IT_TMP/abuse.out"
  eval "n_$2=\$(sed -n 's/^$2 clients: //p' \"\$IT_TMP/abuse.out\")"
done
it_alive a || it_fail "relayd died under abuse"
$PY "$EV" dump "$IT_TMP/a.log" >"$IT_TMP/events.json"
$PY - "$IT_TMP/events.json" "$n_tcp" "$n_multiport" "$n_udp" <<'PY' || it_fail "abuse events"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
bad = []
for name, count in (("tcp", sys.argv[2]), ("multiport", sys.argv[3]), ("udp", sys.argv[4])):
    for i in range(1, int(count) + 1):
        n = sum(e["b"].endswith("%s-%03d" % (name, i)) for e in evs)
        if n != 1 and not (name == "udp" and n > 1):  # a datagram is sent again until it is seen
            bad.append("%s-%03d arrived %d times" % (name, i, n))
def status(part, multiport):  # syslogtcp's events have the header ip, multiport's port, syslogudp's neither
    key = "port" if multiport else "ip"
    return [e["h"].get("flume.syslog.status") for e in evs if part in e["b"] and key in e["h"]]
for part, want, want_m in [("abuse-truncated", "Incomplete", "Incomplete"),
                           ("abuse-count-long", "Incomplete", "Incomplete"),
                           ("abuse-huge", "Incomplete", "Incomplete"), ("abuse-slow", None, None),
                           ("abuse-utf8 \xff\xfe\xc3(", None, "Invalid")]:
    for multiport, w in ((False, want), (True, want_m)):
        if status(part, multiport) != [w]:
            bad.append("%s (multiport %s): statuses %r, expected %r" % (part, multiport, status(part, multiport), w))
zs = [e for e in evs if e["b"].startswith("<13>zzz") and "port" not in e["h"]]
if [e["h"].get("flume.syslog.status") for e in zs] != ["Incomplete"] or len(zs[0]["b"]) != 200:
    bad.append("oversized line: %r" % [(len(e["b"]), e["h"]) for e in zs])
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
# each marked message counted, its warning rate-limited (5 per 10 s window since a started)
marked=$(it_count "$IT_TMP/a.log" 'source:syslogtcp:t\] message marked')
windows=$((($(it_now_ms) - a_start) / 10000 + 2))
[ "$marked" -ge 1 ] && [ "$marked" -le $((5 * windows)) ] || it_fail "$marked 'message marked' lines: not rate-limited"

kill -USR1 "$(it_pid a)"
it_wait_log a 'source:syslogtcp:t\] counters'
read_fail=$(sed -n 's/.*source:syslogtcp:t\] counters .*EventReadFail=\([0-9]*\).*/\1/p' "$IT_TMP/a.log" | tail -1)
# at least: 6 from the first checks, 4 cut by the abuse cases (truncated, oversized, two octet-count lies)
[ "${read_fail:-0}" -ge 10 ] && [ "$read_fail" -gt "$marked" ] ||
  it_fail "EventReadFail=$read_fail does not count the marked messages ($marked warning lines)"
it_log "abuse: $marked warning lines, EventReadFail=$read_fail"
it_log "a checked at $(it_now_ms)"
it_stop a

# ---- (b) continued: the channel was full, nothing may be lost ----
it_wait_log b 'put to required channel failed'
it_assert_eq "the source stopped reading (bounded buffers)" "0" "$(find "$out_b" -type f 2>/dev/null | wc -l)"
it_log "b sink back at $(it_now_ms)"
mkdir -p "$out_b"
it_wait_lines "$out_b" "$N" 30 b
wait "$flood_pid" || it_fail "the flood client failed"
lines=$(it_cat_dir "$out_b" | sort -u | wc -l)
it_assert_eq "every line exactly once" "$N" "$lines"
it_assert_eq "no duplicates" "$N" "$(it_lines "$out_b")"
it_log "b done at $(it_now_ms)"
it_stop b

# ---- --check knows the keys and their ranges ----
cat >"$IT_TMP/bad.conf" <<EOF
c.sources = m u
c.channels = c1
c.sinks = k1
c.sources.m.type = multiport_syslogtcp
c.sources.m.ports = 1514 70000
c.sources.m.eventSiz = 10
c.sources.m.channels = c1
c.sources.u.type = syslogudp
c.sources.u.port = 1515
c.sources.u.channels = c1
c.sources.u.eventSize = 100
c.channels.c1.type = memory
c.sinks.k1.type = null
c.sinks.k1.channel = c1
EOF
it_run_expect check 1 --check -n c -f "$IT_TMP/bad.conf"
it_assert_grep "port out of range" "$IT_TMP/check.out" "ports: '70000' is not a port"
it_assert_grep "unknown key suggestion" "$IT_TMP/check.out" "eventSiz.*did you mean eventSize"
sed -i 's/1514 70000/1514/; s/multiport_syslogtcp/multiport_syslogtcp\nc.sources.m.charset.default = UTF-16/' \
  "$IT_TMP/bad.conf"
it_run_expect check 1 --check -n c -f "$IT_TMP/bad.conf"
it_assert_grep "charset that is not ASCII-compatible" "$IT_TMP/check.out" "charset.default: .*UTF-16"
sed -i 's/^c.sources.m.charset.default.*//' "$IT_TMP/bad.conf"
cat >>"$IT_TMP/bad.conf" <<'EOF'
c.sources.u.format.regex = <(\\d+)>(.*)
c.sources.u.format.dateFormat = YYYY-MM-dd
EOF
it_run_expect check 1 --check -n c -f "$IT_TMP/bad.conf"
it_assert_grep "dateFormat letter refused with file:line:component:key" "$IT_TMP/check.out" \
  "bad.conf:[0-9]*: sources.u: format.dateFormat: pattern letter 'Y' .week year. is not supported"
sed -i 's/^c.sources.u.format.dateFormat.*/c.sources.u.format.search = x/' "$IT_TMP/bad.conf"
it_run_expect check 1 --check -n c -f "$IT_TMP/bad.conf"
it_assert_grep "search without replace" "$IT_TMP/check.out" "sources.u: format.search: needs format.replace"
exit 0
