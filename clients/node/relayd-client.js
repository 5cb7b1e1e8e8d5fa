/* relayd-client.js - send Flume events to relayd (or Flume) over Avro RPC from Node.js, and receive them.
 *
 * Built on the avsc package (npm install avsc@5), whose stateful channels speak the Netty framing of Flume's
 * AvroSource and AvroSink (serial, buffer count, length-prefixed buffers) and the per-connection handshake.
 * This module adds Flume's event shape, the optional deflate layer (one zlib stream per direction, flushed
 * after every write: Flume's compression-type = deflate), reconnection, and promises.
 *
 *   const relayd = require('relayd-client');
 *   const client = new relayd.Client({ host: '127.0.0.1', port: 41414 });
 *   await client.append('one event', { host: 'web1' });
 *   await client.appendBatch([{ body: 'a', headers: { k: 'v' } }, { body: Buffer.from('b') }]);
 *   client.close();
 *
 * append() and appendBatch() resolve once the server committed the events to its channel; a FAILED answer
 * (a full channel downstream) rejects with a DeliveryError (err.status), which the caller may retry. Calls may
 * be issued without waiting (they are pipelined on the one connection). A lost connection rejects the calls
 * in flight and is reopened by the next call.
 *
 *   const server = relayd.createServer({ port: 4545 }, async (events) => true);  // [{ body, headers }]
 *   server.on('listening', ...); server.close();      // true: answer OK (the sink commits), false: FAILED
 *
 * The protocol is read from flume.avpr: options.protocol, else $RELAYD_AVPR, else ../../idl/flume.avpr
 * from this file (the source tree's clients/node, or the installed share/relayd/clients/node).
 */
'use strict';

const avro = require('avsc');
const fs = require('fs');
const net = require('net');
const path = require('path');
const zlib = require('zlib');

class DeliveryError extends Error {
  constructor(status, detail) {
    super(`events not delivered: ${status}${detail ? ` (${detail})` : ''}`);
    this.status = status;
  }
}

function loadService(protocolPath) {
  const candidates = [protocolPath, process.env.RELAYD_AVPR, path.join(__dirname, '..', '..', 'idl', 'flume.avpr')];
  for (const candidate of candidates.filter(Boolean)) {
    if (fs.existsSync(candidate)) {
      return avro.Service.forProtocol(JSON.parse(fs.readFileSync(candidate, 'utf8')));
    }
  }
  throw new Error(`flume.avpr not found (tried ${candidates.filter(Boolean).join(', ')}); ` +
                  'pass options.protocol or set RELAYD_AVPR');
}

/* The transport avsc reads and writes: the socket itself, or a zlib stream each way. */
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

function toEvent(body, headers) {
  const strings = {};
  for (const [k, v] of Object.entries(headers || {})) {
    strings[k] = String(v);
  }
  return { headers: strings, body: Buffer.isBuffer(body) ? body : Buffer.from(String(body)) };
}

class Client {
  /* options: host (default 127.0.0.1), port, deflate (false), timeout in ms per call (20000), protocol. */
  constructor(options) {
    this.options = Object.assign({ host: '127.0.0.1', deflate: false, timeout: 20000 }, options);
    this.service = loadService(this.options.protocol);
    this.client = this.service.createClient({ timeout: this.options.timeout });
    this.socket = null;
  }

  _connect() {
    if (this.socket && !this.socket.destroyed) {
      return;
    }
    const socket = net.connect(this.options.port, this.options.host);
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy()); /* calls in flight fail through their channel */
    const channel = this.client.createChannel(transportFor(socket, this.options.deflate));
    channel.on('error', () => socket.destroy());
    socket.on('close', () => channel.destroy(true));
    this.socket = socket;
  }

  _call(message, request) {
    this._connect();
    return new Promise((resolve, reject) => {
      this.client.emitMessage(message, request, (err, status) => {
        if (err) {
          return reject(err instanceof Error ? err : new DeliveryError('ERROR', String(err)));
        }
        return status === 'OK' ? resolve() : reject(new DeliveryError(status));
      });
    });
  }

  /* One event (body: Buffer or string, headers: object of strings); resolves once it is committed. */
  append(body, headers) {
    return this._call('append', { event: toEvent(body, headers) });
  }

  /* [{ body, headers }, ...] in one call: all are committed, or none (DeliveryError). */
  appendBatch(events) {
    return this._call('appendBatch', { events: events.map((e) => toEvent(e.body, e.headers)) });
  }

  close() {
    for (const channel of this.client.activeChannels()) {
      channel.destroy(true);
    }
    if (this.socket) {
      this.socket.destroy();
    }
    this.socket = null;
  }
}

/* An Avro RPC server for Avro sinks (relayd's or Flume's). handler(events) returns (or resolves to) true to
 * answer OK, false to answer FAILED; a throw answers an error. Returns the net.Server, already listening. */
function createServer(options, handler) {
  const opts = Object.assign({ host: '127.0.0.1', port: 0, deflate: false }, options);
  const service = loadService(opts.protocol);
  const server = service.createServer({ silent: true });
  const deliver = (events, cb) => {
    Promise.resolve()
      .then(() => handler(events.map((e) => ({ body: e.body, headers: e.headers }))))
      .then((ok) => cb(null, ok ? 'OK' : 'FAILED'), (err) => cb(String(err && err.message ? err.message : err)));
  };
  server.onAppend((event, cb) => deliver([event], cb));
  server.onAppendBatch((events, cb) => deliver(events, cb));
  server.on('error', () => {});
  const listener = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const channel = server.createChannel(transportFor(socket, opts.deflate));
    channel.on('error', () => socket.destroy());
  });
  listener.listen(opts.port, opts.host);
  return listener;
}

module.exports = { Client, createServer, DeliveryError };
