#!/usr/bin/env bash
# test_plugins.sh - plugins built out of tree against the installed relayd/plugin.h load and run (issue 17).
#
# Installs relayd/plugin.h and relayd-plugin.pc into a temporary DESTDIR, compiles tests/tools/plugin_example.c
# with nothing but `pkg-config --cflags relayd-plugin` into plugins.d/example/lib/ (its dependency
# libexdep.so into plugins.d/example/libext/), plus four broken builds of it: one claiming another interface
# version, one without relayd_plugin_register, one whose registration fails, one registering types relayd
# already has. Then:
#   - relayd --check reports the four broken libraries by file name and reason, a type no plugin provides as
#     an unknown type, a plugin option out of range, a plugin batchSize over transactionCapacity and plugin
#     configure errors, for sources, sinks, interceptors and selectors, each naming file:line and component;
#   - a plugin interceptor (adds a header, drops events) and a plugin selector (routes by that header) run
#     on an event-driven plugin source, after a built-in interceptor: each channel gets exactly its events,
#     with the header;
#   - an agent (finding plugins.d beside its configuration directory) runs the pollable example_seq source
#     into the example_file sink: every number arrives once, the bookmark (saved after each channel commit)
#     ends at totalEvents, the counters are Flume's; after a restart the source resumes from its bookmark.
. "$(dirname "$0")/lib.sh"

command -v pkg-config >/dev/null || it_skip "pkg-config is not installed"
CC=${CC:-cc}
dest="$IT_TMP/dest"
make -s -C "$TOP_BUILDDIR" install-pluginincludeHEADERS install-pkgconfigDATA DESTDIR="$dest" \
  >"$IT_TMP/install.log" 2>&1 || {
  cat "$IT_TMP/install.log"
  it_fail "make install into DESTDIR failed"
}
pc=$(find "$dest" -name relayd-plugin.pc | head -n 1)
[ -n "$pc" ] || it_fail "relayd-plugin.pc not installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s#^prefix=.*#prefix=$dest$prefix#" "$pc"
export PKG_CONFIG_PATH="$(dirname "$pc")"
[ -f "$(pkg-config --variable=includedir relayd-plugin)/relayd/plugin.h" ] || it_fail "relayd/plugin.h not installed"
it_assert_eq "plugindir" "$dest$prefix/lib/relayd/plugins.d" "$(pkg-config --variable=plugindir relayd-plugin)"

# Sanitizer builds: the plugin is instrumented like relayd.
san=$(sed -n 's/^RELAY_SAN_CFLAGS = //p' "$TOP_BUILDDIR/Makefile")
src="$TOP_SRCDIR/tests/tools/plugin_example.c"
pd="$IT_TMP/plugins.d"
mkdir -p "$pd/example/lib" "$pd/example/libext" "$pd/wrong/lib" "$pd/nosym/lib" "$pd/fails/lib" "$pd/dup/lib"
echo 'const char *exdep_suffix(void); const char *exdep_suffix(void) { return ""; }' >"$IT_TMP/exdep.c"
# shellcheck disable=SC2086
$CC -shared -fPIC $san -Wl,-soname,libexdep.so -o "$pd/example/libext/libexdep.so" "$IT_TMP/exdep.c" ||
  it_fail "building libexdep.so failed"
