#!/usr/bin/env bash
# test_client_node.sh - clients/node/relayd-client.js, the Node module for Avro RPC (over avsc), against
# relayd in both directions, used the way its documentation shows.
#
# avsc is installed at test time under the build tree ($TOP_BUILDDIR/tests/node, shared with
# test_avro_node_interop.sh); without node, npm or registry access the test is skipped (77).
# (a) Client -> relayd avro source -> memory -> file_roll (headers written): one append with headers, then
#     3000 numbered events by appendBatch (batches of 500, four calls in flight), plain and with deflate;
#     every number arrives exactly once with its header.
# (b) Client -> relayd whose channel (capacity 10) nothing drains: a batch of 20 is rejected with a
#     DeliveryError whose status is FAILED, and the next call on the same client succeeds.
# (c) relayd (avro source, memory, avro sink) -> a server from createServer() whose handler refuses the
#     first batch: relayd rolls back, retries, and every number arrives exactly once; plain and deflate.
# (d) The module as make install lays it out finds the installed IDL by itself.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/avro_lib.sh"

avro_require_node_avsc
export NODE_PATH="$NODE_DIR/node_modules:$TOP_SRCDIR/clients/node"

# check_output DIR FIRST COUNT: the greeting with its headers and FIRST.. once each with header n.
check_output() {
  it_cat_dir "$1" >"$IT_TMP/out.txt"
  "$PYTHON" "$IT_TOOLS/check_header_numbers.py" "$IT_TMP/out.txt" "$2" "$3" || it_fail "output check failed"
}

client_to_relayd() {
  local label=$1 comp=$2 out="$IT_TMP/$1-out" port
  port=$(it_free_port)
  avro_collector_conf "$IT_TMP/$label.conf" col "$port" "$out" "$comp"
  echo "col.sinks.k1.sink.serializer.headers = true" >>"$IT_TMP/$label.conf"
  it_start "$label" -n col -f "$IT_TMP/$label.conf"
  it_wait_listening "$label" 1
  timeout -k 5 60 node - "$port" "$comp" <<'JS' || it_fail "$label: node client exited $?"
const relayd = require('relayd-client');
const [port, comp] = process.argv.slice(2);

async function main() {
  const client = new relayd.Client({ host: '127.0.0.1', port: Number(port), deflate: comp === 'deflate' });
  await client.append('hello', { host: 'web1', kind: 'greeting' });
  const calls = [];
  for (let start = 0; start < 3000; start += 500) {
    const events = [];
    for (let n = start; n < start + 500; n++) {
      events.push({ body: String(n), headers: { n } });
    }
    calls.push(client.appendBatch(events));
    if (calls.length === 4) {
      await calls.shift();
    }
  }
  await Promise.all(calls);
  client.close();
  console.log('sent 3001');
}
main().catch((err) => { console.error('failed:', err); process.exit(1); });
JS
  it_wait_lines "$out" 3001 20 "$label"
  sleep 0.3
  check_output "$out" 0 3000
  it_stop "$label"
}

client_failed() {
  local port
  port=$(it_free_port)
  {
    avro_conf_source full "$port"
    avro_conf_memory full 10 10
    echo "full.sinks ="
  } | grep -v '^full.sinks = k1$' >"$IT_TMP/full.conf"
  it_start full -n full -f "$IT_TMP/full.conf"
  it_wait_listening full 1
  timeout -k 5 30 node - "$port" <<'JS' >"$IT_TMP/failed.out" 2>&1 || { cat "$IT_TMP/failed.out"; it_fail "FAILED client exited $?"; }
const relayd = require('relayd-client');

async function main() {
  const client = new relayd.Client({ port: Number(process.argv[2]) });
  try {
    await client.appendBatch(Array.from({ length: 20 }, () => ({ body: 'x' })));
    console.log('batch of 20 accepted by a channel of 10');
    process.exit(1);
  } catch (err) {
    if (!(err instanceof relayd.DeliveryError)) throw err;
    console.log('refused:', err.status);
  }
  await client.append('fits');
  console.log('append ok');
  client.close();
}
main().catch((err) => { console.error('failed:', err); process.exit(1); });
JS
  cat "$IT_TMP/failed.out"
  it_assert_grep "batch answered FAILED" "$IT_TMP/failed.out" '^refused: FAILED$'
  it_assert_grep "next call accepted" "$IT_TMP/failed.out" '^append ok$'
  it_stop full
}

relayd_to_server() {
  local label=$1 comp=$2 n=$3 dir="$IT_TMP/$1-dir" port sport send_flag=() server
  [ "$comp" = deflate ] && send_flag=(--compression deflate)
  mkdir -p "$dir"
  sport=$(it_free_port)
  cat >"$IT_TMP/$label-server.js" <<'JS'
const fs = require('fs');
const relayd = require('relayd-client');
const [port, outFile, comp] = process.argv.slice(2);
const fd = fs.openSync(outFile, 'a');
let refused = 0;

const server = relayd.createServer({ port: Number(port), deflate: comp === 'deflate' }, (events) => {
  if (refused === 0) {            // the first batch is refused: relayd must send it again
    refused = 1;
    console.log(`refused ${events.length}`);
    return false;
  }
  const mine = events.filter((e) => e.headers.origin === 'edge');
  fs.writeSync(fd, Buffer.concat(mine.map((e) => Buffer.concat([e.body, Buffer.from('\n')]))));
  return true;
});
server.on('listening', () => console.log(`listening port=${server.address().port}`));
JS
  avro_bg "$label-server.log" node "$IT_TMP/$label-server.js" "$sport" "$dir/bodies" "$comp"
  server=$AVRO_BG_PID
  avro_wait_file_line "$IT_TMP/$label-server.log" '^listening port=' 10 "$server"
  avro_edge_to_refusing_server "$label" "$sport" "$comp" "$n" "$dir" "${send_flag[@]}"
}

# installed_layout: make install puts the module in share/relayd/clients/node and the IDL in share/relayd/idl;
# the module finds flume.avpr from there without RELAYD_AVPR.
installed_layout() {
  local share="$IT_TMP/prefix/share/relayd"
  mkdir -p "$share/clients/node" "$share/idl"
  cp "$TOP_SRCDIR/clients/node/relayd-client.js" "$TOP_SRCDIR/clients/node/package.json" "$share/clients/node/"
  cp "$TOP_SRCDIR/idl/flume.avpr" "$share/idl/"
  (cd / && env -u RELAYD_AVPR NODE_PATH="$NODE_DIR/node_modules" node -e \
    'const r = require(process.argv[1]); new r.Client({ port: 1 }); console.log("installed module loads")' \
    "$share/clients/node/relayd-client.js") || it_fail "the installed module does not find the installed flume.avpr"
}

installed_layout
client_to_relayd a-plain none
client_to_relayd a-deflate deflate
client_failed
relayd_to_server c-plain none 5000
relayd_to_server c-deflate deflate 5000
echo "PASS: $IT_NAME"
