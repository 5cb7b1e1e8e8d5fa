#!/usr/bin/env bash
# test_file_channel_foreign.sh - a file channel never touches files it did not write (issue 19).
#
# A collector switched over from Flume with the same directories: c1's checkpointDir holds what Flume's
# file channel leaves there (checkpoint, checkpoint.meta, inflightputs, inflighttakes, queueset/, an empty
# in_use.lock), its dataDirs Flume's log-1, log-1.meta, log-2, log-2.meta and in_use.lock, and the backup
# directory Flume's backupComplete. Channel c2's data directory holds an unknown file (notes.txt). --check
# must name each directory, what it found and what to do, and exit 1; relayd run for real must refuse c1 and
# c2 with the same lines and run the rest (a memory channel). Afterwards every one of those files is
# byte-identical and no file was added or removed. A directory holding relayd's own files (from a run and a
# SIGKILL) still starts.
. "$(dirname "$0")/lib.sh"

d="$IT_TMP/d"
mkdir -p "$d/flume/checkpoint/queueset" "$d/flume/data" "$d/flume/backup" "$d/c2/data"
# Flume's checkpoint is a big-endian long array starting with its version (3); the contents here only have
# to be not relayd's.
printf '\0\0\0\0\0\0\0\3flume checkpoint' >"$d/flume/checkpoint/checkpoint"
printf 'meta' >"$d/flume/checkpoint/checkpoint.meta"
printf 'puts' >"$d/flume/checkpoint/inflightputs"
printf 'takes' >"$d/flume/checkpoint/inflighttakes"
printf 'q' >"$d/flume/checkpoint/queueset/queueset.db"
: >"$d/flume/checkpoint/in_use.lock"
head -c 5000 /dev/urandom >"$d/flume/data/log-1"
printf 'meta1' >"$d/flume/data/log-1.meta"
printf '\0\0\0\3events of log 2' >"$d/flume/data/log-2"
printf 'meta2' >"$d/flume/data/log-2.meta"
: >"$d/flume/data/in_use.lock"
: >"$d/flume/backup/backupComplete"
printf 'checkpoint' >"$d/flume/backup/checkpoint"
echo "operator's notes" >"$d/c2/data/notes.txt"

# snapshot: every file and directory under $d with its content's checksum (and the directories' names).
snapshot() {
  (cd "$d" && find . -print | sort | while IFS= read -r p; do
    if [ -f "$p" ]; then
      printf '%s %s\n' "$p" "$(sha256sum <"$p" | cut -d' ' -f1)"
    else
      printf '%s dir\n' "$p"
    fi
  done)
}
before=$(snapshot)

out="$IT_TMP/o"
mkdir -p "$out"
conf="$IT_TMP/a.conf"
cat >"$conf" <<EOF
a.sources = r1
a.channels = c1 c2 m
a.sinks = k1
a.sources.r1.type = seq
a.sources.r1.totalEvents = 5
a.sources.r1.channels = c1 c2 m
a.sinks.k1.type = file_roll
a.sinks.k1.sink.directory = $out
a.sinks.k1.channel = m
a.channels.m.type = memory
a.channels.c1.type = file
a.channels.c1.checkpointDir = $d/flume/checkpoint
a.channels.c1.dataDirs = $d/flume/data
a.channels.c1.useDualCheckpoints = true
a.channels.c1.backupCheckpointDir = $d/flume/backup
a.channels.c1.minimumRequiredSpace = 1048576
a.channels.c2.type = file
a.channels.c2.checkpointDir = $d/c2/checkpoint
a.channels.c2.dataDirs = $d/c2/data
a.channels.c2.minimumRequiredSpace = 1048576
EOF

esc() {
  printf '%s' "$1" | sed 's/[.[\*^$+?(){}|]/\\&/g'
}
expect_lines() {
  local file=$1 fl
  fl="names Flume's file channel uses"
  it_assert_grep "checkpointDir named" "$file" \
    "channels\\.c1: checkpointDir: $(esc "$d/flume/checkpoint") holds files relayd did not write: checkpoint, checkpoint\\.meta, in_use\\.lock, inflightputs, inflighttakes, queueset/ \\($fl\\)\\. They look like an Apache Flume file channel's: drain that channel with Flume first .*point checkpointDir at a directory of its own\\. relayd never changes or removes files it did not write; channel c1 removed"
  it_assert_grep "backupCheckpointDir named" "$file" \
    "channels\\.c1: backupCheckpointDir: $(esc "$d/flume/backup") holds files relayd did not write: backupComplete, checkpoint \\($fl\\)\\. They look like an Apache Flume"
  it_assert_grep "dataDirs named" "$file" \
    "channels\\.c1: dataDirs: $(esc "$d/flume/data") holds files relayd did not write: in_use\\.lock, log-1, log-1\\.meta, log-2, log-2\\.meta \\($fl\\)\\. They look like an Apache Flume file channel's: drain"
  it_assert_grep "unknown file named" "$file" \
    "channels\\.c2: dataDirs: $(esc "$d/c2/data") holds files relayd did not write: notes\\.txt \\(unknown\\)\\. Move them away or point dataDirs at a directory of its own\\. relayd never changes or removes files it did not write; channel c2 removed"
}

it_run_expect check 1 -n a -f "$conf" --check
expect_lines "$IT_TMP/check.out"
it_assert_eq "files after --check" "$before" "$(snapshot)"

it_start run -n a -f "$conf"
it_wait_lines "$out" 5 "$IT_TIMEOUT" run
it_stop run
expect_lines "$IT_TMP/run.log"
it_assert_no_grep "c1 and c2 never read their directories" "$IT_TMP/run.log" "segment|replay|checkpoint (written|failed)"
it_assert_eq "files after a run" "$before" "$(snapshot)"

# relayd's own files (a clean stop, then a run killed with SIGKILL) are recognised as relayd's.
own="$IT_TMP/own.conf"
sed -e "s#$d/flume/#$d/own/#; s#$d/c2/#$d/own2/#" -e 's/totalEvents = 5$/totalEvents = 2000/' "$conf" >"$own"
echo "a.sources.r1.batchSize = 100" >>"$own"
it_start own1 -n a -f "$own"
it_wait_lines "$out" 2005 "$IT_TIMEOUT" own1
it_stop own1
it_start own2 -n a -f "$own"
it_wait_lines "$out" 2500 "$IT_TIMEOUT" own2
kill -KILL "$(it_pid own2)"
it_wait_exit own2
it_run_expect own-check 0 -n a -f "$own" --check
it_assert_grep "relayd's own files pass --check" "$IT_TMP/own-check.out" "agent a: 0 problem"
it_log "own files: $(cd "$d" && find own own2 -type f | sort | tr '\n' ' ')"
