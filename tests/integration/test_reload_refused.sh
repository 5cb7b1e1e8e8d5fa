#!/usr/bin/env bash
# test_reload_refused.sh - live reloads that must not change what runs (issue 14).
#
# relay-send -> col (avro r1 -> memory c1 -> avro sink k1) -> terminal t (avro -> memory -> file_roll).
# 1. A broken file is refused with file:line; the agent goes on.
# 2. A reload whose new r1 cannot start (its port is taken by t) and which also changes k1 is rolled back:
#    the log says why, r1 listens on its old port again, k1 runs with its old settings, /metrics has no
#    component of the failed configuration, systemd gets READY=1 again, and the next reload starts from the
#    running (previous) configuration.
# 3. A reload that shrinks c1 below what it holds is refused, and its events arrive afterwards.
# Every event sent arrives exactly once.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/reload_lib.sh"
. "$IT_DIR/dgram_lib.sh"

PT=$(it_free_port)
P=$(it_free_port)
P2=$(it_free_port)
M=$(it_free_port)
DEAD=$(it_free_port) # nobody listens there
CONF="$IT_TMP/col.conf"
log="$IT_TMP/col.log"
avro_collector_conf "$IT_TMP/t.conf" t "$PT" "$IT_TMP/out"

# col_conf SOURCE_PORT CAPACITY SINK_PORT BATCH [EXTRA LINE]: writes the collector's file in one rename.
col_conf() {
  {
    avro_conf_source col "$1"
    avro_conf_memory col "$2" 1000
    avro_conf_avro_sink col "$3" none "$4"
    [ $# -ge 5 ] && echo "$5"
  } >"$CONF.new"
  mv "$CONF.new" "$CONF"
}



it_start t -n t -f "$IT_TMP/t.conf"
col_conf "$P" 20000 "$PT" 100
dgram_listen notify "$IT_TMP/notify.sock"
NOTIFY_SOCKET="$IT_TMP/notify.sock" it_start col -n col -f "$CONF" -i 0 --metrics-port "$M"
it_wait_listening t 1
it_wait_listening col 1
dgram_wait "$IT_TMP/notify.jsonl" 'READY=1'
avro_numbers 0 999 | avro_send "$P" -b 100 --retry-timeout 20

# ---- 1. a broken file is refused with file:line; everything goes on ----
col_conf "$P" 20000 "$PT" 100 "col.sinks.k1.batch-size = lots"
reload_hup col 'configuration reload refused, the running configuration stays'
it_assert_grep "problem with file:line" "$log" "ERROR .*$CONF:[0-9]+: sinks.k1: batch-size"
avro_numbers 1000 1999 | avro_send "$P" -b 100 --retry-timeout 20
it_wait_lines "$IT_TMP/out" 2000 30

# ---- 2. r1 cannot start on its new port: rolled back ----
col_conf "$PT" 20000 "$PT" 200
reload_hup col 'configuration reload refused'
it_assert_grep "why, with the component" "$log" \
  "configuration reload refused, the running configuration stays: the new configuration cannot start: source r1 cannot start: .*the previous configuration was restored"
it_assert_grep "rollback logged" "$log" 'reload of agent col rolled back in [0-9.]+ ms: would have restarted: source r1, sink k1'
it_assert_no_grep "no reload done" "$log" 'reload of agent col done'
dgram_wait "$IT_TMP/notify.jsonl" 'READY=1' 2
it_assert_grep "RELOADING before the second READY" "$IT_TMP/notify.jsonl" 'RELOADING=1'
it_wait_port col "$P"
[ "$(reload_metric "$M" SOURCE.r1 Type)" = SOURCE ] || it_fail "/metrics has no SOURCE.r1 after the rollback"
[ "$(reload_metric "$M" SINK.k1 Type)" = SINK ] || it_fail "/metrics has no SINK.k1 after the rollback"
"$PYTHON" -c 'import json, sys, urllib.request
h = json.load(urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=5))
sys.exit(0 if h.get("status") == "UP" else 1)' "$M" || it_fail "/health is not UP after the rollback"
avro_numbers 2000 2999 | avro_send "$P" -b 100 --retry-timeout 20
it_wait_lines "$IT_TMP/out" 3000 30
# the running configuration is still the previous one: a reload to it keeps everything
col_conf "$P" 20000 "$PT" 100
reload_hup col 'reload of agent col done in'
it_assert_grep "nothing to restart after the rollback" "$log" 'kept: source r1, channel c1, sink k1; restarted: none; added: none; removed: none'

# ---- 3. a shrink below the content is refused; the events arrive later ----
col_conf "$P" 20000 "$DEAD" 200
reload_hup col 'reload of agent col done in'
avro_numbers 3000 7999 | avro_send "$P" -b 500 --retry-timeout 20
[ "$(reload_metric "$M" CHANNEL.c1 ChannelSize)" -ge 4000 ] || it_fail "c1 should hold the events (size $(reload_metric "$M" CHANNEL.c1 ChannelSize))"
col_conf "$P" 1000 "$DEAD" 200
reload_hup col 'configuration reload refused, .*channel c1 holds [0-9]+ events .*more than the new capacity 1000'
col_conf "$P" 20000 "$PT" 200
reload_hup col 'reload of agent col done in'
avro_expect_numbers "$IT_TMP/out" 8000 60
it_assert_no_grep "no event lost" "$log" 'still in the channel'

it_stop col
it_stop t
echo "PASS: $IT_NAME"
