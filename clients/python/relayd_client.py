"""relayd_client.py - send Flume events to relayd (or Flume) over Avro RPC from Python, and receive them.

Debian's python3-avro encodes Avro RPC (handshake, call metadata, Flume's AvroFlumeEvent and Status) but has
no transport for the Netty framing that Flume's AvroSource and AvroSink speak; this module adds it. Each pack
on the wire is: int32 serial, int32 buffer count, then per buffer an int32 length and the bytes (big-endian,
no terminator). A connection's handshake is sent until the server answers BOTH or CLIENT; after that calls
carry no handshake (Flume's NettyTransceiver / NettyServer behaviour). deflate wraps each direction of the
connection in one zlib stream, sync-flushed after every pack (Flume's compression-type = deflate).

    from relayd_client import Client
    with Client("127.0.0.1", 41414) as client:
        client.append(b"one event", {"host": "web1"})
        client.append_batch([(b"body 1", {"k": "v"}), (b"body 2", {})])

append() and append_batch() return when the server has committed the events to its channel; a FAILED answer
(a full channel downstream) raises DeliveryError, which a caller may retry. A lost connection raises too and
is reopened by the next call.

    from relayd_client import Server
    def handle(events):            # events: list of (body bytes, headers dict); runs in a connection thread
        ...                        # return True: answer OK (relayd's sink commits); False: answer FAILED
        return True
    Server("127.0.0.1", 4545, handle).serve_forever()

Run with the interpreter python3-avro is installed for (Debian: /usr/bin/python3). The protocol is read
from flume.avpr: the `protocol` argument, else $RELAYD_AVPR, else ../../idl/flume.avpr from this file (the
source tree's clients/python, or the installed share/relayd/clients/python next to share/relayd/idl).
"""
import io
import os
import socket
import socketserver
import struct
import zlib

import avro.errors
import avro.io
import avro.ipc
import avro.protocol

__all__ = ["Client", "Server", "DeliveryError", "load_protocol"]

MAX_MESSAGE_BYTES = 64 << 20  # the largest pack this module accepts from a peer
MAX_BUFFERS = 1 << 16
BUFFER_BYTES = 8192  # the buffer size requests are split into


class DeliveryError(Exception):
    """The server did not accept the events: status is "FAILED", "UNKNOWN" or "ERROR" (an error response)."""

    def __init__(self, status, detail=""):
        super().__init__("events not delivered: %s%s" % (status, (" (%s)" % detail) if detail else ""))
        self.status = status


def load_protocol(path=None):
    """Parses flume.avpr (see the module documentation for where it is looked for)."""
    candidates = [path] if path else []
    if os.environ.get("RELAYD_AVPR"):
        candidates.append(os.environ["RELAYD_AVPR"])
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "idl", "flume.avpr"))
    for candidate in candidates:
        if os.path.isfile(candidate):
            with open(candidate) as handle:
                return avro.protocol.parse(handle.read())
    raise FileNotFoundError("flume.avpr not found (tried %s); pass protocol= or set RELAYD_AVPR" % ", ".join(candidates))


class _Packs:
    """Netty packs over one socket, optionally inside a zlib stream in each direction."""

    def __init__(self, sock, deflate, level=6):
        self.sock = sock
        self.deflater = zlib.compressobj(level) if deflate else None
        self.inflater = zlib.decompressobj() if deflate else None
        self.pending = bytearray()

    def write(self, serial, message):
        chunks = [message[i : i + BUFFER_BYTES] for i in range(0, len(message), BUFFER_BYTES)] or [b""]
        data = [struct.pack(">ii", serial, len(chunks))]
        for chunk in chunks:
            data += [struct.pack(">i", len(chunk)), chunk]
        data = b"".join(data)
        if self.deflater:
            data = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self, n):
        while len(self.pending) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed by the peer")
            self.pending += self.inflater.decompress(data) if self.inflater else data

    def _take(self, n):
        self._fill(n)
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out

    def read(self):
        """(serial, message); None when the peer closed the connection between packs."""
        try:
            self._fill(1)
        except EOFError:
            return None
        serial, count = struct.unpack(">ii", self._take(8))
        if not 0 <= count <= MAX_BUFFERS:
            raise ValueError("bad buffer count %d" % count)
        message = bytearray()
        for _ in range(count):
            (length,) = struct.unpack(">i", self._take(4))
            if length < 0 or len(message) + length > MAX_MESSAGE_BYTES:
                raise ValueError("bad buffer length %d" % length)
            message += self._take(length)
        return serial, bytes(message)


