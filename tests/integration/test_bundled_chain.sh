#!/usr/bin/env bash
# test_bundled_chain.sh - the bundled conf/relayd.conf chain, as ./scripts/demo runs it: edge -> collector ->
# terminal over Avro RPC, on free ports (a copy of the file with its three ports replaced).
#
# Lines sent to edge's netcat source must each be acknowledged and show up, in order and with the headers
# edge's interceptors add (origin=edge, timestamp), in the terminal's logger output; then the three agents
# stop on SIGTERM, upstream first, each with status 0. A line appended to the log file edge's TAILDIR source
# tails (moved from /tmp into the test's directory) arrives at the terminal too, with origin=edge-log.
# Skipped when this build cannot run the chain (`relayd --check -n edge` fails, e.g. without Avro RPC).
. "$(dirname "$0")/lib.sh"

conf="$IT_TMP/relayd.conf"
edge_port=$(it_free_port)
collector_port=$(it_free_port)
terminal_port=$(it_free_port)
sed -e "s/^\(edge\.sources\.lines\.port *= *\)44444 *\$/\1$edge_port/" \
  -e "s/^\(\(edge\.sinks\.to_collector\|collector\.sources\.from_edges\)\.port *= *\)41414 *\$/\1$collector_port/" \
  -e "s/^\(\(collector\.sinks\.to_terminal\|terminal\.sources\.from_collectors\)\.port *= *\)41415 *\$/\1$terminal_port/" \
  -e "s|/tmp/relayd-edge|$IT_TMP/relayd-edge|" \
  "$TOP_SRCDIR/conf/relayd.conf" >"$conf"
if [ "$(grep -cE "= *($edge_port|$collector_port|$terminal_port)\$" "$conf")" -ne 5 ]; then
  grep -n 'port' "$conf"
  it_fail "test bug: the port lines of conf/relayd.conf changed; update the sed above"
fi

for agent in edge collector terminal; do
  it_run "check-$agent" --check -n "$agent" -f "$conf"
  if [ "$IT_STATUS" -ne 0 ]; then
    cat "$IT_TMP/check-$agent.out"
    it_skip "agent $agent does not pass --check in this build"
  fi
done

it_start terminal -n terminal -f "$conf"
it_wait_listening terminal 1
it_start collector -n collector -f "$conf"
it_wait_listening collector 1
it_start edge -n edge -f "$conf"
it_wait_listening edge 1

count=50
replies=$(it_client "$edge_port" --count "$count" --prefix chain)
it_assert_eq "edge acknowledges every line" "$(yes OK | head -n "$count")" "$replies"
it_wait_log terminal 'INFO +\[sink:logger:log\] Event: ' "$count"
# The logger shows each body in hex and as text (16 bytes a row); the headers come first.
grep -E '\[sink:logger:log\] Event: ' "$IT_TMP/terminal.log" >"$IT_TMP/events"
it_assert_eq "events at the terminal" "$count" "$(wc -l <"$IT_TMP/events")"
it_assert_eq "events with the header origin=edge" "$count" "$(grep -cE 'headers:\{.*origin=edge' "$IT_TMP/events")"
it_assert_eq "events with a timestamp header" "$count" "$(grep -cE 'headers:\{.*timestamp=[0-9]{13}' "$IT_TMP/events")"
# Bodies in order: chain-0 .. chain-49 (the text column of the first row holds "chain-N").
order=$(grep -oE 'chain-[0-9]+' "$IT_TMP/events" | tr '\n' ' ')
it_assert_eq "order of the events" "$(for ((i = 0; i < count; i++)); do printf 'chain-%d ' "$i"; done)" "$order"
[ "$(grep -c "^edge\.sources\.applog\..* = $IT_TMP/relayd-edge" "$conf")" -eq 2 ] \
  || it_fail "test bug: edge's applog source changed; update the sed above"
echo "tailed-line" >>"$IT_TMP/relayd-edge.log"
it_wait_log terminal 'Event: \{ headers:\{.*origin=edge-log.*tailed-line' 1

it_stop edge
it_stop collector
it_stop terminal
echo "PASS: $IT_NAME"
