#!/usr/bin/env bash
# test_client_install.sh - the installed client library works from its installed headers (issue 19).
#
# Installs the client library, its headers and relay-client.pc into a temporary DESTDIR, checks that only the
# public headers are installed (relay-client.h and the event.h and relay.h it includes, not rpc_client.h) and
# that a shared library with a versioned soname comes with the static one, then compiles
# tests/tools/client_install_prog.c with nothing but `pkg-config --cflags --libs relay-client` (shared) and
# `pkg-config --static ...` plus -static (static), and runs both against a relayd avro source: each event
# must arrive. (The installed .pc names the configured prefix; the test's copy is pointed at the DESTDIR.)
. "$(dirname "$0")/lib.sh"

command -v pkg-config >/dev/null || it_skip "pkg-config is not installed"
CC=${CC:-cc}
dest="$IT_TMP/dest"
make -s -C "$TOP_BUILDDIR" install-libLTLIBRARIES install-relayincludeHEADERS install-pkgconfigDATA \
  DESTDIR="$dest" >"$IT_TMP/install.log" 2>&1 || {
  cat "$IT_TMP/install.log"
  it_fail "make install into DESTDIR failed"
}
pc=$(find "$dest" -name relay-client.pc | head -n 1)
[ -n "$pc" ] || it_fail "relay-client.pc not installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s#^prefix=.*#prefix=$dest$prefix#" "$pc"
export PKG_CONFIG_PATH="$(dirname "$pc")"
incdir=$(pkg-config --variable=includedir relay-client)/relayd
libdir=$(pkg-config --variable=libdir relay-client)

it_assert_eq "installed headers" "event.h relay-client.h relay.h" "$(cd "$incdir" && ls | sort | tr '\n' ' ' | sed 's/ $//')"
[ -f "$libdir/librelay-client.a" ] || it_fail "no static library in $libdir"
soname=$(readelf -d "$libdir/librelay-client.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
it_assert_eq "versioned soname" "librelay-client.so.0" "$soname"
[ -e "$libdir/$soname" ] || it_fail "$soname not installed"
it_assert_no_grep "only the API is exported" <(nm -D --defined-only "$libdir/librelay-client.so" | awk '{print $3}') \
  '^relay_(rpc|avro|thrift|zstream)_'

# Sanitizer builds: the library needs the sanitizer runtime (and cannot be linked fully static).
san=$(sed -n 's/^RELAY_SAN_CFLAGS = //p' "$TOP_BUILDDIR/Makefile")
src="$TOP_SRCDIR/tests/tools/client_install_prog.c"
# shellcheck disable=SC2046,SC2086
$CC -std=c11 -Wall -Wextra -Werror $san -o "$IT_TMP/prog-shared" "$src" $(pkg-config --cflags --libs relay-client) \
  2>"$IT_TMP/cc-shared.log" || {
  cat "$IT_TMP/cc-shared.log"
  it_fail "compiling against the installed shared library failed"
}
readelf -d "$IT_TMP/prog-shared" | grep -q "NEEDED.*\[librelay-client\.so\.0\]" || it_fail "prog-shared does not use librelay-client.so.0"
progs=(prog-shared)
if [ -z "$san" ]; then
  # shellcheck disable=SC2046
  $CC -std=c11 -Wall -Wextra -Werror -static -o "$IT_TMP/prog-static" "$src" \
    $(pkg-config --static --cflags --libs relay-client) 2>"$IT_TMP/cc-static.log" || {
    cat "$IT_TMP/cc-static.log"
    it_fail "compiling against the installed static library failed"
  }
  readelf -d "$IT_TMP/prog-static" 2>/dev/null | grep -q NEEDED && it_fail "prog-static is not static"
  progs+=(prog-static)
else
  it_log "sanitizer build: the fully static link is not tried"
fi

port=$(it_free_port)
out="$IT_TMP/out"
mkdir -p "$out"
cat >"$IT_TMP/col.conf" <<EOF
col.sources = r1
col.channels = c1
col.sinks = k1
col.sources.r1.type = avro
col.sources.r1.bind = 127.0.0.1
col.sources.r1.port = $port
col.sources.r1.channels = c1
col.channels.c1.type = memory
col.sinks.k1.type = file_roll
col.sinks.k1.channel = c1
col.sinks.k1.sink.directory = $out
col.sinks.k1.sink.rollInterval = 0
col.sinks.k1.sink.batchSize = 1
EOF
it_start col -n col -f "$IT_TMP/col.conf"
it_wait_listening col 1
n=0
for prog in "${progs[@]}"; do
  LD_LIBRARY_PATH="$libdir" "$IT_TMP/$prog" "127.0.0.1:$port" "from-$prog" >"$IT_TMP/$prog.out" 2>&1 || {
    cat "$IT_TMP/$prog.out"
    it_fail "$prog did not deliver"
  }
  it_assert_grep "$prog: OK and the event still readable" "$IT_TMP/$prog.out" '^status=OK header=installed-lib detail=-$'
  n=$((n + 1))
  it_wait_lines "$out" $n "$IT_TIMEOUT" col
  it_assert_grep "$prog's event arrived" <(it_cat_dir "$out") "^from-$prog\$"
done
it_stop col