class _NettyTransceiver:
    """A transceiver for avro.ipc.Requestor: one request pack out, the pack with the same serial back."""

    def __init__(self, host, port, deflate, timeout):
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.packs = _Packs(sock, deflate)
        self.remote_name = "%s:%d" % (host, port)
        self.established = False  # a handshake was answered BOTH or CLIENT on this connection
        self.serial = 0

    def transceive(self, request):
        self.serial += 1
        self.packs.write(self.serial, request)
        reply = self.packs.read()
        if reply is None:
            raise EOFError("connection closed while waiting for a reply")
        if reply[0] != self.serial:
            raise ValueError("reply serial %d, expected %d" % (reply[0], self.serial))
        return reply[1]

    def close(self):
        self.packs.sock.close()


class _NettyRequestor(avro.ipc.Requestor):
    """Requestor with the Netty rule: a handshake only until one succeeded on the connection."""

    def write_handshake_request(self, encoder):
        if not self.transceiver.established:
            super().write_handshake_request(encoder)

    def issue_request(self, call_request, message_name, request_datum):
        decoder = avro.io.BinaryDecoder(io.BytesIO(self.transceiver.transceive(call_request)))
        if self.transceiver.established:
            return self.read_call_response(message_name, decoder)
        if self.read_handshake_response(decoder):
            self.transceiver.established = True
            return self.read_call_response(message_name, decoder)
        return self.request(message_name, request_datum)  # NONE: sent again with our protocol


def _event(body, headers):
    if isinstance(body, str):
        body = body.encode()
    return {"headers": {str(k): str(v) for k, v in (headers or {}).items()}, "body": bytes(body)}


class Client:
    """One connection to an Avro source (relayd or Flume); opened on first use, reopened after an error."""

    def __init__(self, host, port, deflate=False, timeout=20.0, protocol=None):
        self.host, self.port, self.deflate, self.timeout = host, int(port), deflate, timeout
        self.protocol = protocol if isinstance(protocol, avro.protocol.Protocol) else load_protocol(protocol)
        self._transceiver = None
        self._requestor = None

    def _call(self, message, datum):
        if self._transceiver is None:
            self._transceiver = _NettyTransceiver(self.host, self.port, self.deflate, self.timeout)
            self._requestor = _NettyRequestor(self.protocol, self._transceiver)
        try:
            status = self._requestor.request(message, datum)
        except avro.errors.AvroRemoteException as exc:
            raise DeliveryError("ERROR", str(exc)) from exc
        except Exception:
            self.close()  # the connection's state is unknown: start afresh next time
            raise
        if status != "OK":
            raise DeliveryError(status)

    def append(self, body, headers=None):
        """Sends one event (body: bytes or str, headers: dict of str); returns once it is committed."""
        self._call("append", {"event": _event(body, headers)})

    def append_batch(self, events):
        """Sends (body, headers) pairs in one call; all are committed, or none (DeliveryError)."""
        self._call("appendBatch", {"events": [_event(body, headers) for body, headers in events]})

    def close(self):
        if self._transceiver is not None:
            self._transceiver.close()
        self._transceiver = self._requestor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _NettyResponder(avro.ipc.Responder):
    """Responder for one connection: reads handshakes until one succeeded, then plain calls."""

    def __init__(self, protocol, handler):
        super().__init__(protocol)
        self.handler = handler
        self.remote = None

    def process_handshake(self, decoder, encoder):
        if self.remote is None:
            self.remote = super().process_handshake(decoder, encoder)
        return self.remote

    def invoke(self, local_message, request):
        if local_message.name == "append":
            events = [request["event"]]
        elif local_message.name == "appendBatch":
            events = request["events"]
        else:
            raise avro.errors.AvroRemoteException("unknown message " + local_message.name)
        return "OK" if self.handler([(bytes(e["body"]), dict(e["headers"])) for e in events]) else "FAILED"


class Server(socketserver.ThreadingTCPServer):
    """An Avro RPC server for Avro sinks (relayd's or Flume's): handler(events) -> True (OK) / False (FAILED).

    One thread per connection; handler may be called from several threads at once. port 0 picks a free port
    (see server_address)."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, host, port, handler, deflate=False, protocol=None):
        self.handler = handler
        self.deflate = deflate
        self.protocol = protocol if isinstance(protocol, avro.protocol.Protocol) else load_protocol(protocol)
        super().__init__((host, int(port)), _ConnectionHandler)


class _ConnectionHandler(socketserver.BaseRequestHandler):
    def handle(self):
        packs = _Packs(self.request, self.server.deflate)
        responder = _NettyResponder(self.server.protocol, self.server.handler)
        try:
            while True:
                pack = packs.read()
                if pack is None:
                    return
                packs.write(pack[0], responder.respond(pack[1]))
        except (OSError, EOFError, ValueError, zlib.error, avro.errors.AvroException):
            return  # a broken or misbehaving peer: close its connection, keep serving the others
