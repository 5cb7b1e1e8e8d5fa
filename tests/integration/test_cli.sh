#!/usr/bin/env bash
# test_cli.sh - relayd's command line: usage errors (exit 2), --help, --version, long option forms, -c DIR,
# the default configuration path, --log-level, and the log line format.
. "$(dirname "$0")/lib.sh"

bundled="$TOP_SRCDIR/conf/relayd.conf"
# The bundled demo agent's file_roll sink writes there; --check reports a missing directory (scripts/demo
# creates it the same way).
mkdir -p /tmp/relayd-demo

# Usage errors exit 2 with a message on stderr.
it_run_expect no-args 2
it_assert_grep "missing -n is explained" "$IT_TMP/no-args.log" '-n NAME'
it_run_expect no-name 2 -f "$bundled" --check
it_run_expect unknown-option 2 --no-such-option -n demo
it_run_expect extra-arg 2 -n demo -f "$bundled" surplus
it_run_expect bad-level 2 --log-level loud -n demo -f "$bundled" --check
it_assert_grep "unknown level is named" "$IT_TMP/bad-level.log" "loud"
it_run_expect missing-value 2 -n

# --help and --version go to stdout and exit 0.
it_run_expect help 0 --help
for opt in --name --conf-file --conf --check --log-level; do
  it_assert_grep "--help mentions $opt" "$IT_TMP/help.out" "$opt"
done
it_run_expect version 0 --version
it_assert_grep "--version" "$IT_TMP/version.out" '^relayd [0-9]+\.[0-9]+\.[0-9]+'

# Short and long forms; levels are case-insensitive.
it_check_clean short -n demo -f "$bundled"
it_check_clean long --name demo --conf-file "$bundled"
it_check_clean level --log-level WARN --name=demo --conf-file="$bundled"

# -c DIR reads DIR/relayd.conf.
mkdir -p "$IT_TMP/etc"
cat >"$IT_TMP/etc/relayd.conf" <<EOF
x.sources = r1
x.channels = c1
x.sinks = k1
x.sources.r1.type = seq
x.sources.r1.channels = c1
x.channels.c1.type = memory
x.sinks.k1.type = null
x.sinks.k1.channel = c1
EOF
it_run_expect conf-dir 0 -c "$IT_TMP/etc" -n x --check
it_assert_grep "-c DIR reads DIR/relayd.conf" "$IT_TMP/conf-dir.out" "^$IT_TMP/etc/relayd.conf: agent x: 0 problem"
it_run_expect conf-dir-long 0 --conf "$IT_TMP/etc" -n x --check
it_run_expect conf-dir-missing 1 -c "$IT_TMP/nonexistent" -n x --check

# Without -f or -c, from the source tree: conf/relayd.conf.
(cd "$TOP_SRCDIR" && it_check_clean default-path -n demo) || exit 1
it_assert_grep "default configuration path" "$IT_TMP/default-path.out" '^conf/relayd\.conf: agent demo: [0-9]+ problem'

# Log format: "<UTC time with ms> LEVEL [kind:type:name] message key=value", and --log-level filters.
port=$(it_free_port)
conf="$IT_TMP/nc.conf"
cat >"$conf" <<EOF
a.sources = r1
a.channels = c1
a.sinks = k1
a.sources.r1.type = netcat
a.sources.r1.bind = 127.0.0.1
a.sources.r1.port = $port
a.sources.r1.channels = c1
a.channels.c1.type = memory
a.sinks.k1.type = null
a.sinks.k1.channel = c1
EOF
it_start info -n a -f "$conf"
it_wait_listening info 1
it_stop info INT
it_assert_grep "log line format" "$IT_TMP/info.log" \
  "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z INFO  \[source:netcat:r1\] listening bind=127\.0\.0\.1 port=$port( |$)"
it_assert_grep "SIGINT is logged" "$IT_TMP/info.log" 'INFO .*SIGINT'
if grep -vE '^20[0-9-]{8}T[0-9:]{8}\.[0-9]{3}Z (ERROR|WARN |INFO |DEBUG|TRACE) [^ ]' "$IT_TMP/info.log"; then
  it_fail "the lines above lack the time and level"
fi

it_start warn --log-level warn -n a -f "$conf"
it_wait_port warn "$port"
replies=$(it_client "$port" hello)
it_assert_eq "served at --log-level warn" OK "$replies"
it_stop warn
it_assert_no_grep "--log-level warn hides info" "$IT_TMP/warn.log" ' (INFO|DEBUG|TRACE) '

it_start debug --log-level debug -n a -f "$conf"
it_wait_listening debug 1
it_stop debug
echo "PASS: $IT_NAME"
