#!/usr/bin/env bash
# test_scripts_setup.sh - what scripts/demo installs and how scripts/build calls configure (issue 19).
#
# (a) scripts/setup --runtime, on a machine where every package is missing (fake dpkg-query, apt-get and
#     sudo first on PATH, recording what would be installed), installs the daemon's build packages and none
#     of the test toolchain (cmocka, JDK, Node, Python's thrift/avro, valgrind, clang-format); plain
#     scripts/setup still installs all of those. scripts/demo asks for --runtime.
# (b) scripts/build without configure arguments runs configure without an empty argument (configure took
#     the '' for a host name and printed "you should use --build, --host, --target"). A copy of
#     scripts/build runs against a fake source tree whose configure records its arguments.
. "$(dirname "$0")/lib.sh"

FAKE="$IT_TMP/bin"
mkdir -p "$FAKE"
cat >"$FAKE/dpkg-query" <<'SH'
#!/bin/sh
exit 0
SH
cat >"$FAKE/apt-get" <<'SH'
#!/bin/sh
echo "$*" >>"$SETUP_RECORD"
SH
cat >"$FAKE/sudo" <<'SH'
#!/bin/sh
exec "$@"
SH
chmod +x "$FAKE"/*

# setup_installs ARGS...: the packages scripts/setup ARGS would apt-get install, one per line.
setup_installs() {
  local record="$IT_TMP/record.$RANDOM"
  SETUP_RECORD=$record PATH="$FAKE:$PATH" RELAYD_SKIP_SETUP=0 "$TOP_SRCDIR/scripts/setup" "$@" >/dev/null \
    || it_fail "scripts/setup $* failed"
  grep '^install ' "$record" | tr ' ' '\n' | grep -v '^-' | grep -v '^install$'
}

runtime=$(setup_installs --runtime)
everything=$(setup_installs)
echo "runtime set: $(echo $runtime)"
for pkg in libglib2.0-dev libevent-dev libavro-dev zlib1g-dev build-essential; do
  grep -qx "$pkg" <<<"$runtime" || it_fail "setup --runtime does not install $pkg"
done
for pkg in libcmocka-dev default-jdk-headless libthrift-java nodejs npm python3-thrift python3-avro valgrind \
  clang-format python3-prometheus-client; do
  if grep -qx "$pkg" <<<"$runtime"; then
    it_fail "setup --runtime installs $pkg (test toolchain)"
  fi
done
for pkg in libcmocka-dev python3-avro python3-thrift valgrind; do
  grep -qx "$pkg" <<<"$everything" || it_fail "plain setup no longer installs $pkg"
done
it_assert_grep "demo asks for the runtime set" "$TOP_SRCDIR/scripts/demo" '^"\$ROOT/scripts/setup" --runtime'
rc=0
"$TOP_SRCDIR/scripts/setup" --bogus 2>/dev/null || rc=$?
it_assert_eq "unknown setup argument" 2 "$rc"

# (b) a fake tree: configure records its arguments and writes a Makefile with nothing to do.
TREE="$IT_TMP/tree"
mkdir -p "$TREE/scripts"
cp "$TOP_SRCDIR/scripts/build" "$TREE/scripts/build"
touch "$TREE/configure.ac"
sleep 1
touch "$TREE/Makefile.in"
cat >"$TREE/configure" <<'SH'
#!/bin/sh
printf '%s\n' "argc=$#" >"$(dirname "$0")/configure.args"
for a in "$@"; do
  case "$a" in
  -*) ;;
  *) echo "configure: WARNING: you should use --build, --host, --target" >&2 ;;
  esac
done
printf 'all:\n\t@true\n' >Makefile
touch config.status
SH
chmod +x "$TREE/configure"
"$TREE/scripts/build" >"$IT_TMP/build1.out" 2>&1 || it_fail "scripts/build (no arguments) failed: $(cat "$IT_TMP/build1.out")"
cat "$IT_TMP/build1.out"
it_assert_no_grep "no configure warning" "$IT_TMP/build1.out" 'you should use --build'
it_assert_eq "configure got only -q" "argc=1" "$(cat "$TREE/configure.args")"
rm -f "$TREE/configure.args"
"$TREE/scripts/build" build --enable-foo >"$IT_TMP/build2.out" 2>&1 || it_fail "scripts/build --enable-foo failed"
it_assert_eq "configure got -q --enable-foo" "argc=2" "$(cat "$TREE/configure.args")"
echo "PASS: $IT_NAME"
