#!/usr/bin/env bash
# test_reload.sh - live reload (issue 14): only what changed restarts, nothing acknowledged is lost.
#
# relay-send -> collector (avro r1 -> memory c1 -> avro sink k1) -> terminal A or B (avro -> memory ->
# file_roll). relay-send carries N numbered events on one connection while the collector's configuration
# changes 10 times (half by SIGHUP, half by the file poll at -i 1): k1's batch size, k1 retargeted to the
# other terminal and back, a source r2 added and removed, c1 resized up. Checked: every number arrives once
# across both terminals; relay-send's connection to r1 (never changed) is the same socket from start to end;
# r1's and c1's counters count all N (kept objects go on); /metrics follows r2; the log says what each reload
# kept, restarted, added, removed and resized. Refused and rolled-back reloads: test_reload_refused.sh.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/reload_lib.sh"

# 11 chunks of ~27,000 events: each chunk is fed to relay-send in the background, so relay-send carries it
# while the next reload runs (a chunk fed in the foreground made each step wait until most of it had passed
# the chain).
N=$(it_scaled 300000)
PA=$(it_free_port)
PB=$(it_free_port)
P=$(it_free_port)
P2=$(it_free_port)
M=$(it_free_port)
CONF="$IT_TMP/col.conf"

avro_collector_conf "$IT_TMP/ta.conf" t "$PA" "$IT_TMP/outA"
avro_collector_conf "$IT_TMP/tb.conf" t "$PB" "$IT_TMP/outB"

