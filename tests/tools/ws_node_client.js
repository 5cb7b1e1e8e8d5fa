#!/usr/bin/env node
/* ws_node_client.js - a WebSocket client on Node's ws package (8.x), for the websocket source's test.
 *
 * ws is an independent RFC 6455 implementation: it masks its frames, answers pings and runs the closing
 * handshake itself. ws is found through NODE_PATH; CA_FILE (optional) is the CA that signed a wss:// server.
 *
 *   ws_node_client.js send URL COUNT PREFIX
 *     sends PREFIX-1..PREFIX-COUNT, odd numbers as text and even ones as binary messages, every third one in
 *     two fragments; expects the acknowledgements 1..COUNT in order, then closes (1000) and prints
 *     "acked COUNT closed 1000".
 *   ws_node_client.js big URL BYTES
 *     sends one binary message of BYTES bytes; prints "closed CODE" when the server closes.
 *   ws_node_client.js abrupt URL COUNT PREFIX
 *     sends PREFIX-1..PREFIX-COUNT at once and drops the TCP connection (no close frame) as soon as half of
 *     them are acknowledged; prints "acked K" (the last acknowledgement seen; 1..K are committed).
 */
'use strict';
const fs = require('fs');
const WebSocket = require('ws');

const [mode, url, arg, prefix] = process.argv.slice(2);
const options = process.env.CA_FILE ? { ca: fs.readFileSync(process.env.CA_FILE) } : {};
const ws = new WebSocket(url, options);
let acked = 0;

function fail(why) {
  console.log('error: ' + why);
  process.exit(1);
}

function message(i) {
  const body = Buffer.from(prefix + '-' + i);
  return i % 2 ? body.toString() : body;
}

function sendAll(count) {
  for (let i = 1; i <= count; i++) {
    const m = message(i);
    if (i % 3 === 0) {
      const half = Math.floor(m.length / 2);
      ws.send(m.slice(0, half), { fin: false });
      ws.send(m.slice(half), { fin: true });
    } else {
      ws.send(m);
    }
  }
}

ws.on('error', (e) => fail(e.message));
ws.on('close', (code) => {
  if (mode === 'send' && acked !== Number(arg)) fail('closed ' + code + ' after ' + acked + ' acks');
  console.log((mode === 'big' ? '' : 'acked ' + acked + ' ') + 'closed ' + code);
  process.exit(0);
});
ws.on('message', (data, isBinary) => {
  const n = Number(data.toString());
  if (isBinary || n !== acked + 1) fail('unexpected acknowledgement ' + data.toString() + ' after ' + acked);
  acked = n;
  if (mode === 'send' && acked === Number(arg)) ws.close(1000);
  if (mode === 'abrupt' && acked * 2 >= Number(arg)) {
    console.log('acked ' + acked);
    ws.terminate();
    process.exit(0);
  }
});
ws.on('open', () => {
  if (mode === 'big') ws.send(Buffer.alloc(Number(arg), 120));
  else sendAll(Number(arg));
});
setTimeout(() => fail('timed out after ' + acked + ' acks'), 30000).unref();
