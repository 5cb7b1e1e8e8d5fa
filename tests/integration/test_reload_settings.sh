#!/usr/bin/env bash
# test_reload_settings.sh - what a live reload changes besides components (issue 14), and Flume's
# -Dflume.called.from.service.
# 1. monitoring.port, monitoring.summary-interval and memory.limit follow a reload; the endpoint moves to the
#    new port (the old one closes) while r1 (unchanged) keeps its client's connection. The log.* keys too:
#    level debug and target syslog (a socket of the test) apply at once, and removing them brings the log
#    back to stderr at info.
# 2. A reload whose endpoint cannot listen (its port is taken) is refused: the endpoint stays where it was
#    and the sink change of the same reload is not applied.
# 3. -Dflume.monitoring.port still wins over the file after a reload, as at start; a -D relayd does not use
#    (a warning at start) does not refuse reloads.
# 4. -Dflume.called.from.service: a missing configuration file does not stop the start; relayd waits and
#    runs the agent once the file appears (the file poll). Without it a missing file exits 1.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/reload_lib.sh"
. "$IT_DIR/dgram_lib.sh"

P=$(it_free_port)
M1=$(it_free_port)
M2=$(it_free_port)
MD=$(it_free_port)
CONF="$IT_TMP/a.conf"
log="$IT_TMP/a.log"

# a_conf MONITORING_PORT SUMMARY_S BATCH [EXTRA LINE]: avro r1 -> memory c1 -> null k1, in one rename.
a_conf() {
  {
    avro_conf_source a "$P"
    avro_conf_memory a 10000 1000
    printf '%s\n' "a.sinks.k1.type = null" "a.sinks.k1.channel = c1" "a.sinks.k1.batchSize = $3" \
      "a.monitoring.type = http" "a.monitoring.port = $1" "a.monitoring.summary-interval = $2"
    [ $# -ge 4 ] && echo "$4"
  } >"$CONF.new"
  mv "$CONF.new" "$CONF"
}
serves() { "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5)' "$1" 2>/dev/null; }
conns() { ss -Htn state established "( dport = :$P )" | awk '{print $3}' | sort | tr '\n' ' '; }

# ---- 1. monitoring and memory.limit follow a reload ----
a_conf "$M1" 0 100
it_start a -n a -f "$CONF" -i 0
it_wait_listening a 1
serves "$M1" || it_fail "no endpoint on $M1"
dgram_listen syslog "$IT_TMP/syslog.sock" # (before fd 7 opens: it must not hold the fifo open)
sys="$IT_TMP/syslog.jsonl"
# a client that keeps its connection to r1 across the reloads
mkfifo "$IT_TMP/numbers"
timeout -k 5 60 "$AVRO_SEND" -H "127.0.0.1:$P" -b 10 -F "$IT_TMP/numbers" 2>"$IT_TMP/send.log" &
SEND_PID=$!
exec 7>"$IT_TMP/numbers"
seq 0 99 >&7
deadline=$(($(it_now_ms) + 10000))
until [ -n "$(conns)" ]; do [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "relay-send did not connect"; sleep 0.05; done
conn=$(conns)
a_conf "$M2" 1 100 "$(printf '%s\n' 'a.memory.limit = 64m' 'a.log.level = debug' 'a.log.target = syslog' \
  'a.log.facility = local3' "a.log.socket = $IT_TMP/syslog.sock")"
reload_hup a 'reload: logging to syslog from now on \(log.target stderr -> syslog, facility 3 -> 19'
it_assert_grep "level change logged" "$log" 'reload: log.level INFO -> DEBUG'
it_assert_grep "r1 kept" "$log" 'kept: source r1, channel c1, sink k1; restarted: none'
serves "$M2" || it_fail "the endpoint did not move to $M2"
! serves "$M1" || it_fail "the endpoint still answers on $M1"
it_assert_grep "summary-interval logged" "$log" 'reload: summary-interval 0 -> 1 s'
dgram_wait "$sys" '<158>.* relayd\[[0-9]+\]: reload: memory.limit 0 -> 67108864 bytes' # local3 (19 x 8) + info (6)
dgram_wait "$sys" 'summary interval_s=1 '
# the log back on stderr and at info (the keys removed) by a reload that restarts k1: its debug lines go to
# syslog (local3 + debug = <159>), the lines after the switch to stderr
a_conf "$M2" 1 150 "a.memory.limit = 64m"
reload_hup a 'reloading TLS certificates'
dgram_wait "$sys" '<159>.*\[sink:null:k1\] runner started'
dgram_wait "$sys" 'reload: log.level DEBUG -> INFO'
dgram_wait "$sys" 'reload: logging to stderr from now on'
n_sys=$(wc -l <"$sys")
it_wait_log a 'summary interval_s=1 ' # the summary line (every second) is back on stderr
it_assert_eq "nothing more to syslog" "$n_sys" "$(wc -l <"$sys")"
[ "$(conns)" = "$conn" ] || it_fail "r1's connection changed: '$conn' -> '$(conns)'"

# ---- 2. an endpoint that cannot listen refuses the whole reload ----
done_before=$(it_count "$log" 'reload of agent a done in')
a_conf "$P" 1 200 "a.memory.limit = 64m"
reload_hup a 'configuration reload refused'
it_assert_grep "endpoint refusal" "$log" "refused, the running configuration stays: the monitoring endpoint cannot start on 127.0.0.1:$P"
serves "$M2" || it_fail "the endpoint left $M2 after a refused reload"
it_assert_eq "k1 was not restarted" "$done_before" "$(it_count "$log" 'reload of agent a done in')"
seq 100 199 >&7
exec 7>&-
wait $SEND_PID || it_fail "relay-send exited $? ($(tail -n 3 "$IT_TMP/send.log"))"
it_stop a

# ---- 3. -D wins over the file after a reload, as at start ----
a_conf "$M1" 0 100
it_start a -n a -f "$CONF" -i 0 -Dflume.monitoring.type=http -Dflume.monitoring.port="$MD" -Duser.timezone=UTC
it_wait_listening a 1
serves "$MD" || it_fail "no endpoint on the -D port $MD"
a_conf "$M2" 0 100
reload_hup a 'reload of agent a done in'
serves "$MD" || it_fail "the endpoint left the -D port after a reload"
! serves "$M2" || it_fail "the file's port won over -Dflume.monitoring.port"
it_stop a

# ---- 4. -Dflume.called.from.service ----
S="$IT_TMP/s.conf"
it_run s -n a -f "$S" -i 1
it_assert_eq "a missing file exits 1 without the property" 1 "$IT_STATUS"
it_start s -n a -f "$S" -i 1 -Dflume.called.from.service
it_wait_log s 'flume.called.from.service: no configuration for agent a in .*s.conf yet; waiting for it \(checked every 1 s, or SIGHUP\)'
it_wait_log s 'agent a runs without components until its configuration appears'
a_conf "$M1" 0 100
mv "$CONF" "$S"
it_wait_log s 'reload of agent a done in .*added: source r1, channel c1, sink k1'
it_wait_port s "$P"
avro_numbers 0 99 | avro_send "$P" -b 10
it_stop s
echo "PASS: $IT_NAME"