# col_conf CAPACITY SINK_PORT BATCH WITH_R2 [EXTRA LINE]: writes the collector's file in one rename.
col_conf() {
  {
    if [ "$4" = yes ]; then
      avro_conf_source col "$P" | sed 's/^col.sources = r1$/col.sources = r1 r2/'
      cat <<EOF
col.sources.r2.type = avro
col.sources.r2.bind = 127.0.0.1
col.sources.r2.port = $P2
col.sources.r2.channels = c1
EOF
    else
      avro_conf_source col "$P"
    fi
    avro_conf_memory col "$1" 1000
    avro_conf_avro_sink col "$2" none "$3"
    [ $# -ge 5 ] && echo "$5"
  } >"$CONF.new"
  mv "$CONF.new" "$CONF"
}


send_conn() { # the local ports of established connections to r1
  ss -Htn state established "( dport = :$P )" | awk '{print $3}' | sort | tr '\n' ' '
}

arrived() { echo $(($(it_lines "$IT_TMP/outA") + $(it_lines "$IT_TMP/outB"))); }
wait_arrived() { # wait_arrived COUNT TIMEOUT_S: until both terminals hold COUNT lines
  local deadline=$(($(it_now_ms) + $2 * 1000))
  while [ "$(arrived)" -lt "$1" ]; do
    [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "only $(arrived) of $1 events arrived within $2 s"
    sleep 0.1
  done
  sleep 0.3 # late duplicates would show up now
}

log="$IT_TMP/col.log"
hups=0
polls=0
# before_change: the counts of reloads begun by SIGHUP and by the poll, taken before the file changes.
before_change() {
  hups=$(it_count "$log" 'received SIGHUP: reloading')
  polls=$(it_count "$log" 'configuration file changed: reloading')
}
# reload HOW: SIGHUP (hup) or the poll (poll) reloads the changed file; waits until that reload began and
# every reload begun is done. (With hup, the poll may see the change first: the SIGHUP then changes nothing.)
reload() {
  if [ "$1" = hup ]; then
    kill -HUP "$(it_pid col)"
    it_wait_log col 'received SIGHUP: reloading' $((hups + 1))
  else
    it_wait_log col 'configuration file changed: reloading' $((polls + 1))
  fi
  it_wait_log col 'reload of agent col done in' "$(it_count "$log" 'reloading the configuration of agent col')"
}

it_start ta -n t -f "$IT_TMP/ta.conf"
it_start tb -n t -f "$IT_TMP/tb.conf"
it_wait_listening ta 1 # (before col starts: its k1 connects at once)
it_wait_listening tb 1
col_conf 20000 "$PA" 1000 no
it_start col -n col -f "$CONF" -i 1 --metrics-port "$M"
it_wait_listening col 1

# ---- 1. ten reloads under load ----
# relay-send reads the numbers from a fifo, one chunk before the reloads and one after each, so its one
# connection lives through all of them.
chunk=$((N / 11))
mkfifo "$IT_TMP/numbers"
timeout -k 5 240 "$AVRO_SEND" -H "127.0.0.1:$P" -b 1000 --retry-timeout 30 -F "$IT_TMP/numbers" 2>"$IT_TMP/send.log" &
SEND_PID=$!
exec 7>"$IT_TMP/numbers"
sent=0
FEED_PID=
feed() { # feed COUNT: the next COUNT numbers to relay-send, in the background once the previous chunk is in
  [ -z "$FEED_PID" ] || wait "$FEED_PID" || it_fail "feeding relay-send failed"
  seq "$sent" $((sent + $1 - 1)) >&7 &
  FEED_PID=$!
  sent=$((sent + $1))
}
feed "$chunk"
deadline=$(($(it_now_ms) + 10000))
while [ -z "$(send_conn)" ]; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "relay-send did not connect"
  sleep 0.05
done
conn=$(send_conn)
it_log "relay-send connection to r1: $conn"

steps=(
  "20000 $PA 500 no hup"  # k1 batch size
  "20000 $PA 500 yes poll" # r2 added
  "20000 $PB 500 yes hup"  # k1 retargeted to B
  "40000 $PB 500 yes poll" # c1 resized up
  "40000 $PB 500 no hup"   # r2 removed
  "40000 $PB 1000 no poll" # k1 batch size
  "60000 $PB 1000 no hup"  # c1 resized up
  "60000 $PA 1000 no poll" # k1 back to A
  "60000 $PA 200 yes hup"  # r2 added, k1 batch size
  "60000 $PA 200 no poll"  # r2 removed
)
had_r2=no
for i in "${!steps[@]}"; do
  read -r cap port batch r2 how <<<"${steps[$i]}"
  before_change
  col_conf "$cap" "$port" "$batch" "$r2"
  reload "$how"
  [ "$(send_conn)" = "$conn" ] || it_fail "r1's connection changed at step $((i + 1)): '$conn' -> '$(send_conn)'"
  if [ "$r2" != "$had_r2" ] && [ "$r2" = yes ]; then # /metrics follows r2 (read when it came or went)
    it_wait_port col "$P2"
    [ "$(reload_metric "$M" SOURCE.r2 Type)" = SOURCE ] || it_fail "/metrics has no SOURCE.r2 after it was added"
  elif [ "$r2" != "$had_r2" ]; then
    [ "$(reload_metric "$M" SOURCE.r2 Type)" = absent ] || it_fail "/metrics still has SOURCE.r2 after it was removed"
  fi
  had_r2=$r2
  if [ $((i + 1)) -eq ${#steps[@]} ]; then feed $((N - sent)); else feed "$chunk"; fi
done
[ "$(send_conn)" = "$conn" ] || it_fail "r1's connection changed after the last reload"
wait "$FEED_PID" || it_fail "feeding relay-send failed"
exec 7>&-
wait $SEND_PID || it_fail "relay-send exited $? (see send.log: $(tail -n 3 "$IT_TMP/send.log"))"
wait_arrived "$N" 120
it_seqcheck --count "$N" "$IT_TMP/outA" "$IT_TMP/outB"
[ "$(it_lines "$IT_TMP/outB")" -gt 0 ] || it_fail "nothing went to terminal B"
it_assert_eq "r1's EventAcceptedCount went on over 10 reloads" "$N" "$(reload_metric "$M" SOURCE.r1 EventAcceptedCount)"
it_assert_eq "c1's EventPutSuccessCount went on over 10 reloads" "$N" "$(reload_metric "$M" CHANNEL.c1 EventPutSuccessCount)"
[ "$(it_count "$log" 'reload of agent col done in .*kept: source r1, (source r2, )?channel c1')" -ge 10 ] \
  || it_fail "r1 and c1 were not kept by every reload"
it_assert_grep "sink restart logged" "$log" 'kept: source r1, channel c1; restarted: sink k1; added: none'
it_assert_grep "source added logged" "$log" 'added: source r2;'
it_assert_grep "source removed logged" "$log" 'removed: source r2;'
it_assert_grep "resize logged" "$log" 'resized: channel c1 capacity 20000->40000'
it_assert_grep "poll reload logged" "$log" 'configuration file changed: reloading'
it_assert_no_grep "no event lost" "$log" 'still in the channel|reload refused'

it_stop col
it_stop ta
it_stop tb
echo "PASS: $IT_NAME"
