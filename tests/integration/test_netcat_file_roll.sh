#!/usr/bin/env bash
# test_netcat_file_roll.sh - netcat source -> memory channel -> file_roll sink, through the real relayd.
#
# Checks Flume's netcat protocol end to end: every line gets "OK" and arrives in the file in order (one at a
# time and pipelined); "\r\n" keeps the "\r" in the body; a line of max-line-length characters or more
# (newline included) gets exactly Flume's FAILED text and the connection is closed while relayd keeps serving
# the next client; an idle client holding half a line does not block others; with ack-every-event=false no
# reply is sent. Finally SIGTERM stops relayd with status 0.
. "$(dirname "$0")/lib.sh"

port=$(it_free_port)
port2=$(it_free_port)
out="$IT_TMP/out"
mkdir -p "$out"
conf="$IT_TMP/a.conf"
cat >"$conf" <<EOF
a.sources = r1 r2
a.channels = c1
a.sinks = k1
a.sources.r1.type = netcat
a.sources.r1.bind = 127.0.0.1
a.sources.r1.port = $port
a.sources.r1.max-line-length = 20
a.sources.r1.channels = c1
a.sources.r2.type = NETCAT
a.sources.r2.bind = 127.0.0.1
a.sources.r2.port = $port2
a.sources.r2.ack-every-event = false
a.sources.r2.channels = c1
a.channels.c1.type = memory
a.channels.c1.capacity = 1000
a.channels.c1.transactionCapacity = 100
a.sinks.k1.type = file_roll
a.sinks.k1.channel = c1
a.sinks.k1.sink.directory = $out
a.sinks.k1.sink.rollInterval = 0
a.sinks.k1.sink.batchSize = 10
EOF

it_start a -n a -f "$conf"
it_wait_listening a 2
it_assert_grep "listening line" "$IT_TMP/a.log" \
  "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z INFO +\[source:netcat:r1\] listening bind=127\.0\.0\.1 port=$port( |$)"

expected="$IT_TMP/expected"
: >"$expected"

# 1. One line at a time, each acknowledged before the next.
replies=$(it_client "$port" --count 200 --prefix line)
it_assert_eq "200 acknowledged lines" "$(yes OK | head -n 200)" "$replies"
for i in $(seq 0 199); do echo "line-$i"; done >>"$expected"

# 2. Pipelined: 300 lines in one write, 300 replies.
replies=$(it_client "$port" --count 300 --prefix pipe --pipeline)
it_assert_eq "300 pipelined lines" "$(yes OK | head -n 300)" "$replies"
for i in $(seq 0 299); do echo "pipe-$i"; done >>"$expected"

# 3. "\r\n": Flume splits on "\n" only, the "\r" stays in the body.
replies=$(it_client "$port" --escapes 'crlf\r')
it_assert_eq "CRLF line" "OK" "$replies"
printf 'crlf\r\n' >>"$expected"

# 4. Over-long line: 19 characters + newline fit in 20, 20 + newline do not.
nineteen=abcdefghijklmnopqrs
twenty=abcdefghijklmnopqrst
replies=$(it_client "$port" short "$nineteen" "$twenty" --wait-close 5)
it_assert_eq "over-long line" "OK
OK
FAILED: Event exceeds the maximum length (20 chars, including newline)
<closed>" "$replies"
printf 'short\n%s\n' "$nineteen" >>"$expected"
replies=$(it_client "$port" "$nineteen$twenty$twenty" --wait-close 5)
it_assert_eq "much longer line" "FAILED: Event exceeds the maximum length (20 chars, including newline)
<closed>" "$replies"

# 5. The next client is served; so is one that connects while another holds half a line.
replies=$(it_client "$port" after)
it_assert_eq "client after the over-long line" "OK" "$replies"
echo after >>"$expected"
exec 7<>"/dev/tcp/127.0.0.1/$port"
printf 'half a li' >&7
replies=$(it_client "$port" concurrent)
it_assert_eq "client next to an idle one" "OK" "$replies"
echo concurrent >>"$expected"

it_wait_lines "$out" "$(wc -l <"$expected")" 20 a
it_assert_eq "file_roll output" "$(cat "$expected")" "$(it_cat_dir "$out")"
exec 7>&-

# 6. ack-every-event=false: events arrive, no reply is sent.
replies=$(it_client "$port2" --count 5 --prefix quiet --no-ack --wait-close 1)
it_assert_eq "no replies with ack-every-event=false" "<open>" "$replies"
for i in $(seq 0 4); do echo "quiet-$i"; done >>"$expected"
it_wait_lines "$out" "$(wc -l <"$expected")" 20 a
it_assert_eq "file_roll output after quiet source" "$(cat "$expected")" "$(it_cat_dir "$out")"

it_stop a
it_assert_eq "one file with rollInterval=0" 1 "$(find "$out" -type f | wc -l)"
echo "PASS: $IT_NAME"
