#!/usr/bin/env bash
# test_flume_ng.sh - the flume-ng launcher (issue 15) runs a small chain with the command lines of Flume's
# user guide: `flume-ng agent -n NAME -c conf -f FILE`, `flume-ng agent --conf conf --conf-file FILE --name
# NAME -Dflume.root.logger=INFO,console`, `-Dflume.monitoring.type=http -Dflume.monitoring.port=PORT`, then
# `flume-ng avro-client -H localhost -p PORT -F FILE`; every line arrives, /metrics counts it, Java-only
# options are named as ignored, ZooKeeper options are refused, `flume-ng version` answers.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

FLUME_NG="$TOP_BUILDDIR/dist/flume-ng"
[ -x "$FLUME_NG" ] || it_fail "$FLUME_NG is missing (make builds it)"
export RELAY_SEND="$TOP_BUILDDIR/src/relay-send" # RELAYD (the build's relayd) is exported by make check

# fng_start NAME ARGS...: flume-ng in the background (it execs relayd, so the pid is relayd's).
fng_start() {
  local name=$1
  shift
  (cd "$IT_TMP" && exec "$FLUME_NG" "$@") >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.log" </dev/null &
  IT_PIDS[$name]=$!
  it_log "started $name (pid ${IT_PIDS[$name]}): flume-ng $*"
}

edge_port=$(it_free_port)
col_port=$(it_free_port)
mon_port=$(it_free_port)
mkdir -p "$IT_TMP/conf"
avro_collector_conf "$IT_TMP/conf/collector.conf" collector "$col_port" "$IT_TMP/out"
avro_edge_conf "$IT_TMP/conf/example.conf" a1 "$edge_port" "$col_port"

fng_start collector agent -n collector -c conf -f conf/collector.conf -C /opt/flume/lib/extra.jar -Xmx512m
it_wait_listening collector 1
it_assert_grep "-C is named as ignored" "$IT_TMP/collector.log" '^flume-ng: ignoring -C /opt/flume/lib/extra.jar'
it_assert_grep "-X is named as ignored" "$IT_TMP/collector.log" '^flume-ng: ignoring -Xmx512m'
it_assert_grep "-c: no flume-env.sh" "$IT_TMP/collector.log" 'reads no flume-env.sh'
fng_start a1 agent --conf conf --conf-file conf/example.conf --name a1 -Dflume.root.logger=INFO,console \
  -Dflume.monitoring.type=http -Dflume.monitoring.port="$mon_port"
it_wait_listening a1 1
it_wait_port a1 "$mon_port"

seq 1 500 | sed 's/^/line-/' >"$IT_TMP/log.10"
(cd "$IT_TMP" && "$FLUME_NG" avro-client -H localhost -p "$edge_port" -F log.10) >"$IT_TMP/client.out" 2>&1 ||
  { cat "$IT_TMP/client.out"; it_fail "flume-ng avro-client failed"; }
it_wait_lines "$IT_TMP/out" 500 20 collector
it_assert_eq "every line arrived once, in order" "$(cat "$IT_TMP/log.10")" "$(it_cat_dir "$IT_TMP/out")"
"$PYTHON" - "$mon_port" <<'PY' || it_fail "/metrics of a1 does not count 500 events"
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
m = json.load(opener.open("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10))
sys.exit(0 if m["SOURCE.r1"]["EventAcceptedCount"] == "500" else 1)
PY
it_stop a1
it_stop collector

# Refused and informational commands.
"$FLUME_NG" agent -n a1 -f "$IT_TMP/conf/example.conf" -z zk1:2181 -p /flume >"$IT_TMP/zk.out" 2>&1 && it_fail "ZooKeeper accepted"
it_assert_grep "ZooKeeper refused" "$IT_TMP/zk.out" 'not from ZooKeeper'
"$FLUME_NG" avro-client --rpcProps rpc.properties >"$IT_TMP/rpc.out" 2>&1 && it_fail "--rpcProps accepted"
"$FLUME_NG" version >"$IT_TMP/version.out" 2>&1 || it_fail "flume-ng version failed"
it_assert_grep "version" "$IT_TMP/version.out" '^relayd [0-9]+\.[0-9]+'
"$FLUME_NG" help | grep -q 'avro-client' || it_fail "flume-ng help"
"$FLUME_NG" agent -d -n a1 -c conf -f a1.conf -Dx=y >"$IT_TMP/dry.out" || it_fail "--dryrun"
it_assert_eq "--dryrun prints the command" "$RELAYD -n a1 -c conf -f a1.conf -Dx=y" "$(cat "$IT_TMP/dry.out")"