build_plugin() { # OUT EXTRA_FLAGS...
  local out=$1
  shift
  # shellcheck disable=SC2046,SC2086
  $CC -std=c11 -Wall -Wextra "$@" -shared -fPIC $san -o "$out" "$src" $(pkg-config --cflags --libs relayd-plugin) \
    -L"$pd/example/libext" -lexdep 2>"$IT_TMP/cc.log" || {
    cat "$IT_TMP/cc.log"
    it_fail "compiling $out against the installed header failed"
  }
}
build_plugin "$pd/example/lib/example.so" -Werror
build_plugin "$pd/wrong/lib/wrong.so" -DEXAMPLE_WRONG_VERSION
build_plugin "$pd/nosym/lib/nosym.so" -DEXAMPLE_NO_REGISTER
build_plugin "$pd/fails/lib/fails.so" -DEXAMPLE_REGISTER_FAILS
build_plugin "$pd/dup/lib/dup.so" -DEXAMPLE_DUPLICATE
mkdir -p "$pd/dup/libext" # dup loads before example: it needs its own copy of the dependency
cp "$pd/example/libext/libexdep.so" "$pd/dup/libext/"
# --help-components shows a plugin's keys (and its own rows: the pollable runner's backoff keys).
it_run help --help-components example_seq --plugins-path "$pd"
it_assert_eq "--help-components exit status" 0 "$IT_STATUS"
it_assert_grep "plugin keys in --help-components" "$IT_TMP/help.out" "bookmarkFile \(string, required\): where the next"
it_assert_grep "runner keys in --help-components" "$IT_TMP/help.out" "maxBackoffSleep \(int, default 5000"
# ... and the plugin's interceptor and selector, listed after the built-in ones of their kind.
it_run parts --help-components --plugins-path "$pd"
it_assert_grep "plugin interceptor in --help-components" "$IT_TMP/parts.out" "^  example_mod \(org.example.ExampleModInterceptor\\\$Builder\): sets a header"
it_assert_grep "plugin interceptor keys in --help-components" "$IT_TMP/parts.out" "^    modulus \(int, default 2, range 1\.\.1000\): divisor\$"
it_assert_grep "plugin selector in --help-components" "$IT_TMP/parts.out" "^  example_route: routes by a header naming the channel \(test plugin\)\$"
it_assert_eq "plugin parts listed under their kinds" "interceptors: example_mod selectors: example_route" \
  "$(awk '/^[a-z]+: / { kind = $1 } /^  example_(mod|route)[ :]/ { sub(/:$/, "", $1); printf "%s%s %s", sep, kind, $1; sep = " " }' "$IT_TMP/parts.out")"
it_assert_grep "refusals on stderr" "$IT_TMP/help.log" "wrong.so refused"
out="$IT_TMP/out/out.txt"
mkdir -p "$IT_TMP/out"
mark="$IT_TMP/bookmark"

