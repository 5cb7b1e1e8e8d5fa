#!/usr/bin/env bash
# test_file_channel_restart.sh - restart of a file channel that holds 1,000,000 events: ready fast, nothing lost.
#
# Two cases, each with its own channel: an agent (avro source -> file channel, capacity 1,000,000 -> avro
# sink to a port nobody listens on) is filled with the numbers 0..N-1 by relay-send, then stopped with
# SIGTERM (clean stop: checkpoint on close) or killed with SIGKILL (no checkpoint yet: recovery replays the
# log). relayd-fcdump on the stopped channel must report N pending events. A collector (avro source ->
# memory -> file_roll) is then started on the sink's port and the agent restarted on the same directories;
# the test records the time from exec to the "agent ... ready in" line and to the source accepting
# connections (and prints relayd's own "ready in" and recovery figures), and checks with seqcheck.py that
# the collector receives 0..N-1 exactly once each (nothing was delivered before the restart, so there is no
# reason for a duplicate). After SIGTERM the recovery must come from the checkpoint written at close. Both agents must then stop cleanly. The issue's target for the ready time (< 2 s)
# is a benchmark figure (scripts/bench restart); this test only bounds it by IT_TIMEOUT.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/fc_lib.sh"

N=${FC_RESTART_N:-$(it_scaled 1000000)} # 200,000 under sanitizers
seq 0 $((N - 1)) >"$IT_TMP/numbers"

# run_case LABEL SIGNAL
run_case() {
  local label=$1 sig=$2 dir="$IT_TMP/$1" out="$IT_TMP/$1-out" p_in p_col t0 ready_ms listen_ms pending starts
  p_in=$(it_free_port)
  p_col=$(it_free_port)
  {
    avro_conf_source agent "$p_in"
    fc_conf_file_channel agent "$dir" "$N" 1000
    avro_conf_avro_sink agent "$p_col" none 1000
  } >"$IT_TMP/$label.conf"
  avro_collector_conf "$IT_TMP/$label-col.conf" col "$p_col" "$out"

  fc_start "$label" -n agent -f "$IT_TMP/$label.conf"
  fc_wait_ready "$label" "$p_in"
  t0=$(it_now_ms)
  timeout -k 5 60 "$AVRO_SEND" -H "127.0.0.1:$p_in" -F "$IT_TMP/numbers" --batch-size 1000 --retry-timeout 20 \
    2>>"$IT_TMP/send.log" || it_fail "$label: relay-send could not put $N events into the channel"
  it_log "$label: $N events in the channel in $(($(it_now_ms) - t0)) ms"
  if [ "$sig" = TERM ]; then
    it_stop "$label" TERM 60
  else
    fc_kill "$label"
    unset "IT_PIDS[$label]"
  fi
  pending=$(fc_pending "$dir/checkpoint" "$dir/data")
  "$FCDUMP" "$dir/checkpoint" "$dir/data" >"$IT_TMP/$label.fcdump"
  it_assert_eq "$label: relayd-fcdump pending count after SIG$sig" "$N" "$pending"

  fc_start "$label-col" -n col -f "$IT_TMP/$label-col.conf"
  fc_wait_ready "$label-col" "$p_col"
  starts=$(it_count "$IT_TMP/$label.log" 'agent agent ready in')
  t0=$(it_now_ms)
  fc_start "$label" -n agent -f "$IT_TMP/$label.conf"
  ready_ms=
  listen_ms=
  while [ -z "$ready_ms" ] || [ -z "$listen_ms" ]; do
    if [ -z "$listen_ms" ] && (exec 8<>"/dev/tcp/127.0.0.1/$p_in") 2>/dev/null; then
      listen_ms=$(($(it_now_ms) - t0))
    fi
    if [ -z "$ready_ms" ] && [ "$(it_count "$IT_TMP/$label.log" 'agent agent ready in')" -gt "$starts" ]; then
      ready_ms=$(($(it_now_ms) - t0))
    fi
    it_alive "$label" || it_fail "$label exited during recovery"
    [ $(($(it_now_ms) - t0)) -le $((IT_TIMEOUT * 1000)) ] || it_fail "$label not ready after ${IT_TIMEOUT}s"
    sleep 0.005
  done
  it_log "$label: restart after SIG$sig with $N events: exec->ready line ${ready_ms} ms, exec->listening ${listen_ms} ms;" \
    "relayd: $(grep -o 'recovered events=.*' "$IT_TMP/$label.log" | tail -n 1);" \
    "$(grep -o 'ready in [0-9.]* ms' "$IT_TMP/$label.log" | tail -n 1)"
  if [ "$sig" = TERM ]; then # stopped cleanly: the checkpoint written at close holds everything
    it_assert_grep "$label: recovery" "$IT_TMP/$label.log" "recovered events=$N from=checkpoint records_replayed=0 "
  else
    it_assert_grep "$label: recovery" "$IT_TMP/$label.log" "recovered events=$N "
  fi
  t0=$(it_now_ms)
  it_wait_lines "$out" "$N" 60 "$label"
  it_log "$label: $N events delivered after the restart in $(($(it_now_ms) - t0)) ms"
  sleep 0.3
  it_stop "$label"
  it_stop "$label-col"
  it_seqcheck --count "$N" "$out"
  it_assert_no_grep "$label lost no event" "$IT_TMP/$label.log" 'lost=|its events are lost|cannot be read back'
  [ "$(fc_pending "$dir/checkpoint" "$dir/data")" = 0 ] || it_fail "$label: events left in the channel"
}

run_case term TERM
run_case kill KILL
echo "PASS: $IT_NAME"
