#!/usr/bin/python3
"""avro_py_peer.py - an independent Flume Avro RPC peer on Debian's python3-avro (avro.ipc), for interop tests.

python3-avro's Requestor/Responder encode and decode everything (handshake, call metadata, events, Status,
error unions); this file only adds what that package lacks for Flume: the Netty transport (Avro's
NettyTransportCodec.java: packs of int32 serial, int32 buffer count, then int32-length-prefixed buffers, all
big-endian, no terminator), the Netty transport's stateful handshake (only until the first BOTH/CLIENT on a
connection, Avro's Requestor.java), and optional deflate (one zlib stream per direction and connection, a sync
flush after every pack, Flume's AvroSource.java).

  avro_py_peer.py client --port P --first F --count N [--mode batch|single|mixed] [--batch B]
                         [--chunk BYTES] [--deflate] [--protocol flume.avpr]
      sends the bodies F..F+N-1 (decimal, header n=<number>), appendBatch of B events or append of one;
      prints "client: calls=C ok=O failed=X errors=E events=N handshakes=M1,M2.." (the server's matches)
      and exits 0 only if every call got OK.
  avro_py_peer.py server --port P --out FILE [--deflate] [--fail-first K] [--error-first E]
                         [--late-first L --late-seconds S] [--protocol flume.avpr]
      answers append/appendBatch: FAILED to the first K calls, an error response to the next E, FAILED
      after sleeping S seconds to the next L (nothing written for any of those), then OK after writing every
      body as one line to FILE. Prints "listening port=P", one "answered ..." line per non-OK answer and, on
      SIGTERM, "server: calls=C ok=O failed=X errors=E late=L events=N connections=K handshakes=M1,M2.."
      (the handshake matches it answered).
TLS (Python's ssl module): --tls-ca CA.pem makes a client verify the server (hostname --tls-server-name,
default localhost) or a server require client certificates signed by CA; --tls-cert/--tls-key present a
certificate (a server needs them to speak TLS; a client sends them as its client certificate). With --deflate
the zlib stream is inside TLS (Flume 1.9's order) unless --deflate-outside-tls (Flume 1.10+'s order).
Run it with /usr/bin/python3 (the interpreter python3-avro is installed for).
"""
import argparse
import io
import os
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import zlib

import avro.errors
import avro.io
import avro.ipc
import avro.protocol

MAX_PACK_BYTES = 64 << 20
MAX_BUFFERS = 1 << 16
DEFAULT_PROTOCOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "idl", "flume.avpr")


class NettyConnection:
    """One TCP connection carrying Netty packs, optionally inside a zlib stream in each direction."""

    def __init__(self, sock, deflate, level=6, chunk=8192):
        self.sock = sock
        self.chunk = chunk
        self.deflater = zlib.compressobj(level) if deflate else None
        self.inflater = zlib.decompressobj() if deflate else None
        self.pending = bytearray()  # plain bytes received and not yet parsed

    def write_pack(self, serial, message):
        buffers = [message[i : i + self.chunk] for i in range(0, len(message), self.chunk)] or [b""]
        parts = [struct.pack(">ii", serial, len(buffers))]
        for buf in buffers:
            parts.append(struct.pack(">i", len(buf)))
            parts.append(buf)
        data = b"".join(parts)
        if self.deflater:
            data = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self, want):
        while len(self.pending) < want:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed by peer")
            if self.inflater:
                data = self.inflater.decompress(data)
            self.pending += data

    def _take(self, n):
        self._fill(n)
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out

    def read_pack(self):
        """Returns (serial, message); None at a clean end of stream before a pack starts."""
        try:
            self._fill(1)
        except EOFError:
            return None
        serial, count = struct.unpack(">ii", self._take(8))
        if count < 0 or count > MAX_BUFFERS:
            raise ValueError("bad buffer count %d" % count)
        message = bytearray()
        for _ in range(count):
            (length,) = struct.unpack(">i", self._take(4))
            if length < 0 or len(message) + length > MAX_PACK_BYTES:
                raise ValueError("bad buffer length %d" % length)
            message += self._take(length)
        return serial, bytes(message)


class Tls:
    """The ssl context and options of one side."""

    def __init__(self, args, server):
        self.server_name = args.tls_server_name
        self.outside = args.deflate and args.deflate_outside_tls
        if server:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            if args.tls_ca:
                self.context.load_verify_locations(args.tls_ca)
                self.context.verify_mode = ssl.CERT_REQUIRED
        else:
            self.context = ssl.create_default_context(cafile=args.tls_ca)
        if args.tls_cert:
            self.context.load_cert_chain(args.tls_cert, args.tls_key)


