#!/usr/bin/env bash
# test_help_components.sh - `relayd --help-components` and the README's component reference (issue 19).
#
# (a) The README section between the BEGIN/END markers is exactly `relayd --help-components --markdown`, so
#     the documented keys and defaults cannot drift from the option tables (make update-readme-components
#     rewrites it).
# (b) The commands a newcomer types: --help-components (every kind, interceptors and channel selectors too),
#     with a type, with a kind, and with an unknown type (exit 2, the known types listed); it needs no -n and
#     reads no configuration.
. "$(dirname "$0")/lib.sh"

README="$TOP_SRCDIR/README.md"
it_run_expect md 0 --help-components --markdown
sed -n '/^<!-- BEGIN relayd --help-components --markdown/,/^<!-- END relayd --help-components/p' "$README" \
  | sed '1d;$d' >"$IT_TMP/readme.md"
[ -s "$IT_TMP/readme.md" ] || it_fail "README.md has no generated component reference between the markers"
if ! diff -u "$IT_TMP/readme.md" "$IT_TMP/md.out" >"$IT_TMP/diff"; then
  head -n 40 "$IT_TMP/diff"
  it_fail "README's component reference differs from relayd --help-components --markdown (run: make update-readme-components)"
fi
for kind in Sources Channels Sinks "Sink processors" Interceptors "Channel selectors"; do
  it_assert_grep "README section for $kind" "$IT_TMP/readme.md" "^### $kind\$"
done

it_run_expect all 0 --help-components
for line in '^sources: ' '^channels: ' '^sinks: ' '^sinkgroups: ' '^  file \(org.apache.flume.channel.file.FileChannel\)' \
  '^    transport \(enum netty\|http, default netty\): ' '^    sink.directory \(string, required\): ' \
  '^interceptors: ' '^  timestamp \(org.apache.flume.interceptor.TimestampInterceptor\$Builder\): ' \
  '^    preserveExisting \(bool, default true\): ' '^    fromListSeparator \(string, default \\s\*,\\s\*\): ' \
  '^selectors: ' '^  multiplexing \(org.apache.flume.channel.MultiplexingChannelSelector\): ' \
  '^    header \(string, default flume.selector.header\): ' '^    policy \(enum round_robin\|random, default round_robin\): '; do
  it_assert_grep "--help-components lists $line" "$IT_TMP/all.out" "$line"
done
it_run_expect one 0 --help-components file_roll
it_assert_eq "one type: one class" 1 "$(grep -c '^  [a-z_]* (' "$IT_TMP/one.out")"
it_run_expect kind 0 --help-components channels
channels=2 # memory and file; kafka too when relayd was built with librdkafka
grep -q '^  kafka (org.apache.flume.channel.kafka.KafkaChannel)' "$IT_TMP/kind.out" && channels=3
it_assert_grep "the memory channel is listed" "$IT_TMP/kind.out" '^  memory \('
it_assert_grep "the file channel is listed" "$IT_TMP/kind.out" '^  file \('
it_assert_eq "a kind: its classes" "$channels" "$(grep -c '^  [a-z_]* (' "$IT_TMP/kind.out")"
it_run_expect parts 0 --help-components interceptors
it_assert_eq "interceptors: the five built-in types" "timestamp host static regex_filter remove_header" \
  "$(sed -n 's/^  \([a-z_]*\) (.*/\1/p' "$IT_TMP/parts.out" | tr '\n' ' ' | sed 's/ $//')"
it_run_expect selectors 0 --help-components selectors
it_assert_eq "selectors: the three built-in types" "replicating multiplexing load_balancing" \
  "$(sed -n 's/^  \([a-z_]*\) (.*/\1/p' "$IT_TMP/selectors.out" | tr '\n' ' ' | sed 's/ $//')"
it_run_expect bad 2 --help-components nosuch
it_assert_grep "unknown type names the known ones" "$IT_TMP/bad.log" "unknown component type 'nosuch'; known types: sources: .*avro"
it_run_expect help 0 --help
it_assert_grep "--help points to --help-components" "$IT_TMP/help.out" 'relayd --help-components \[TYPE\]'
echo "PASS: $IT_NAME"
