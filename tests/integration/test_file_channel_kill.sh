#!/usr/bin/env bash
# test_file_channel_kill.sh - SIGKILL storm on a 2-hop relay with file channels: nothing acknowledged is lost.
#
# relay-send -> edge (avro source -> file channel -> avro sink) -> collector (avro source -> file channel ->
# file_roll). relay-send sends the numbers 0..N-1 (batches of 100, --retry-timeout 60), paced over about
# SEND_S seconds, while the test kills one of the two relayd with SIGKILL KILLS times at random moments
# (random order of the hops, half each, random pauses; one pause in five is under 30 ms, so the kill
# lands while the agent is still starting or recovering) and restarts it at once on the same directories.
# Checkpoints every second and 1 MiB segments make recovery start from a checkpoint plus a log tail and
# let segments be deleted during the storm; the edge's channel also spreads its segments over two data
# directories and writes dual checkpoints. relay-send exits 0 only if every batch was acknowledged, so
# at the end (both channels drained: relayd-fcdump reports 0 pending on each) every number must be in the
# collector's files. Duplicates are allowed (at least once) but bounded: a kill can repeat at most the two
# batches in flight on the killed process's two connections (edge: relay-send's batch committed but not
# yet answered, and the sink's batch the collector stored but whose take was not yet committed; collector:
# the edge's batch stored but not yet answered, and file_roll's batch written but whose take was not yet
# committed), so duplicates <= KILLS x 2 x 100. A file may end in a partial line (a kill in the middle of
# file_roll's write); that batch was not committed and is delivered again. Both relayd must then stop
# cleanly. FC_KILL_SEED=N repeats a run's kill order and pauses (the seed is printed).
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/fc_lib.sh"

N=${FC_KILL_N:-300000}
KILLS=${FC_KILLS:-24}
SEND_S=${FC_KILL_SEND_S:-12}
BATCH=100
SEED=${FC_KILL_SEED:-$(($(date +%s%N) % 32768))}
RANDOM=$SEED
it_log "seed=$SEED events=$N kills=$KILLS batch=$BATCH"

p_edge=$(it_free_port)
p_col=$(it_free_port)
out="$IT_TMP/out"
extra=(checkpointInterval=1000 maxFileSize=1048576)
{
  avro_conf_source edge "$p_edge"
  fc_conf_file_channel edge "$IT_TMP/edge" 1000000 1000 "${extra[@]}" useDualCheckpoints=true \
    "backupCheckpointDir = $IT_TMP/edge/backup" "dataDirs = $IT_TMP/edge/data,$IT_TMP/edge/data2"
  avro_conf_avro_sink edge "$p_col" none "$BATCH"
} >"$IT_TMP/edge.conf"
{
  avro_conf_source col "$p_col"
  fc_conf_file_channel col "$IT_TMP/col" 1000000 1000 "${extra[@]}"
  avro_conf_file_roll col "$out" "$BATCH"
} >"$IT_TMP/col.conf"

declare -A DATA_DIRS=([edge]="$IT_TMP/edge/data,$IT_TMP/edge/data2" [col]="$IT_TMP/col/data")
start_agent() {
  fc_start "$1" -n "$1" -f "$IT_TMP/$1.conf"
}
start_agent col
start_agent edge
fc_wait_ready col "$p_col"
fc_wait_ready edge "$p_edge"

# relay-send in the background, fed paced numbers; its exit status lands in send.rc.
(
  rc=0
  fc_numbers_paced "$N" "$SEND_S" \
    | timeout -k 5 85 "$AVRO_SEND" -H "127.0.0.1:$p_edge" --batch-size "$BATCH" --retry-timeout 60 \
      2>"$IT_TMP/send.log" || rc=$?
  echo "$rc" >"$IT_TMP/send.rc"
) &
SENDER=$!

# The kill plan: half edge, half collector, shuffled.
targets=()
for ((i = 0; i < KILLS; i++)); do
  if ((i % 2)); then targets+=(edge); else targets+=(col); fi