cat >"$IT_TMP/check.conf" <<EOF
a.sources = r1 r2 r3 r4 r5 r6
a.channels = c1 c2
a.sinks = k1 k2
a.sources.r1.type = example_seq
a.sources.r1.bookmarkFile = $mark
a.sources.r1.batchSize = 500
a.sources.r1.channels = c1
a.sources.r2.type = org.example.ExampleSeqSource
a.sources.r2.totalEvents = -5
a.sources.r2.bookmarkFile = $mark
a.sources.r2.channels = c1
a.sources.r3.type = nosuch_plugin_type
a.sources.r3.channels = c1
a.sources.r4.type = example_burst
a.sources.r4.channels = c1
a.sources.r4.interceptors = i1 i2
a.sources.r4.interceptors.i1.type = example_mod
a.sources.r4.interceptors.i1.header = h
a.sources.r4.interceptors.i1.modulus = 0
a.sources.r4.interceptors.i1.modulos = 3
a.sources.r4.interceptors.i2.type = nosuch_interceptor
a.sources.r5.type = example_burst
a.sources.r5.channels = c1
a.sources.r5.interceptors = i1
a.sources.r5.interceptors.i1.type = org.example.ExampleModInterceptor\$Builder
a.sources.r5.interceptors.i1.header = h
a.sources.r5.interceptors.i1.modulus = 3
a.sources.r5.interceptors.i1.drop = 5
a.sources.r6.type = example_burst
a.sources.r6.channels = c1 c2
a.sources.r6.selector.type = example_route
a.sources.r6.selector.header = h
a.sources.r6.selector.default = nosuch
a.sources.r6.selector.headr = x
a.channels.c1.type = memory
a.channels.c2.type = memory
a.sinks.k1.type = example_file
a.sinks.k1.path = relative.txt
a.sinks.k1.channel = c1
a.sinks.k2.type = null
a.sinks.k2.channel = c1
EOF
it_run check -n a -f "$IT_TMP/check.conf" --check --plugins-path "$IT_TMP/missing:$pd"
it_assert_eq "--check exit status" 1 "$IT_STATUS"
o="$IT_TMP/check.out"
it_assert_grep "wrong interface version refused" "$o" "plugin $pd/wrong/lib/wrong.so refused: built for plugin interface version 2, this relayd has version 1"
it_assert_grep "missing symbol refused" "$o" "plugin $pd/nosym/lib/nosym.so refused: no relayd_plugin_register symbol"
it_assert_grep "failed registration refused" "$o" "plugin $pd/fails/lib/fails.so refused: relayd_plugin_register returned 7$"
it_assert_grep "duplicate types refused" "$o" "plugin $pd/dup/lib/dup.so refused: relayd_plugin_register returned 0: sink type 'null' is already provided; interceptor type 'Timestamp' is already provided"
it_assert_grep "interceptor option out of range" "$o" "check.conf:[0-9]+: sources.r4.interceptors.i1: modulus: .*0.*source r4 removed"
it_assert_grep "interceptor unknown key" "$o" "check.conf:[0-9]+: sources.r4: interceptors.i1.modulos: unknown key for interceptor type example_mod"
it_assert_grep "unknown interceptor type lists the plugin's" "$o" "check.conf:[0-9]+: sources.r4: interceptors.i2.type: unknown interceptor type nosuch_interceptor \(known: .*, example_mod\)"
it_assert_grep "interceptor configure error (class name as type)" "$o" "check.conf:[0-9]+: sources.r5.interceptors.i1: drop 5 is not below modulus 3; source r5 removed"
it_assert_grep "selector configure error" "$o" "check.conf:[0-9]+: sources.r6.selector: default channel nosuch is not one of the 2 channels of source r6; source r6 removed"
it_assert_grep "selector unknown key" "$o" "check.conf:[0-9]+: sources.r6: selector.headr: unknown key for type example_burst"
it_assert_grep "missing --plugins-path dir" "$o" "--plugins-path: $IT_TMP/missing is not a readable directory"
it_assert_grep "unknown type" "$o" "check.conf:[0-9]+: sources.r3: type: unknown source type 'nosuch_plugin_type' \(.*known: .*example_seq"
it_assert_grep "batchSize over transactionCapacity" "$o" "check.conf:[0-9]+: sources.r1: batchSize: 500 is larger than transactionCapacity 100"
it_assert_grep "option out of range (class name as type)" "$o" "check.conf:[0-9]+: sources.r2: totalEvents: .*-5"
it_assert_grep "plugin configure error" "$o" "check.conf:[0-9]+: sinks.k1: path relative.txt is not absolute; sink k1 removed"
it_assert_no_grep "the good plugin is not refused" "$o" "example.so refused"

