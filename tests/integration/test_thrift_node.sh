#!/usr/bin/env bash
# test_thrift_node.sh - Apache Thrift's Node.js library (npm `thrift`) against relayd's Thrift source.
#
# The client code is generated from idl/flume.thrift at test time (`thrift --gen js:node,es6`); the npm
# package is installed into $TOP_BUILDDIR/tests/node-thrift the first time (and reused afterwards). Without
# node, npm or network access to the registry the test is skipped. Two compact clients (one call in flight,
# and 8 calls in flight on one connection, which needs the seqids echoed right) and one binary client send
# numbered events with append and appendBatch -> memory -> file_roll: every event arrives exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/thrift_lib.sh"

thrift_need_compiler
command -v node >/dev/null 2>&1 || it_skip "node is not installed"
command -v npm >/dev/null 2>&1 || it_skip "npm is not installed"
NODE_DIR="$TOP_BUILDDIR/tests/node-thrift"
if [ ! -f "$NODE_DIR/node_modules/thrift/package.json" ]; then
  mkdir -p "$NODE_DIR" || it_skip "cannot create $NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{ "name": "relayd-thrift-node-test", "private": true }' >"$NODE_DIR/package.json"
  if ! (cd "$NODE_DIR" && timeout 40 npm install --no-audit --no-fund thrift) >"$IT_TMP/npm.log" 2>&1; then
    tail -n 5 "$IT_TMP/npm.log"
    it_skip "npm install thrift failed (offline?), see above"
  fi
fi
export NODE_PATH="$NODE_DIR/node_modules"
it_log "npm thrift $(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$NODE_DIR/node_modules/thrift/package.json")"
GEN="$IT_TMP/gen-nodejs"
thrift_gen js:node,es6 "$GEN"

node_client() {
  timeout -k 2 "$THRIFT_CLIENT_TIMEOUT" node "$IT_TOOLS/thrift_node_client.js" --gen "$GEN" "$@"
}

N=3000
pc=$(it_free_port)
pb=$(it_free_port)
out="$IT_TMP/out"
thrift_conf_file_roll "$IT_TMP/a.conf" a "$out" "$pc:compact" "$pb:binary"
it_start a -n a -f "$IT_TMP/a.conf"
it_wait_listening a 2
node_client --port "$pc" --protocol compact --first 0 --count $N --batch 100 >"$IT_TMP/c1.out" &
c1=$!
node_client --port "$pc" --protocol compact --first $N --count $N --batch 30 --inflight 8 >"$IT_TMP/c2.out" &
c2=$!
node_client --port "$pb" --protocol binary --first $((2 * N)) --count $N --batch 60 >"$IT_TMP/c3.out" &
c3=$!
for c in $c1 $c2 $c3; do
  wait "$c" || it_fail "a Node client failed"
done
cat "$IT_TMP"/c[123].out
it_assert_grep "compact client" "$IT_TMP/c1.out" "^sent=$N append_calls=1500 batch_calls=15$"
it_assert_grep "pipelining client" "$IT_TMP/c2.out" "^sent=$N append_calls=1500 batch_calls=50$"
it_assert_grep "binary client" "$IT_TMP/c3.out" "^sent=$N append_calls=1500 batch_calls=25$"
it_wait_lines "$out" $((3 * N)) 20 a
it_stop a
it_seqcheck --count $((3 * N)) "$out"
it_assert_grep "compact source counters" "$IT_TMP/a.log" \
  "source:thrift:r1\] counters EventReceivedCount=$((2 * N)) EventAcceptedCount=$((2 * N)) "
it_assert_grep "binary source counters" "$IT_TMP/a.log" \
  "source:thrift:r2\] counters EventReceivedCount=$N EventAcceptedCount=$N "
it_assert_no_grep "no warnings" "$IT_TMP/a.log" ' (WARN|ERROR) '
echo "PASS: node clients (compact, pipelined compact, binary): $((3 * N)) events exactly once"
