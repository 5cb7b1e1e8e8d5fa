#!/usr/bin/env bash
# installcheck.sh - `make installcheck` (issue 15): the installed programs run, the installed manual pages
# and systemd unit are there and sane. Arguments: DESTDIR SBINDIR BINDIR MANDIR UNITDIR SYSCONFDIR.
set -euo pipefail
d=$1 sbindir=$2 bindir=$3 mandir=$4 unitdir=$5 sysconfdir=$6
fail() {
  echo "installcheck: $*" >&2
  exit 1
}
"$d$sbindir/relayd" --version | grep -q '^relayd ' || fail "relayd --version"
"$d$bindir/relay-send" --help >/dev/null || fail "relay-send --help"
RELAYD="$d$sbindir/relayd" "$d$bindir/flume-ng" version | grep -q '^relayd ' || fail "flume-ng version"
# the installed relayd reads and checks a configuration (the installed relayd.conf is there too)
[ -s "$d$sysconfdir/relayd.conf" ] || fail "missing $sysconfdir/relayd.conf"
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
printf '%s\n' 'x.sources = s' 'x.channels = c' 'x.sinks = k' 'x.sources.s.type = seq' 'x.sources.s.channels = c' \
  'x.channels.c.type = memory' 'x.sinks.k.type = null' 'x.sinks.k.channel = c' >"$conf"
"$d$sbindir/relayd" --check -n x -f "$conf" >/dev/null 2>&1 || fail "relayd --check"
for page in man8/relayd.8 man5/relayd.conf.5 man1/relay-send.1 man8/relayd-fcdump.8 man1/flume-ng.1; do
  [ -s "$d$mandir/$page" ] || fail "missing $mandir/$page"
  if command -v mandoc >/dev/null && [ -n "$(mandoc -T lint "$d$mandir/$page" 2>&1)" ]; then
    fail "mandoc -T lint $page"
  fi
done
grep -q "^ExecStart=$sbindir/relayd -n %i -f $sysconfdir/relayd.conf$" "$d$unitdir/relayd@.service" ||
  fail "relayd@.service does not run $sbindir/relayd on $sysconfdir/relayd.conf"
echo "installcheck: relayd, relay-send, flume-ng, 5 manual pages and relayd@.service are in place"