# The default plugins.d beside the configuration's directory: conf/run.conf finds plugins.d next to conf/.
rm -rf "$pd/wrong" "$pd/nosym" "$pd/fails" "$pd/dup"
mkdir -p "$IT_TMP/conf"
cat >"$IT_TMP/conf/run.conf" <<EOF
a.sources = r1 r9 r7
a.channels = c1 c9 m1 m2 mrest
a.sinks = k1 k9 k71 k72 k73
a.sources.r7.type = example_burst
a.sources.r7.count = 2000
a.sources.r7.channels = m1 m2 mrest
a.sources.r7.interceptors = s1 i1
a.sources.r7.interceptors.s1.type = static
a.sources.r7.interceptors.s1.key = origin
a.sources.r7.interceptors.s1.value = r7
a.sources.r7.interceptors.i1.type = example_mod
a.sources.r7.interceptors.i1.header = route
a.sources.r7.interceptors.i1.prefix = m
a.sources.r7.interceptors.i1.modulus = 4
a.sources.r7.interceptors.i1.drop = 0
a.sources.r7.selector.type = example_route
a.sources.r7.selector.header = route
a.sources.r7.selector.default = mrest
a.channels.m1.type = memory
a.channels.m2.type = memory
a.channels.mrest.type = memory
a.sinks.k71.type = example_file
a.sinks.k71.path = $IT_TMP/routed/m1.txt
a.sinks.k71.withHeader = route
a.sinks.k71.channel = m1
a.sinks.k72.type = example_file
a.sinks.k72.path = $IT_TMP/routed/m2.txt
a.sinks.k72.withHeader = origin
a.sinks.k72.channel = m2
a.sinks.k73.type = example_file
a.sinks.k73.path = $IT_TMP/routed/mrest.txt
a.sinks.k73.withHeader = route
a.sinks.k73.channel = mrest
a.sources.r9.type = example_burst
a.sources.r9.count = 2000
a.sources.r9.channels = c9
a.channels.c9.type = memory
a.sinks.k9.type = example_file
a.sinks.k9.path = $IT_TMP/burst.txt
a.sinks.k9.channel = c9
a.sources.r1.type = example_seq
a.sources.r1.totalEvents = 3000
a.sources.r1.batchSize = 100
a.sources.r1.bookmarkFile = $mark
a.sources.r1.backoffSleepIncrement = 50
a.sources.r1.maxBackoffSleep = 100
a.sources.r1.channels = c1
a.channels.c1.type = memory
a.sinks.k1.type = example_file
a.sinks.k1.path = $out
a.sinks.k1.channel = c1
EOF
wait_done() { # WHO TOTAL
  local deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
  until [ "$(cat "$mark" 2>/dev/null)" = "$2" ] && [ "$(it_lines "$IT_TMP/out")" -ge "$2" ]; do
    it_alive "$1" || it_fail "$1 exited"
    [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "bookmark $(cat "$mark" 2>/dev/null), $(it_lines "$IT_TMP/out") lines"
    sleep 0.05
  done
}
mkdir -p "$IT_TMP/routed"
it_start a -n a -f "$IT_TMP/conf/run.conf"
it_wait_log a "loaded $pd/example/lib/example.so: source example_seq, sink example_file, source example_burst, interceptor example_mod, selector example_route"
it_wait_log a 'INFO +\[source:example_seq:r1\] polling on its own thread'
wait_done a 3000
deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
until [ "$(wc -l <"$IT_TMP/burst.txt" 2>/dev/null)" = 2000 ]; do
  [ "$(it_now_ms)" -lt "$deadline" ] || it_fail "example_burst: $(wc -l <"$IT_TMP/burst.txt") lines"
  sleep 0.05
done
# Of the numbers 0..1999, example_mod drops the multiples of 4 and tags the rest m1, m2, m3; example_route
# sends m1 and m2 to the channels of those names and m3 to the default, mrest.
routed_ok() { # FILE REMAINDER SUFFIX
  [ "$(wc -l <"$1" 2>/dev/null)" = 500 ] &&
    awk -v r="$2" -v s="$3" '$1 % 4 != r || $2 != s { bad = 1 } END { exit bad }' "$1"
}
deadline=$(($(it_now_ms) + IT_TIMEOUT * 1000))
until routed_ok "$IT_TMP/routed/m1.txt" 1 m1 && routed_ok "$IT_TMP/routed/m2.txt" 2 r7 &&
  routed_ok "$IT_TMP/routed/mrest.txt" 3 m3; do
  [ "$(it_now_ms)" -lt "$deadline" ] || {
    head -n 3 "$IT_TMP"/routed/*
    it_fail "routed by the plugin interceptor and selector: $(wc -l "$IT_TMP"/routed/* | tr '\n' ' ')"
  }
  sleep 0.05
done
it_stop a
it_assert_eq "routed numbers, once each" 1500 "$(cat "$IT_TMP"/routed/* | cut -d' ' -f1 | sort -u | wc -l)"
it_seqcheck --count 3000 --ordered "$out"
it_seqcheck --count 2000 --ordered "$IT_TMP/burst.txt"
it_assert_grep "event-driven source counters" "$IT_TMP/a.log" '\[source:example_burst:r9\] counters EventReceivedCount=2000 EventAcceptedCount=2000'
rm "$IT_TMP/burst.txt"
it_assert_grep "source counters" "$IT_TMP/a.log" '\[source:example_seq:r1\] counters EventReceivedCount=3000 EventAcceptedCount=3000'
it_assert_grep "sink counters" "$IT_TMP/a.log" '\[sink:example_file:k1\] counters EventDrainAttemptCount=3000 EventDrainSuccessCount=3000'

# Restart: resumes at the bookmark, so nothing is made twice.
sed -i 's/totalEvents = 3000/totalEvents = 4000/' "$IT_TMP/conf/run.conf"
it_start b -n a -f "$IT_TMP/conf/run.conf"
it_wait_log b 'example_seq starts at 3000'
wait_done b 4000
it_stop b
it_seqcheck --count 4000 --ordered "$out"
