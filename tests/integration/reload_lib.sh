# reload_lib.sh - helpers shared by the live-reload tests (test_reload*.sh); sourced after lib.sh.

# reload_hup NAME REGEX: SIGHUP to the relayd started as NAME, then waits for one more line of its log
# matching REGEX (the reload's outcome).
reload_hup() {
  local before
  before=$(it_count "$IT_TMP/$1.log" "$2")
  kill -HUP "$(it_pid "$1")"
  it_wait_log "$1" "$2" $((before + 1))
}

# reload_metric PORT KEY FIELD: one value of the /metrics JSON served on PORT ("absent" when missing).
reload_metric() {
  "$PYTHON" -c 'import json, sys, urllib.request
m = json.load(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5))
print(m.get(sys.argv[2], {}).get(sys.argv[3], "absent"))' "$1" "$2" "$3"
}
