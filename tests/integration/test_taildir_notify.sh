#!/usr/bin/env bash
# test_taildir_notify.sh - how TAILDIR notices data, and the keys that steer what it reads first.
#
# One agent, four TAILDIR sources -> memory channel -> file_roll (numbers tell the sources apart):
# 1. r1 (maxBackoffSleep = 60000, so the periodic check cannot help): an application keeps writing to its
#    log after it was rotated by rename (app.log -> app.log.1, the descriptor still open); those lines are
#    noticed through inotify on the renamed file and arrive within seconds, then the new app.log's lines.
# 2. r2: its directory is removed (the inotify watch goes away): the source polls (backoffSleepIncrement,
#    maxBackoffSleep), a file in the re-created directory is read, and once the directory can be watched
#    again inotify takes over (logged); lines appended then arrive too.
# 3. r3 (skipToEnd = true): a file's lines from before the start are skipped, lines appended after it and a
#    file created later arrive.
# 4. r4 (batchSize = 10, maxBatchCount = 1): two files full before the start are read in turns of one
#    batch, so the first lines delivered come from both (with Flume's default, one file is read to its end
#    first).
# 5. Agents b and c, where inotify is unavailable (tests/tools/inotify_fail.c, preloaded: in b
#    inotify_init1 fails with EMFILE, in c inotify_add_watch fails with ENOSPC): each logs once that it polls
#    (one source, two file groups), and lines appended, a rotation by rename (lines written to the renamed
#    file, then a new file under the old name) and a new file still arrive, exactly once.
. "$(dirname "$0")/lib.sh"

d="$IT_TMP/d"
out="$IT_TMP/out"
mkdir -p "$d/rot" "$d/gone" "$d/skip" "$d/fair" "$out"
seq 5000 5009 >"$d/skip/old.log"
seq 6000 6199 >"$d/fair/a.log"
seq 6200 6399 >"$d/fair/b.log"
conf="$IT_TMP/a.conf"
{
  echo "a.sources = r1 r2 r3 r4"
  for r in r1 r2 r3 r4; do
    echo "a.sources.$r.type = TAILDIR"
    echo "a.sources.$r.channels = c1"
    echo "a.sources.$r.filegroups = g"
    echo "a.sources.$r.positionFile = $IT_TMP/pos-$r.json"
  done
  cat <<EOF
a.sources.r1.filegroups.g = $d/rot/app\\\\.log
a.sources.r1.maxBackoffSleep = 60000
a.sources.r2.filegroups.g = $d/gone/.*\\\\.log
a.sources.r2.backoffSleepIncrement = 100
a.sources.r2.maxBackoffSleep = 300
a.sources.r3.filegroups.g = $d/skip/.*\\\\.log
a.sources.r3.skipToEnd = true
a.sources.r4.filegroups.g = $d/fair/.*\\\\.log
a.sources.r4.batchSize = 10
a.sources.r4.maxBatchCount = 1
a.channels = c1
a.sinks = k1
a.channels.c1.type = memory
a.channels.c1.capacity = 10000
a.channels.c1.transactionCapacity = 100
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $out
a.sinks.k1.sink.rollInterval = 0
a.sinks.k1.sink.batchSize = 100
EOF
} >"$conf"

# in_range LO HI: the delivered lines (in order) with LO <= number <= HI.
in_range() { it_cat_dir "$out" | awk -v lo="$1" -v hi="$2" '$1 >= lo && $1 <= hi'; }
# wait_range LO HI COUNT: waits (10 s) until COUNT lines of that range arrived.
wait_range() {
  local deadline=$(($(it_now_ms) + 10000))
  until [ "$(in_range "$1" "$2" | wc -l)" -ge "$3" ]; do
    it_alive a || it_fail "relayd exited"
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "only $(in_range "$1" "$2" | wc -l) of $3 lines $1..$2 arrived"
    sleep 0.05
  done
}

# ---- agents b and c: the polling fallback ----
shim="$TOP_BUILDDIR/tests/tools/.libs/inotify_fail.so"
[ -f "$shim" ] || it_fail "$shim not built (make check builds it)"
preload=$shim
if $IT_SANITIZED; then # the ASan runtime must come first in the list of preloaded libraries
  asan=$(ldd "$RELAYD" | awk '/libasan/ { print $3 }')
  [ -z "$asan" ] || preload="$asan:$shim"
fi
for x in b c; do
  mkdir -p "$d/poll-$x/p" "$d/poll-$x/q" "$IT_TMP/out-$x"
  seq 7000 7009 >"$d/poll-$x/p/app.log"
  cat >"$IT_TMP/$x.conf" <<EOF
