#!/usr/bin/env node
/* avro_node_peer.js - an independent Flume Avro RPC peer on Node's avsc package (5.x), for interop tests.
 *
 * avsc's stateful channels speak Avro's Netty framing (serial, buffer count, length-prefixed buffers) and the
 * stateful handshake on their own: a client channel first sends the empty-name ping, resends it with its
 * protocol when the server answers NONE, and then sends calls without handshakes, several in flight at once
 * (pipelined, matched by serial). This script only adds the optional deflate layer (a zlib stream in each
 * direction, sync-flushed) and the test's bookkeeping. avsc is found through NODE_PATH.
 *
 *   avro_node_peer.js client PORT FIRST COUNT BATCH INFLIGHT [deflate] [single] [tls=CA[,CERT,KEY]]
 *     sends bodies FIRST..FIRST+COUNT-1 (decimal, header n=<number>) as appendBatch calls of BATCH events
 *     (append of one event with "single"), at most INFLIGHT calls outstanding on the one connection;
 *     prints "client: calls=C ok=O events=N handshakes=M1,M2.." and exits 0 only if every call got OK.
 *     With tls= the connection is Node's tls module (the server's certificate verified against CA and its
 *     IP address, 127.0.0.1; CERT and KEY: a client certificate), with deflate inside TLS.
 *   avro_node_peer.js server PORT OUTFILE FAIL_FIRST [deflate]
 *     answers FAILED to the first FAIL_FIRST calls (writing nothing), then writes every body as a line to
 *     OUTFILE and answers OK; prints "listening port=P" and, on SIGTERM,
 *     "server: calls=C ok=O failed=X events=E connections=K handshakes=M1,M2..".
 */
'use strict';

const avro = require('avsc');
const fs = require('fs');
const net = require('net');
const path = require('path');
const tls = require('tls');
const zlib = require('zlib');

const PROTOCOL = path.join(__dirname, '..', '..', 'idl', 'flume.avpr');

function loadService() {
  return avro.Service.forProtocol(JSON.parse(fs.readFileSync(PROTOCOL, 'utf8')));
}

/* The transport over a socket: the socket itself, or a zlib stream each way (sync flush per write). */
function transportFor(socket, deflate) {
  if (!deflate) {
    return socket;
  }
  const inflate = zlib.createInflate();
  const out = zlib.createDeflate({ level: 6, flush: zlib.constants.Z_SYNC_FLUSH });
  socket.pipe(inflate);
  out.pipe(socket);
  inflate.on('error', (err) => socket.destroy(err));
  return { readable: inflate, writable: out };
}

function makeEvent(number) {
  const text = String(number);
  return { headers: { n: text }, body: Buffer.from(text) };
}

/* A plain TCP connection, or TLS with tlsArg "CA[,CERT,KEY]". */
function connect(port, tlsArg) {
  if (!tlsArg) {
    return net.connect(port, '127.0.0.1');
  }
  const [ca, cert, key] = tlsArg.split(',');
  const options = { host: '127.0.0.1', port, ca: fs.readFileSync(ca) };
  if (cert) {
    options.cert = fs.readFileSync(cert);
    options.key = fs.readFileSync(key);
  }
  return tls.connect(options);
}

function runClient(port, first, count, batch, inflight, deflate, single, tlsArg) {
  const svc = loadService();
  const client = svc.createClient({ timeout: 20000 });
  const socket = connect(port, tlsArg);
  socket.setNoDelay(true);
  const channel = client.createChannel(transportFor(socket, deflate));
  const matches = [];
  let next = first;
  const end = first + count;
  let calls = 0;
  let ok = 0;
  let events = 0;
  let outstanding = 0;
  let failed = false;

  channel.on('handshake', (hreq, hres) => matches.push(hres.match));
  channel.on('error', (err) => finish('channel error: ' + err));
  socket.on('error', (err) => finish('socket error: ' + err.message));

  function finish(problem) {
    if (failed) {
      return;
    }
    if (problem) {
      failed = true;
      console.error(problem);
    }
    console.log(`client: calls=${calls} ok=${ok} events=${events} handshakes=${matches.join(',')}`);
    socket.destroy();
    process.exit(problem ? 1 : 0);
  }

  function sendMore() {
    while (!failed && outstanding < inflight && next < end) {
      const n = single ? 1 : Math.min(batch, end - next);
      const numbers = [];
      for (let i = 0; i < n; i++) {
        numbers.push(makeEvent(next + i));
      }
      next += n;
      outstanding++;
      calls++;
      const done = (err, status) => {
        outstanding--;
        if (err) {
          return finish(`call answered with error: ${err}`);
        }
        if (status !== 'OK') {
          return finish(`call answered ${status}`);
        }
        ok++;
        events += n;
        if (events === count) {
          return finish(null);
        }
        sendMore();
      };
      if (single) {
        client.append(numbers[0], done);
      } else {
        client.appendBatch(numbers, done);
      }
    }
  }
  sendMore();
}

function runServer(port, outFile, failFirst, deflate) {
  const svc = loadService();
  const server = svc.createServer({ silent: true });
  const fd = fs.openSync(outFile, 'a');
  const stats = { calls: 0, ok: 0, failed: 0, events: 0, connections: 0 };
  const matches = [];
  let failLeft = failFirst;

  function deliver(events, cb) {
    stats.calls++;
    if (failLeft > 0) {
      failLeft--;
      stats.failed++;
      console.log(`answered FAILED call=${stats.calls} events=${events.length}`);
      return cb(null, 'FAILED');
    }
    fs.writeSync(fd, Buffer.concat(events.map((e) => Buffer.concat([e.body, Buffer.from('\n')]))));
    stats.ok++;
    stats.events += events.length;
    return cb(null, 'OK');
  }

  server.onAppend((event, cb) => deliver([event], cb));
  server.onAppendBatch((events, cb) => deliver(events, cb));
  server.on('error', (err) => console.log('server error: ' + err));

  const listener = net.createServer((socket) => {
    stats.connections++;
    socket.setNoDelay(true);
    socket.on('error', (err) => console.log('connection error: ' + err.message));
    const channel = server.createChannel(transportFor(socket, deflate));
    channel.on('handshake', (hreq, hres) => matches.push(hres.match));
    channel.on('error', (err) => console.log('channel error: ' + err));
  });
  listener.listen(port, '127.0.0.1', () => console.log(`listening port=${listener.address().port}`));
  process.on('SIGTERM', () => {
    const s = stats;
    console.log(`server: calls=${s.calls} ok=${s.ok} failed=${s.failed} events=${s.events} ` +
                `connections=${s.connections} handshakes=${matches.join(',')}`);
    fs.closeSync(fd);
    process.exit(0);
  });
}

function main(argv) {
  const role = argv[0];
  const int = (s) => parseInt(s, 10);
  if (role === 'client' && argv.length >= 6) {
    const tlsArg = argv.filter((a) => a.startsWith('tls=')).map((a) => a.slice(4))[0];
    runClient(int(argv[1]), int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5]), argv.includes('deflate'),
              argv.includes('single'), tlsArg);
  } else if (role === 'server' && argv.length >= 4) {
    runServer(int(argv[1]), argv[2], int(argv[3]), argv.includes('deflate'));
  } else {
    console.error('usage: avro_node_peer.js client PORT FIRST COUNT BATCH INFLIGHT [deflate] [single] ' +
                  '[tls=CA[,CERT,KEY]]\n' +
                  '       avro_node_peer.js server PORT OUTFILE FAIL_FIRST [deflate]');
    process.exit(2);
  }
}

main(process.argv.slice(2));
