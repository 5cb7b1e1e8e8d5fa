#!/usr/bin/env bash
# test_taildir_kill.sh - SIGKILL of a tailing edge agent 10 times while 200,000 numbered lines are appended
# across rotations: after the restarts every line arrives at the terminal (at least once), duplicates bounded;
# and a directory whose files keep being renamed while the agent lists it (at every start and while it runs)
# has nothing read twice.
#
# writer (taildir_tool.py: N numbered lines at RATE lines/s into app.log, renamed to app.log.<n> every
# ROTATE lines) -> edge (TAILDIR group app on app\.log.*, group churn on 1,000 files read before the kills ->
# file channel -> avro sink) -> collector (avro source -> memory channel -> file_roll). The edge is killed
# with SIGKILL KILLS times at random moments (some while it is still starting) and restarted at once; the
# time goes into the kills, the writer spreads its lines over them.
# - app: files are followed by inode, so a renamed file keeps its offset and is not read again. The position
#   file holds only committed offsets, and writePosInterval is Flume's 3 s: alone, it would let a kill
#   repeat everything read since the last write (tens of thousands of lines per kill here, again at every
#   kill that comes before the next write). With a durable channel the source also writes the position file
#   once 4 batches are committed since the last write and stops reading at 8 (RELAY_TAILDIR_UNSAVED_BATCHES
#   in source_taildir.c), so a kill repeats at most 8 batches plus the one being committed, whatever the
#   read rate (a restarted agent catching up reads far faster than the writer writes); the avro sink sends
#   its batch of 500 in flight again. Both are one run of consecutive numbers arriving again: every such run
#   <= DUP_PER_KILL, and all duplicates <= KILLS x DUP_PER_KILL. (The pattern includes the rotated names: a
#   file rotated out of the pattern while the agent is down before it ever recorded that file's inode
#   cannot be found again, by relayd or Flume; test_taildir.sh covers rotation out of the pattern while
#   running.)
# - churn: while the kills go on, a file of the group is renamed (to another matching name) every ms or so.
#   A directory listing that runs during a rename may miss that file under both names (readdir leaves it
#   unspecified); a listing is trusted to show a file gone only when the directory did not change during it,
#   and position entries are kept until their inode is seen. Every churn line arrives exactly once (all were
#   committed, and their positions written as the agent finished reading them, before the first kill);
#   idleTimeout = 300 closes the files, so they are found by listings only.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"
. "$IT_DIR/fc_lib.sh"

N=${TD_KILL_N:-$(it_scaled 200000)}
KILLS=${TD_KILLS:-10}
RATE=$((N * 2 / 9)) # the kills take ~4.5 s
ROTATE=$((N / 6))
BATCH=500
DUP_PER_KILL=$(((8 + 1) * BATCH + BATCH)) # the source's unsaved batches and the one committing, the sink's
CHURN_FILES=1000
CHURN_FIRST=10000000
SEED=${TD_KILL_SEED:-$(($(date +%s%N) % 32768))}
RANDOM=$SEED
it_log "seed=$SEED lines=$N kills=$KILLS rate=$RATE rotate_every=$ROTATE"
tool() { "$PYTHON" "$IT_TOOLS/taildir_tool.py" "$@"; }

logs="$IT_TMP/logs"
churn="$IT_TMP/churn"
out="$IT_TMP/out"
mkdir -p "$logs" "$churn" "$out"
p_col=$(it_free_port)
{
  cat <<EOF
edge.sources = r1
edge.channels = c1
edge.sinks = k1
edge.sources.r1.type = TAILDIR
edge.sources.r1.channels = c1
edge.sources.r1.filegroups = app churn
edge.sources.r1.filegroups.app = $logs/app\\\\.log.*
edge.sources.r1.filegroups.churn = $churn/f.*
edge.sources.r1.positionFile = $IT_TMP/pos/taildir_position.json
edge.sources.r1.idleTimeout = 300
edge.sources.r1.batchSize = $BATCH
EOF
  fc_conf_file_channel edge "$IT_TMP/edge" 1000000 1000 checkpointInterval=1000
  avro_conf_avro_sink edge "$p_col" none $BATCH
} >"$IT_TMP/edge.conf"
{
  avro_conf_source col "$p_col"
  avro_conf_memory col 100000 1000
  avro_conf_file_roll col "$out" 1000
} >"$IT_TMP/col.conf"

tool many --dir "$churn" --files $CHURN_FILES --lines 2 --first $CHURN_FIRST
fc_start col -n col -f "$IT_TMP/col.conf"
fc_wait_ready col "$p_col"
fc_start edge -n edge -f "$IT_TMP/edge.conf"
it_wait_lines "$out" $((CHURN_FILES * 2)) 60 edge
deadline=$(($(it_now_ms) + 60000))
until tool posfile --file "$IT_TMP/pos/taildir_position.json" --at-end >"$IT_TMP/posfile.txt" 2>/dev/null \
  && [ "$(wc -l <"$IT_TMP/posfile.txt")" = $CHURN_FILES ]; do # the churn positions are written, at the ends
  [ "$(it_now_ms)" -lt $deadline ] || it_fail "the churn group's positions were not written within 60 s"
  sleep 0.05
done

"$PYTHON" "$IT_TOOLS/taildir_tool.py" churn --dir "$churn" &
IT_PIDS[churn]=$! # killed by lib.sh if the test fails
CHURN=$!
: >"$logs/app.log"
tool write --file "$logs/app.log" --count "$N" --rate "$RATE" --rotate-every "$ROTATE" --pad 40 &
IT_PIDS[writer]=$!
WRITER=$!

for ((k = 0; k < KILLS; k++)); do
  sleep "0.$(printf '%03d' $((200 + RANDOM % 500)))"
  it_alive edge || it_fail "edge died by itself before kill $k"
  kill -KILL "$(it_pid edge)"
  wait "$(it_pid edge)" 2>/dev/null
  fc_start edge -n edge -f "$IT_TMP/edge.conf"
done
wait $WRITER || it_fail "the writer failed"
it_log "writer done after $KILLS kills"
sleep 0.5 # listings of the churn group while it is renamed, with the agent running
kill $CHURN
wait $CHURN 2>/dev/null
it_wait_lines "$out" $((N + CHURN_FILES * 2)) 180 edge # generous: sanitizer builds on a loaded machine are slow
# Duplicates count there too: wait for every number (then late duplicates land during one more second).
distinct() { it_cat_dir "$out" | awk '!seen[$1]++ { n++ } END { print n + 0 }'; }
deadline=$(($(it_now_ms) + 180000))
while [ "$(distinct)" -lt $((N + CHURN_FILES * 2)) ] && [ "$(it_now_ms)" -lt $deadline ]; do
  it_alive edge || it_fail "edge exited while waiting for every line"
  sleep 0.2
done
sleep 1
mkdir -p "$IT_TMP/app" "$IT_TMP/churned"
it_cat_dir "$out" | awk -v a="$IT_TMP/app/x" -v b="$IT_TMP/churned/x" \
  -v c=$CHURN_FIRST '{ if ($1 < c) print > a; else print > b }'
tool check --count $((CHURN_FILES * 2)) --first $CHURN_FIRST "$IT_TMP/churned" \
  || it_fail "churn group: lines lost or read twice"
tool check --count "$N" --max-dup $((KILLS * DUP_PER_KILL)) --max-rerun $DUP_PER_KILL "$IT_TMP/app" \
  || it_fail "lines lost or too many duplicates (at most $DUP_PER_KILL per kill)"
it_stop edge
it_stop col
echo "PASS: $IT_NAME"
