#!/usr/bin/env bash
# test_spooldir_kill.sh - SIGKILL the spooldir edge again and again while files are dropped: every line
# arrives at least once, duplicates bounded, every file completed, none set aside.
#
# edge (spooldir, batchSize 100 -> file channel -> avro sink, batch 100) -> col (avro -> memory ->
# file_roll). A feeder moves FILES files of LINES numbered lines each into the spool directory, one every
# 150 ms, while the test kills edge with SIGKILL KILLS times at random moments (100..700 ms apart) and
# restarts it at once. A kill can repeat at most the source's batch in flight (committed to the channel,
# not yet in the tracker) and the sink's batch in flight (stored by col, take not yet committed), so
# duplicates <= KILLS x 2 x 100. At the end every file is renamed .COMPLETED (a restart in the middle of a
# file resumes from the tracker, so the file is not mistaken for a changed one) and both agents stop
# cleanly. SPOOL_KILL_SEED=N repeats a run's pauses.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/fc_lib.sh"

FILES=${SPOOL_KILL_FILES:-30}
LINES=${SPOOL_KILL_LINES:-2500}
KILLS=${SPOOL_KILLS:-10}
N=$((FILES * LINES))
SEED=${SPOOL_KILL_SEED:-$(($(date +%s%N) % 32768))}
RANDOM=$SEED
it_log "seed=$SEED files=$FILES lines=$N kills=$KILLS"

spool="$IT_TMP/spool"
stage="$IT_TMP/stage"
out="$IT_TMP/out"
mkdir -p "$spool" "$stage"
p_col=$(it_free_port)
{
  echo "edge.sources = r1"
  echo "edge.channels = c1"
  echo "edge.sinks = k1"
  echo "edge.sources.r1.type = spooldir"
  echo "edge.sources.r1.spoolDir = $spool"
  echo "edge.sources.r1.batchSize = 100"
  echo "edge.sources.r1.channels = c1"
  fc_conf_file_channel edge "$IT_TMP/edge" 100000 1000 checkpointInterval=1000
  avro_conf_avro_sink edge "$p_col" none 100
} >"$IT_TMP/edge.conf"
{
  avro_conf_source col "$p_col"
  avro_conf_memory col
  avro_conf_file_roll col "$out" 1000
} >"$IT_TMP/col.conf"

fc_start col -n col -f "$IT_TMP/col.conf"
fc_wait_ready col "$p_col"
fc_start edge -n edge -f "$IT_TMP/edge.conf"

# The feeder: whole files moved in (written in the stage directory first).
(
  for ((f = 0; f < FILES; f++)); do
    seq $((f * LINES)) $((f * LINES + LINES - 1)) >"$stage/part-$f"
    mv "$stage/part-$f" "$spool/part-$f"
    sleep 0.15
  done
) &
FEEDER=$!

t0=$(it_now_ms)
for ((k = 0; k < KILLS; k++)); do
  sleep "0.$(printf '%03d' $((100 + RANDOM % 600)))"
  fc_kill edge
  fc_start edge -n edge -f "$IT_TMP/edge.conf"
done
wait "$FEEDER"
it_log "$KILLS kills in $(($(it_now_ms) - t0)) ms"

deadline=$(($(it_now_ms) + 45000))
until "$PYTHON" "$IT_TOOLS/fc_seqcheck.py" --poll --count "$N" "$out" >"$IT_TMP/poll.out"; do
  it_alive edge || it_fail "edge exited while draining"
  [ "$(it_now_ms)" -le "$deadline" ] || { cat "$IT_TMP/poll.out"; it_fail "not every line arrived in 45 s"; }
  sleep 0.5
done
deadline=$(($(it_now_ms) + 20000))
until [ "$(find "$spool" -maxdepth 1 -type f ! -name '*.COMPLETED' | wc -l)" = 0 ]; do
  [ "$(it_now_ms)" -le "$deadline" ] || it_fail "files not completed: $(ls "$spool")"
  sleep 0.2
done
sleep 1 # late duplicates, if any, land now
it_stop edge
it_stop col
[ "$(find "$spool" -maxdepth 1 -name 'part-*.COMPLETED' | wc -l)" = "$FILES" ] || it_fail "not every file completed: $(ls "$spool")"
it_assert_no_grep "nothing set aside" "$IT_TMP/edge.log" 'set aside'
"$PYTHON" "$IT_TOOLS/fc_seqcheck.py" --count "$N" --max-duplicates $((KILLS * 2 * 100)) "$out" ||
  it_fail "fc_seqcheck (seed $SEED)"
it_log "resumed mid-file $(it_count "$IT_TMP/edge.log" 'resuming after a restart') times"
echo "PASS: $IT_NAME"
