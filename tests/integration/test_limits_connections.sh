#!/usr/bin/env bash
# test_limits_connections.sh - max-connections on every TCP source (issue 16, resource limits).
#
# One agent with an avro, a thrift, an http, a syslogtcp and a netcat source, each with max-connections = 2.
# Against each, tests/tools/limits_peer.py maxconn holds two idle connections and opens a third, which must be
# closed at once (within 10 s) while the two stay open; once they close, two new ones are served again. Each
# source logs one "refusing connection ... limit=2 (max-connections)" line and counts the refusal in
# ConnectionRefusedCount (the monitoring endpoint's /metrics).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PEER="$IT_TOOLS/limits_peer.py"
declare -A PORT
for s in a t h s n; do PORT[$s]=$(it_free_port); done
pm=$(it_free_port)
cat >"$IT_TMP/m.conf" <<CONF
m.sources = a t h s n
m.channels = c1
m.sinks = k1
m.sources.a.type = avro
m.sources.a.bind = 127.0.0.1
m.sources.a.port = ${PORT[a]}
m.sources.t.type = thrift
m.sources.t.bind = 127.0.0.1
m.sources.t.port = ${PORT[t]}
m.sources.h.type = http
m.sources.h.bind = 127.0.0.1
m.sources.h.port = ${PORT[h]}
m.sources.s.type = syslogtcp
m.sources.s.host = 127.0.0.1
m.sources.s.port = ${PORT[s]}
m.sources.n.type = netcat
m.sources.n.bind = 127.0.0.1
m.sources.n.port = ${PORT[n]}
m.channels.c1.type = memory
m.sinks.k1.type = null
m.sinks.k1.channel = c1
CONF
for s in a t h s n; do
  printf 'm.sources.%s.channels = c1\nm.sources.%s.max-connections = 2\n' "$s" "$s" >>"$IT_TMP/m.conf"
done
it_start m -n m -f "$IT_TMP/m.conf" --metrics-port "$pm"
it_wait_listening m 5

for s in a t h s n; do
  out=$("$PY" "$PEER" maxconn "${PORT[$s]}" 2 2>&1) || it_fail "source $s: $out"
  it_log "source $s: $out"
  [[ "$out" == kept=2\ *reopened=2 ]] || it_fail "source $s: $out (expected kept=2 ... reopened=2)"
  it_assert_grep "source $s: one line saying why" "$IT_TMP/m.log" \
    "WARN +\[source:[a-z_]+:$s\] refusing connection peer=127\.0\.0\.1:[0-9]+ limit=2 \(max-connections\)"
done

curl -sS "http://127.0.0.1:$pm/metrics" >"$IT_TMP/metrics.json" || it_fail "no /metrics"
for s in a t h s n; do
  n=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["SOURCE." + sys.argv[2]]["ConnectionRefusedCount"])' \
    "$IT_TMP/metrics.json" "$s")
  [ "$n" = 1 ] || it_fail "source $s: ConnectionRefusedCount=$n, expected 1"
done
it_stop m
