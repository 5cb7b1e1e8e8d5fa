#!/usr/bin/env bash
# tests/fuzz/make_corpus_sources.sh - regenerates the seed corpora of fuzz_syslog, fuzz_taildir_position and
# fuzz_spooldir_tracker from real clients and a real relayd.
#
# Usage: tests/fuzz/make_corpus_sources.sh BUILD_DIR   (any build with BUILD_DIR/src/relayd)
# Starts relayd with a syslogtcp source behind tests/fuzz/capture_proxy.py and sends it messages from
# util-linux logger (RFC 5424 with structured data, RFC 3164, RFC 6587 octet counting), Python's
# logging.handlers.SysLogHandler over TCP (NUL-terminated) and rsyslogd forwarding with omfwd (octet-counted
# RFC 5424 and newline-framed RFC 3164): each connection's bytes become a fuzz_syslog seed (control byte 0,
# eventSize byte 255 = 1030 bytes; one copy with byte 5 = 30 bytes, so messages are cut). The same relayd
# runs a TAILDIR source over two files (one with a space and a non-ASCII name) whose position file seeds
# fuzz_taildir_position, and a spooldir source held by a full channel, whose progress record seeds
# fuzz_spooldir_tracker (control byte 0). Needs logger, rsyslogd and /usr/bin/python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
CORPUS=$ROOT/tests/fuzz/corpus
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SL=$(port)
mkdir -p "$TMP/tail" "$TMP/spool" "$TMP/track"
printf 'first line\nsecond line\n' >"$TMP/tail/app one.log"
printf 'caf\xc3\xa9 line\n' >"$TMP/tail/$(printf 'caf\xc3\xa9.log')"
seq 1 200 | sed 's/^/spooled event /' >"$TMP/spool/events.log"
cat >"$TMP/cap.conf" <<CONF
cap.sources = sl td sd
cap.channels = c small
cap.sinks = k
cap.sources.sl.type = syslogtcp
cap.sources.sl.host = 127.0.0.1
cap.sources.sl.port = $SL
cap.sources.sl.channels = c
cap.sources.td.type = TAILDIR
cap.sources.td.filegroups = g
cap.sources.td.filegroups.g = $TMP/tail/.*\\.log
cap.sources.td.positionFile = $TMP/taildir_position.json
cap.sources.td.writePosInterval = 200
cap.sources.td.channels = c
cap.sources.sd.type = spooldir
cap.sources.sd.spoolDir = $TMP/spool
cap.sources.sd.trackerDir = $TMP/track
cap.sources.sd.batchSize = 7
cap.sources.sd.channels = small
cap.channels.c.type = memory
cap.channels.small.type = memory
cap.channels.small.capacity = 20
cap.channels.small.transactionCapacity = 10
cap.sinks.k.type = null
cap.sinks.k.channel = c
CONF
"$BUILD/src/relayd" -n cap -f "$TMP/cap.conf" >"$TMP/relayd.log" 2>&1 &
RELAYD=$!
sleep 2

P=$(port)
/usr/bin/python3 "$ROOT/tests/fuzz/capture_proxy.py" "$P" "$SL" "$TMP/cap" &
PROXY=$!
sleep 0.5
printf 'first message\nsecond message with  two  spaces\n' >"$TMP/lines"
logger --tcp -n 127.0.0.1 -P "$P" --rfc5424 -t app --msgid ID47 --sd-id 'exampleSDID@32473' \
  --sd-param 'iut="3"' --sd-param 'eventSource="Application"' -f "$TMP/lines"
logger --tcp -n 127.0.0.1 -P "$P" --rfc5424 --octet-count -t app -p local4.warning -f "$TMP/lines"
logger --tcp -n 127.0.0.1 -P "$P" --rfc3164 -t sshd -i -p auth.info 'Accepted publickey for root'
/usr/bin/python3 - "$P" <<'PY'
import logging, logging.handlers, socket, sys
h = logging.handlers.SysLogHandler(address=("127.0.0.1", int(sys.argv[1])), socktype=socket.SOCK_STREAM,
                                   facility=logging.handlers.SysLogHandler.LOG_LOCAL0)
log = logging.getLogger("py")
log.addHandler(h)
log.warning("python handler %s", "warning")
log.error("caf\u00e9 \u2028 error")
h.close()
PY
RU=$(port)
mkdir -p "$TMP/rs"
cat >"$TMP/rsyslog.conf" <<CONF
global(workDirectory="$TMP/rs")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$RU")
action(type="omfwd" target="127.0.0.1" port="$P" protocol="tcp" TCP_Framing="octet-counted"
       template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="$P" protocol="tcp" template="RSYSLOG_ForwardFormat")
CONF
rsyslogd -n -f "$TMP/rsyslog.conf" -i "$TMP/rs/pid" >"$TMP/rsyslogd.log" 2>&1 &
RSYSLOGD=$!
sleep 1
logger -d -n 127.0.0.1 -P "$RU" --rfc3164 -t cron -p cron.notice 'job started'
logger -d -n 127.0.0.1 -P "$RU" --rfc5424 -t kernel -p kern.crit --sd-id 'origin' --sd-param 'ip="192.0.2.1"' 'disk full'
sleep 1
kill -TERM "$RSYSLOGD"
wait "$RSYSLOGD" || true
sleep 1
kill "$PROXY"
sleep 0.5
kill -TERM "$RELAYD"
wait "$RELAYD" || true

seed() { # seed TARGET NAME CONTROL_BYTES FILE
  mkdir -p "$CORPUS/$1"
  { printf "$3"; cat "$4"; } >"$CORPUS/$1/$2"
}
n=0
for f in "$TMP"/cap-*; do
  seed fuzz_syslog "client-$n" '\x00\xff' "$f"
  n=$((n + 1))
done
seed fuzz_syslog "client-0-cut" '\x00\x05' "$TMP/cap-0"
seed fuzz_taildir_position relayd-written '' "$TMP/taildir_position.json"
seed fuzz_spooldir_tracker relayd-written '\x00' "$TMP/track/relayd-spooldir.tracker"
ls -l "$CORPUS"/fuzz_syslog "$CORPUS"/fuzz_taildir_position "$CORPUS"/fuzz_spooldir_tracker