class ZlibOutsideTls:
    """A socket-like object: TLS (ssl.SSLObject over memory BIOs) carried inside one zlib stream per
    direction, as Flume 1.10+ layers ssl and deflate."""

    def __init__(self, sock, context, server_side, server_name):
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                    server_hostname=None if server_side else server_name)
        self.deflater, self.inflater = zlib.compressobj(6), zlib.decompressobj()
        self._run(self.tls.do_handshake)

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH))

    def _run(self, op, *args):
        while True:
            try:
                result = op(*args)
                self._flush()
                return result
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if not data:
                    raise EOFError("connection closed during TLS")
                self.incoming.write(self.inflater.decompress(data))

    def sendall(self, data):
        self._run(self.tls.write, data)

    def recv(self, n):
        try:
            return self._run(self.tls.read, n)
        except ssl.SSLZeroReturnError:
            return b""

    def close(self):
        self.sock.close()


class NettyTransceiver:
    """Client transport for avro.ipc.Requestor: one request pack out, the reply pack with its serial back."""

    def __init__(self, host, port, deflate, chunk, tls=None):
        sock = socket.create_connection((host, port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls and tls.outside:
            sock = ZlibOutsideTls(sock, tls.context, False, tls.server_name)
        elif tls:
            sock = tls.context.wrap_socket(sock, server_hostname=tls.server_name)
        self.conn = NettyConnection(sock, deflate and not (tls and tls.outside), chunk=chunk)
        self.remote_name = "%s:%d" % (host, port)
        self.connected = False  # a handshake succeeded on this connection
        self.serial = 0

    def transceive(self, request):
        self.serial += 1
        self.conn.write_pack(self.serial, request)
        reply = self.conn.read_pack()
        if reply is None:
            raise EOFError("connection closed while waiting for serial %d" % self.serial)
        if reply[0] != self.serial:
            raise ValueError("reply serial %d, expected %d" % (reply[0], self.serial))
        return reply[1]

    def close(self):
        self.conn.sock.close()


class NettyRequestor(avro.ipc.Requestor):
    """avro.ipc.Requestor with the Netty transport's rule: no handshake once the connection is established."""

    def __init__(self, protocol, transceiver):
        super().__init__(protocol, transceiver)
        self.matches = []  # the server's handshake answers, in order

    def write_handshake_request(self, encoder):
        if not self.transceiver.connected:
            super().write_handshake_request(encoder)

    def read_handshake_response(self, decoder):
        start = decoder.reader.tell()
        established = super().read_handshake_response(decoder)
        decoder.reader.seek(start)
        self.matches.append(avro.ipc.HANDSHAKE_REQUESTOR_READER.read(decoder)["match"])
        return established

    def issue_request(self, call_request, message_name, request_datum):
        decoder = avro.io.BinaryDecoder(io.BytesIO(self.transceiver.transceive(call_request)))
        if self.transceiver.connected:
            return self.read_call_response(message_name, decoder)
        if self.read_handshake_response(decoder):  # BOTH or CLIENT: established from now on
            self.transceiver.connected = True
            return self.read_call_response(message_name, decoder)
        return self.request(message_name, request_datum)  # NONE: resend with our protocol


class NettyResponder(avro.ipc.Responder):
    """avro.ipc.Responder for one connection: reads handshakes only until one succeeded."""

    def __init__(self, protocol, state):
        super().__init__(protocol)
        self.state = state
        self.remote = None

    def process_handshake(self, decoder, encoder):
        if self.remote is not None:
            return self.remote
        start = encoder.writer.tell()
        self.remote = super().process_handshake(decoder, encoder)  # None: answered NONE, not established
        self.state.note_match(encoder.writer.getvalue()[start])
        return self.remote

    def invoke(self, local_message, request):
        if local_message.name == "append":
            events = [request["event"]]
        elif local_message.name == "appendBatch":
            events = request["events"]
        else:
            raise avro.errors.AvroRemoteException("unexpected message " + local_message.name)
        return self.state.deliver(events)


class ServerState:
    """What every connection of the test server shares: the output file, the FAILED budget, counters."""

    def __init__(self, out_path, args):
        self.lock = threading.Lock()
        self.out = open(out_path, "ab")
        self.fail_left, self.error_left, self.late_left = args.fail_first, args.error_first, args.late_first
        self.late_seconds = args.late_seconds
        self.calls = self.ok = self.failed = self.errors = self.late = self.events = self.connections = 0
        self.matches = []

    def note_match(self, first_byte):
        with self.lock:
            self.matches.append({0: "BOTH", 2: "CLIENT", 4: "NONE"}.get(first_byte, "?"))

    def deliver(self, events):
        with self.lock:
            self.calls += 1
            if self.fail_left > 0:
                self.fail_left -= 1
                self.failed += 1
                print("answered FAILED call=%d events=%d" % (self.calls, len(events)), flush=True)
                return "FAILED"
            if self.error_left > 0:
                self.error_left -= 1
                self.errors += 1
                print("answered error call=%d events=%d" % (self.calls, len(events)), flush=True)
                raise avro.errors.AvroRemoteException("injected error for call %d" % self.calls)
            late = self.late_left > 0
            if late:
                self.late_left -= 1
                self.late += 1
        if late:  # the client's request-timeout must fire first; then FAILED (nothing written)
            time.sleep(self.late_seconds)
            print("answered FAILED late after %.1f s" % self.late_seconds, flush=True)
            return "FAILED"
        with self.lock:
            self.out.write(b"".join(bytes(e["body"]) + b"\n" for e in events))
            self.out.flush()
            self.ok += 1
            self.events += len(events)
            return "OK"

    def summary(self):
        with self.lock:
            return "server: calls=%d ok=%d failed=%d errors=%d late=%d events=%d connections=%d handshakes=%s" % (
                self.calls, self.ok, self.failed, self.errors, self.late, self.events, self.connections,
                ",".join(self.matches))


def _serve(args, protocol):
    state = ServerState(args.out, args)
    tls = Tls(args, True) if args.tls_cert else None

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            with state.lock:
                state.connections += 1
            sock = self.request
            try:
                if tls and tls.outside:
                    sock = ZlibOutsideTls(sock, tls.context, True, None)
                elif tls:
                    sock = tls.context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError, EOFError) as exc:
                print("tls handshake failed: %s" % exc, flush=True)
                return
            conn = NettyConnection(sock, args.deflate and not (tls and tls.outside))
            responder = NettyResponder(protocol, state)
            try:
                while True:
                    pack = conn.read_pack()
                    if pack is None:
                        return
                    conn.write_pack(pack[0], responder.respond(pack[1]))
            except Exception as exc:  # pylint: disable=broad-except  (any peer error ends the connection)
                print("connection ended: %s: %s" % (type(exc).__name__, exc), flush=True)

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    server = Server(("127.0.0.1", args.port), Handler)

    def _stop(_signum, _frame):
        print(state.summary(), flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, _stop)
    print("listening port=%d" % server.server_address[1], flush=True)
    server.serve_forever()


def _event(number):
    text = str(number)
    return {"headers": {"n": text}, "body": text.encode()}


def _client(args, protocol):
    tls = Tls(args, False) if (args.tls_ca or args.tls_cert) else None
    transceiver = NettyTransceiver("127.0.0.1", args.port, args.deflate, args.chunk, tls)
    requestor = NettyRequestor(protocol, transceiver)
    calls = ok = failed = errors = 0
    number, end = args.first, args.first + args.count
    while number < end:
        single = args.mode == "single" or (args.mode == "mixed" and calls % 2 == 1)
        n = 1 if single else min(args.batch, end - number)
        try:
            if single:
                status = requestor.request("append", {"event": _event(number)})
            else:
                status = requestor.request("appendBatch", {"events": [_event(i) for i in range(number, number + n)]})
        except avro.errors.AvroRemoteException as exc:
            errors += 1
            print("error response: %s" % exc, file=sys.stderr)
            break
        calls += 1
        if status != "OK":
            failed += 1
            print("call %d answered %s" % (calls, status), file=sys.stderr)
            break
        ok += 1
        number += n
    transceiver.close()
    print("client: calls=%d ok=%d failed=%d errors=%d events=%d handshakes=%s"
          % (calls, ok, failed, errors, number - args.first, ",".join(requestor.matches)))
    return 0 if number == end and failed == 0 and errors == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("role", choices=["client", "server"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--protocol", default=DEFAULT_PROTOCOL)
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--mode", choices=["batch", "single", "mixed"], default="batch")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=8192, help="largest buffer of a request pack")
    parser.add_argument("--out")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--error-first", type=int, default=0)
    parser.add_argument("--late-first", type=int, default=0)
    parser.add_argument("--late-seconds", type=float, default=2.0)
    parser.add_argument("--tls-ca")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-server-name", default="localhost")
    parser.add_argument("--deflate-outside-tls", action="store_true")
    args = parser.parse_args()
    with open(args.protocol) as handle:
        protocol = avro.protocol.parse(handle.read())
    if args.role == "server":
        if not args.out:
            parser.error("server needs --out")
        _serve(args, protocol)
        return 0
    return _client(args, protocol)


if __name__ == "__main__":
    sys.exit(main())
