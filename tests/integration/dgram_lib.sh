# dgram_lib.sh - datagram listeners for the tests of relayd's datagram outputs (systemd notify, syslog, the
# journal): test_sd_notify.sh and test_log_targets.sh. Source after lib.sh.
# shellcheck shell=bash

# dgram_listen NAME ADDRESS: a datagram socket of ours in the background (tests/tools/dgram_sink.py; ADDRESS
# a path, or @name for an abstract socket); each datagram becomes one JSON line of $IT_TMP/NAME.jsonl.
dgram_listen() {
  "$PYTHON" "$IT_TOOLS/dgram_sink.py" "$2" "$IT_TMP/$1.jsonl" 2>"$IT_TMP/$1.log" &
  IT_PIDS[$1]=$!
  local deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
  until [ -e "$IT_TMP/$1.jsonl.ready" ]; do
    [ "$(it_now_ms)" -le "$deadline" ] || it_fail "listener $1 did not bind $2"
    sleep 0.02
  done
}

# dgram_wait FILE REGEX [COUNT]: waits until COUNT datagrams (default 1) in FILE match REGEX.
dgram_wait() {
  local deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
  while [ "$(it_count "$1" "$2")" -lt "${3:-1}" ]; do
    [ "$(it_now_ms)" -le "$deadline" ] || { cat "$1"; it_fail "no ${3:-1} datagram(s) matching '$2' in $(basename "$1")"; }
    sleep 0.02
  done
}