$x.sources = r1
$x.channels = c1
$x.sinks = k1
$x.sources.r1.type = TAILDIR
$x.sources.r1.channels = c1
$x.sources.r1.filegroups = p q
$x.sources.r1.filegroups.p = $d/poll-$x/p/.*\\\\.log
$x.sources.r1.filegroups.q = $d/poll-$x/q/.*\\\\.log
$x.sources.r1.positionFile = $IT_TMP/pos-$x.json
$x.sources.r1.backoffSleepIncrement = 100
$x.sources.r1.maxBackoffSleep = 300
$x.channels.c1.type = memory
$x.sinks.k1.type = file_roll
$x.sinks.k1.channel = c1
$x.sinks.k1.sink.directory = $IT_TMP/out-$x
$x.sinks.k1.sink.rollInterval = 0
EOF
done
LD_PRELOAD=$preload RELAY_INOTIFY_FAIL=init it_start b -n b -f "$IT_TMP/b.conf"
LD_PRELOAD=$preload RELAY_INOTIFY_FAIL=watch it_start c -n c -f "$IT_TMP/c.conf"

exec 7>>"$d/rot/app.log" # the application's descriptor
it_start a -n a -f "$conf"
it_wait_log a 'source:TAILDIR:r4\] tailing groups=1 files=2 .*notify=inotify'

# 4. maxBatchCount: turns of one batch of 10 lines
wait_range 6000 6399 400
first=$(in_range 6000 6399 | head -n 40)
if [ "$(awk '$1 < 6200' <<<"$first" | wc -l)" -lt 10 ] || [ "$(awk '$1 >= 6200' <<<"$first" | wc -l)" -lt 10 ]; then
  it_fail "maxBatchCount = 1: the first 40 lines are not from both files: $(tr '\n' ' ' <<<"$first")"
fi

# 3. skipToEnd
seq 5010 5019 >>"$d/skip/old.log"
seq 5020 5029 >"$d/skip/new.log"
wait_range 5000 5099 20
it_assert_eq "skipToEnd: old lines skipped" "$(seq 5010 5029)" "$(in_range 5000 5099 | sort -n)"

# 1. written after a rotation by rename: inotify on the renamed file
seq 0 99 >&7
wait_range 0 999 100
mv "$d/rot/app.log" "$d/rot/app.log.1"
sleep 0.5 # the listing has run: app.log.1 is followed by inode only
t0=$(it_now_ms)
seq 100 199 >&7
wait_range 0 999 200
it_log "lines written to the rotated file arrived after $(($(it_now_ms) - t0)) ms"
exec 7>&-
seq 200 299 >"$d/rot/app.log"
wait_range 0 999 300

# 2. the directory goes away and comes back: polling, then inotify again
seq 1000 1009 >"$d/gone/x.log"
wait_range 1000 1999 10
rm -rf "$d/gone"
it_wait_log a 'source:TAILDIR:r2\] inotify unusable, polling instead: a watched directory went away'
mkdir -p "$d/gone"
seq 1010 1019 >"$d/gone/y.log"
wait_range 1000 1999 20
it_wait_log a 'source:TAILDIR:r2\] inotify watches every directory again, polling stopped'
seq 1020 1029 >>"$d/gone/y.log"
wait_range 1000 1999 30
it_assert_no_grep "the other sources kept inotify" "$IT_TMP/a.log" 'TAILDIR:r[134]\] inotify unusable'

# 5. polling: b and c
it_wait_log b 'inotify unusable, polling instead: Too many open files'
it_wait_log c 'inotify unusable, polling instead: watch .*: No space left on device'
for x in b c; do
  it_wait_log $x 'tailing groups=2 files=1 .*notify=polling'
  it_wait_lines "$IT_TMP/out-$x" 10 10 $x
  seq 7010 7019 >>"$d/poll-$x/p/app.log"
done
for x in b c; do
  it_wait_lines "$IT_TMP/out-$x" 20 10 $x
  mv "$d/poll-$x/p/app.log" "$d/poll-$x/p/app.log.1"
  seq 7020 7029 >>"$d/poll-$x/p/app.log.1"
  seq 7030 7039 >"$d/poll-$x/p/app.log"
  seq 7040 7049 >"$d/poll-$x/q/new.log"
done
for x in b c; do
  it_wait_lines "$IT_TMP/out-$x" 50 10 $x
done

sleep 0.3 # anything extra would show up now
it_stop a
for x in b c; do
  it_stop $x
  it_assert_eq "$x: polling logged once" 1 "$(it_count "$IT_TMP/$x.log" 'polling instead')"
  it_assert_eq "$x: exactly once" "$(seq 7000 7049)" "$(it_cat_dir "$IT_TMP/out-$x" | sort -n)"
done
check() { it_assert_eq "$1" "$(seq "$2" "$3")" "$(in_range "$2" "$3" | sort -n)"; }
check "r1 exactly once" 0 299
check "r2 exactly once" 1000 1029
check "r3 exactly once" 5010 5029
check "r4 exactly once" 6000 6399
echo "PASS: $IT_NAME"
