#!/usr/bin/env bash
# test_taildir_check.sh - relayd --check on TAILDIR configurations: a missing, non-directory or unreadable
# file-group directory, a positionFile whose directory cannot be written, two sources sharing one position
# file, a bad regex, a group without a path, headers for an unknown group; each names file, line, source and
# key. A valid TAILDIR configuration checks clean, and the counters (Flume's names plus BytesBehind per file
# group) show on /metrics and /prometheus. A live reload that changes a TAILDIR source restarts it with the
# same position file (the new source is not taken for a second one sharing it) and nothing is read twice.
. "$(dirname "$0")/lib.sh"

d="$IT_TMP/d"
mkdir -p "$d/logs" "$d/locked"
echo x >"$d/afile"
conf="$IT_TMP/bad.conf"
cat >"$conf" <<EOF
a.sources = r1 r2 r3 r4 r5 r6
a.channels = c1
a.sinks = k1
a.sources.r1.type = TAILDIR
a.sources.r1.channels = c1
a.sources.r1.filegroups = g1 g2
a.sources.r1.filegroups.g1 = $d/logs/.*
a.sources.r1.positionFile = $d/shared.json
a.sources.r1.headers.g9.x = 1
a.sources.r2.type = TAILDIR
a.sources.r2.channels = c1
a.sources.r2.filegroups = g1
a.sources.r2.filegroups.g1 = $d/logs/.*\\\\.log
a.sources.r2.positionFile = $d/../d/shared.json
a.sources.r3.type = TAILDIR
a.sources.r3.channels = c1
a.sources.r3.filegroups = g1
a.sources.r3.filegroups.g1 = $d/nonexistent/.*
a.sources.r3.positionFile = $d/p3.json
a.sources.r4.type = TAILDIR
a.sources.r4.channels = c1
a.sources.r4.filegroups = g1
a.sources.r4.filegroups.g1 = $d/afile/.*
a.sources.r4.positionFile = $d/p4.json
a.sources.r5.type = TAILDIR
a.sources.r5.channels = c1
a.sources.r5.filegroups = g1
a.sources.r5.filegroups.g1 = $d/logs/([a-z
a.sources.r5.positionFile = $d/p5.json
a.sources.r6.type = TAILDIR
a.sources.r6.channels = c1
a.sources.r6.filegroups = g1
a.sources.r6.filegroups.g1 = $d/logs/x
a.sources.r6.positionFile = $d/afile/sub/p6.json
a.channels.c1.type = memory
a.sinks.k1.type = null
a.sinks.k1.channel = c1
EOF
it_run_expect check 1 --check -n a -f "$conf"
cat "$IT_TMP/check.out"
it_assert_grep "group without path" "$IT_TMP/check.out" "bad.conf:[0-9]+: sources.r1: filegroups.g2: missing; file group g2 dropped"
it_assert_grep "unknown header group" "$IT_TMP/check.out" "sources.r1: headers.g9.x: not headers"
it_assert_grep "shared position file" "$IT_TMP/check.out" \
  "bad.conf:14: sources.r2: positionFile: .*/d/shared.json is already the position file of source r1; source r2 removed"
it_assert_grep "missing directory" "$IT_TMP/check.out" \
  "bad.conf:18: sources.r3: filegroups.g1: directory .*/nonexistent does not exist; source r3 removed"
it_assert_grep "not a directory" "$IT_TMP/check.out" "sources.r4: filegroups.g1: directory .*/afile is not a directory"
it_assert_grep "bad regex" "$IT_TMP/check.out" "sources.r5: filegroups.g1: .*source r5 removed"
it_assert_grep "position dir" "$IT_TMP/check.out" "sources.r6: positionFile: .*/afile is not a directory; source r6 removed"
if [ "$(id -u)" != 0 ]; then
  chmod 000 "$d/locked"
  cat >"$IT_TMP/perm.conf" <<EOF
a.sources = r1 r2
a.channels = c1
a.sinks = k1
a.sources.r1.type = TAILDIR
a.sources.r1.channels = c1
a.sources.r1.filegroups = g1
a.sources.r1.filegroups.g1 = $d/locked/.*
a.sources.r1.positionFile = $d/p1.json
a.sources.r2.type = TAILDIR
a.sources.r2.channels = c1
a.sources.r2.filegroups = g1
a.sources.r2.filegroups.g1 = $d/logs/.*
a.sources.r2.positionFile = $d/locked/sub/p2.json
a.channels.c1.type = memory
a.sinks.k1.type = null
a.sinks.k1.channel = c1
EOF
  it_run_expect perm 1 --check -n a -f "$IT_TMP/perm.conf"
  chmod 755 "$d/locked"
  it_assert_grep "unreadable directory" "$IT_TMP/perm.out" "sources.r1: filegroups.g1: directory .*/locked cannot be read"
  it_assert_grep "unwritable position dir" "$IT_TMP/perm.out" "sources.r2: positionFile: .*/locked is not writable"
else
  it_log "running as root: permission cases not checked (root reads and writes everything)"
fi

# A good configuration: clean check, then counters on /metrics and /prometheus.
printf '1\n2\n3\npartial' >"$d/logs/a.log"
port=$(it_free_port)
cat >"$IT_TMP/good.conf" <<EOF
a.sources = r1
a.channels = c1
a.sinks = k1
a.sources.r1.type = TAILDIR
a.sources.r1.channels = c1
a.sources.r1.filegroups = g1
a.sources.r1.filegroups.g1 = $d/logs/.*\\\\.log
a.sources.r1.positionFile = $d/good.json
a.channels.c1.type = memory
a.sinks.k1.type = null
a.sinks.k1.channel = c1
EOF
it_run_expect good 0 --check -n a -f "$IT_TMP/good.conf"
it_start a -n a -f "$IT_TMP/good.conf" --metrics-port "$port"
it_wait_port a "$port"
deadline=$(($(it_now_ms) + 20000))
until curl -sf "http://127.0.0.1:$port/metrics" | grep -q '"EventAcceptedCount":"3"'; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "EventAcceptedCount never reached 3"
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/metrics" >"$IT_TMP/metrics.json"
curl -sf "http://127.0.0.1:$port/prometheus" >"$IT_TMP/prom.txt"
it_assert_grep "AppendBatchAcceptedCount" "$IT_TMP/metrics.json" '"AppendBatchAcceptedCount":"1"'
it_assert_grep "BytesBehind per group (json)" "$IT_TMP/metrics.json" '"BytesBehind.g1":"7"'
it_assert_grep "BytesBehind per group (prometheus)" "$IT_TMP/prom.txt" \
  '^relayd_source_bytes_behind\{agent="a",component="r1",type="TAILDIR",filegroup="g1"\} 7$'
echo "a.sources.r1.batchSize = 50" >>"$IT_TMP/good.conf"
kill -HUP "$(it_pid a)"
it_wait_log a 'reload of agent a done in .*restarted: source r1;'
echo "done" >>"$d/logs/a.log"
deadline=$(($(it_now_ms) + 20000))
until curl -sf "http://127.0.0.1:$port/metrics" | grep -q '"EventAcceptedCount":"1"'; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "the line appended after the reload was not read once"
  sleep 0.1
done
it_stop a
echo "PASS: $IT_NAME"
