#!/usr/bin/env bash
# test_thrift_java.sh - Apache Thrift's Java library (Debian's libthrift-java) against relayd's Thrift source.
#
# The Java code is generated from idl/flume.thrift at test time (`thrift --gen java`) and compiled with the
# machine's javac together with tests/tools/ThriftJavaClient.java against /usr/share/java/thrift.jar and the
# jars it needs (slf4j-api, and the javax.annotation.Generated of geronimo-annotation). Without javac, java
# or libthrift-java (scripts/setup installs it) the test is skipped. A compact client and a binary client,
# each with TFastFramedTransport as Flume's ThriftRpcClient, send numbered events with append and
# appendBatch -> memory -> file_roll: every event arrives exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/thrift_lib.sh"

JAVA_SHARE=${JAVA_SHARE:-/usr/share/java}
thrift_need_compiler
command -v javac >/dev/null 2>&1 || it_skip "javac is not installed (a JDK, e.g. default-jdk-headless)"
command -v java >/dev/null 2>&1 || it_skip "java is not installed"
[ -f "$JAVA_SHARE/thrift.jar" ] || it_skip "$JAVA_SHARE/thrift.jar missing (install libthrift-java)"
cp="$JAVA_SHARE/thrift.jar"
for jar in slf4j-api geronimo-annotation-1.3-spec slf4j-nop; do
  [ -f "$JAVA_SHARE/$jar.jar" ] && cp="$cp:$JAVA_SHARE/$jar.jar"
done

GEN="$IT_TMP/gen-java"
CLASSES="$IT_TMP/classes"
thrift_gen java "$GEN"
mkdir -p "$CLASSES"
t0=$(it_now_ms)
mapfile -t sources < <(find "$GEN" -name '*.java')
[ ${#sources[@]} -eq 3 ] || it_fail "thrift --gen java made ${#sources[@]} files, expected 3"
if ! timeout 180 javac -nowarn -d "$CLASSES" -cp "$cp" "${sources[@]}" "$IT_TOOLS/ThriftJavaClient.java" \
  >"$IT_TMP/javac.log" 2>&1; then
  cat "$IT_TMP/javac.log"
  it_fail "javac failed"
fi
it_log "compiled in $(($(it_now_ms) - t0)) ms with libthrift $(unzip -p "$JAVA_SHARE/thrift.jar" META-INF/MANIFEST.MF 2>/dev/null | sed -n 's/^Implementation-Version: *//p' | tr -d '\r')"

java_client() {
  timeout -k 2 "$THRIFT_CLIENT_TIMEOUT" java -cp "$CLASSES:$cp" ThriftJavaClient 127.0.0.1 "$@"
}

N=3000
pc=$(it_free_port)
pb=$(it_free_port)
out="$IT_TMP/out"
thrift_conf_file_roll "$IT_TMP/a.conf" a "$out" "$pc:compact" "$pb:binary"
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_listening a 2
java_client "$pc" compact 0 $N 100 >"$IT_TMP/c1.out" 2>"$IT_TMP/c1.err" &
c1=$!
java_client "$pb" binary $N $N 40 >"$IT_TMP/c2.out" 2>"$IT_TMP/c2.err" &
c2=$!
wait $c1 || { cat "$IT_TMP/c1.err"; it_fail "the compact Java client failed"; }
wait $c2 || { cat "$IT_TMP/c2.err"; it_fail "the binary Java client failed"; }
cat "$IT_TMP"/c[12].out
it_assert_grep "compact client" "$IT_TMP/c1.out" "^sent=$N append_calls=1500 batch_calls=15$"
it_assert_grep "binary client" "$IT_TMP/c2.out" "^sent=$N append_calls=1480 batch_calls=38$"
it_wait_lines "$out" $((2 * N)) 20 a
it_stop a
it_seqcheck --count $((2 * N)) "$out"
it_assert_grep "compact source counters" "$IT_TMP/a.log" \
  "source:thrift:r1\] counters EventReceivedCount=$N EventAcceptedCount=$N "
it_assert_grep "binary source counters" "$IT_TMP/a.log" \
  "source:thrift:r2\] counters EventReceivedCount=$N EventAcceptedCount=$N "
it_assert_no_grep "no warnings" "$IT_TMP/a.log" ' (WARN|ERROR) '
echo "PASS: java clients (compact, binary): $((2 * N)) events exactly once"
