// thrift_node_client.js - sends numbered events to a Flume Thrift source with Apache Thrift's Node.js library.
//
// Usage: node thrift_node_client.js --gen DIR --port PORT [--host H] [--protocol compact|binary]
//                                   [--first F] [--count N] [--batch B] [--inflight K]
//
// DIR holds the code `thrift --gen js:node,es6` generated from idl/flume.thrift; the npm `thrift` package
// must be reachable through NODE_PATH. The connection uses TFramedTransport with TCompactProtocol (Flume's
// default) or TBinaryProtocol. Events F..F+N-1 have the decimal number as body and the headers
// seq=<number> and client=node; they go out in groups of B, even groups as one appendBatch and odd groups
// as one append per event. Up to K calls are in flight at once on the one connection (the replies are
// matched by seqid, so the server must echo it). Any reply other than OK, an exception or a connection
// error ends the run with status 1. Prints "sent=N append_calls=A batch_calls=B".
'use strict';

const path = require('path');

function parseArgs(argv) {
  const args = { host: '127.0.0.1', protocol: 'compact', first: 0, count: 1000, batch: 50, inflight: 1 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    const value = argv[i + 1];
    if (value === undefined || !(key in args || key === 'gen' || key === 'port')) {
      throw new Error('bad argument ' + argv[i]);
    }
    args[key] = ['host', 'protocol', 'gen'].includes(key) ? value : Number(value);
  }
  if (!args.gen || !args.port) {
    throw new Error('--gen and --port are required');
  }
  return args;
}

// The calls to make, in order: each is [method, first number, how many].
function plan(args) {
  const calls = [];
  for (let start = args.first, group = 0; start < args.first + args.count; start += args.batch, group++) {
    const n = Math.min(args.batch, args.first + args.count - start);
    if (group % 2 === 0) {
      calls.push(['appendBatch', start, n]);
    } else {
      for (let i = 0; i < n; i++) {
        calls.push(['append', start + i, 1]);
      }
    }
  }
  return calls;
}

async function main() {
  const args = parseArgs(process.argv);
  const thrift = require('thrift');
  const ThriftSourceProtocol = require(path.resolve(args.gen, 'ThriftSourceProtocol.js'));
  const ttypes = require(path.resolve(args.gen, 'flume_types.js'));
  const connection = thrift.createConnection(args.host, args.port, {
    transport: thrift.TFramedTransport,
    protocol: args.protocol === 'binary' ? thrift.TBinaryProtocol : thrift.TCompactProtocol,
    connect_timeout: 5000,
    timeout: 10000,
  });
  const failure = new Promise((resolve, reject) => {
    connection.on('error', (err) => reject(new Error('connection error: ' + err)));
    connection.on('timeout', () => reject(new Error('connection timeout')));
  });
  const client = thrift.createClient(ThriftSourceProtocol, connection);
  const event = (n) => new ttypes.ThriftFlumeEvent({
    headers: { seq: String(n), client: 'node' },
    body: Buffer.from(String(n)),
  });
  const counts = { append: 0, appendBatch: 0 };
  const calls = plan(args);
  let next = 0;

  async function worker() {
    while (next < calls.length) {
      const [method, start, n] = calls[next++];
      counts[method]++;
      const reply = method === 'append'
        ? client.append(event(start))
        : client.appendBatch(Array.from({ length: n }, (_, i) => event(start + i)));
      const status = await Promise.race([reply, failure]);
      if (status !== ttypes.Status.OK) {
        throw new Error(method + '(' + start + ') answered status ' + status);
      }
    }
  }

  const workers = Array.from({ length: args.inflight }, () => worker());
  await Promise.all(workers);
  connection.end();
  console.log('sent=' + args.count + ' append_calls=' + counts.append + ' batch_calls=' + counts.appendBatch);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('thrift_node_client: ' + (err && err.stack ? err.stack : err));
    process.exit(1);
  });