done
for ((i = KILLS - 1; i > 0; i--)); do
  j=$((RANDOM % (i + 1)))
  tmp=${targets[i]} targets[i]=${targets[j]} targets[j]=$tmp
done

t0=$(it_now_ms)
declare -A KILLED=([edge]=0 [col]=0)
during_send=0
for target in "${targets[@]}"; do
  # 50..550 ms, or (one in five) 0..30 ms: then the kill lands while the agent is starting or recovering.
  if ((RANDOM % 5 == 0)); then pause=$((RANDOM % 31)); else pause=$((50 + RANDOM % 500)); fi
  sleep "0.$(printf '%03d' "$pause")"
  kill -0 "$SENDER" 2>/dev/null && during_send=$((during_send + 1))
  fc_kill "$target"
  KILLED[$target]=$((KILLED[$target] + 1))
  start_agent "$target"
done
kill_ms=$(($(it_now_ms) - t0))
it_log "kills: edge=${KILLED[edge]} collector=${KILLED[col]} in ${kill_ms} ms, $during_send while relay-send was sending"

wait "$SENDER"
send_rc=$(cat "$IT_TMP/send.rc" 2>/dev/null || echo missing)
send_ms=$(($(it_now_ms) - t0))
if [ "$send_rc" != 0 ]; then
  tail -n 20 "$IT_TMP/send.log"
  it_fail "relay-send exited $send_rc (not every batch was acknowledged)"
fi
[ "$during_send" -ge 20 ] || it_fail "only $during_send kills happened while relay-send was sending (need 20)"
fc_wait_ready col "$p_col"
fc_wait_ready edge "$p_edge"

# Drain: every number in the files, then both channels empty (so late duplicates are in the files too).
deadline=$(($(it_now_ms) + 45000))
until "$PYTHON" "$IT_TOOLS/fc_seqcheck.py" --poll --count "$N" "$out" >"$IT_TMP/poll.out"; do
  it_alive edge || it_fail "edge exited while draining"
  it_alive col || it_fail "collector exited while draining"
  [ "$(it_now_ms)" -le "$deadline" ] || { cat "$IT_TMP/poll.out"; it_fail "not every number arrived in 45 s"; }
  sleep 0.5
done
for agent in edge col; do
  deadline=$(($(it_now_ms) + 20000))
  until [ "$(fc_pending "$IT_TMP/$agent/checkpoint" "${DATA_DIRS[$agent]}")" = 0 ]; do
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "$agent's channel did not drain in 20 s"
    sleep 0.2
  done
done
drain_ms=$(($(it_now_ms) - t0))
it_stop edge
it_stop col

bound=$((KILLS * 2 * BATCH))
result=$(fc_seqcheck --count "$N" --max-duplicates "$bound" --allow-partial "$out")
echo "$result"
dups=$(echo "$result" | sed -n 's/.*duplicates=\([0-9]*\).*/\1/p' | head -n 1)
for agent in edge col; do
  it_assert_no_grep "$agent lost no event" "$IT_TMP/$agent.log" 'lost=|its events are lost|cannot be read back'
  it_log "$agent: starts=$(it_count "$IT_TMP/$agent.log" 'recovered events=')" \
    "torn_tails_cut=$(it_count "$IT_TMP/$agent.log" 'torn tail cut')" \
    "max_recovery_ms=$(sed -n 's/.*recovered events=.* ms=\([0-9]*\).*/\1/p' "$IT_TMP/$agent.log" | sort -n | tail -n 1)" \
    "max_recovered_events=$(sed -n 's/.*recovered events=\([0-9]*\).*/\1/p' "$IT_TMP/$agent.log" | sort -n | tail -n 1)"
done
it_log "figures: events=$N kills=$KILLS (edge=${KILLED[edge]} collector=${KILLED[col]}, $during_send during send)" \
  "duplicates=$dups bound=$bound per_kill=$(awk -v d="$dups" -v k="$KILLS" 'BEGIN{printf "%.1f", d/k}')" \
  "send_ms=$send_ms drained_ms=$drain_ms seed=$SEED"
echo "PASS: $IT_NAME"
