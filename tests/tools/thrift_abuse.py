#!/usr/bin/env python3
"""thrift_abuse.py - raw-socket Thrift peers, well-behaved and not, for relayd's Thrift source.

Usage: thrift_abuse.py PORT compact|binary CASE [ARG]

PROTOCOL is the one the source speaks. Every CASE opens its own connection(s) to 127.0.0.1:PORT, checks the
outcome relayd documents for it and prints one line; exit status 0 when the outcome was as expected, 1 when
not. Messages are encoded here byte by byte (Thrift's doc/specs/thrift-compact-protocol.md), no Thrift library involved.
  normal BODY        append(headers {case: BODY}, body BODY): the reply must be exactly Status OK with
                     the seqid and method name echoed
  limit BODYCHAR     appendBatch of one event whose frame is exactly 16,384,000 bytes (Thrift's and so
                     Flume's limit, which must be accepted): reply OK
  oversize           frame length 16,384,001: connection closed, no reply
  zero               frame length 0: connection closed, no reply
  negative VALUE     frame length VALUE (< 0, as a signed 32-bit number): connection closed, no reply
  badmessage         a complete frame holding an append cut 5 bytes short: connection closed, no reply
  wrongprotocol      a valid append in the other protocol: connection closed, no reply
  unknownmethod      a call of "ping": a TApplicationException UNKNOWN_METHOD (1) reply with the seqid and
                     name echoed, then an append on the same connection answers OK
  truncatedclose     frame length 100, 10 bytes, then the client shuts its side: closed, no reply
  partial BODY       one connection sends half of an append frame and waits while a second connection's
                     append is answered OK; then the rest follows and the first append is answered OK too
  flood COUNT        COUNT connections each send a frame length 0: every one is closed
"""
import socket
import struct
import sys

MAX_FRAME = 16384000
TIMEOUT = 10.0


# ---------------------------------------------------------------- encoding

def varint(n):
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag32(n):
    return (n << 1) ^ (n >> 31)


def compact_string(b):
    return varint(len(b)) + b


def compact_event(headers, body):
    out = b"\x1b" + varint(len(headers))  # field 1, map
    if headers:
        out += b"\x88"  # string -> string
        for key, value in headers.items():
            out += compact_string(key) + compact_string(value)
    return out + b"\x18" + compact_string(body) + b"\x00"  # field 2 (delta 1), binary; stop


def compact_call(name, seqid, args):
    return b"\x82\x21" + varint(seqid) + compact_string(name) + args


def compact_append(seqid, headers, body):
    return compact_call(b"append", seqid, b"\x1c" + compact_event(headers, body) + b"\x00")


def compact_append_batch(seqid, events):
    assert len(events) <= 14
    body = b"".join(compact_event(h, b) for h, b in events)
    return compact_call(b"appendBatch", seqid, b"\x19" + bytes([(len(events) << 4) | 12]) + body + b"\x00")


def binary_string(b):
    return struct.pack(">i", len(b)) + b


def binary_event(headers, body):
    out = b"\x0d\x00\x01\x0b\x0b" + struct.pack(">i", len(headers))
    for key, value in headers.items():
        out += binary_string(key) + binary_string(value)
    return out + b"\x0b\x00\x02" + binary_string(body) + b"\x00"


def binary_call(name, seqid, args):
    return b"\x80\x01\x00\x01" + binary_string(name) + struct.pack(">i", seqid) + args


def binary_append(seqid, headers, body):
    return binary_call(b"append", seqid, b"\x0c\x00\x01" + binary_event(headers, body) + b"\x00")


def append_msg(protocol, seqid, headers, body):
    return (compact_append if protocol == "compact" else binary_append)(seqid, headers, body)


def ok_reply(protocol, name, seqid):
    """The exact reply message (without frame length) relayd must send for Status OK."""
    if protocol == "compact":
        return b"\x82\x41" + varint(seqid) + compact_string(name) + b"\x05\x00\x00\x00"
    return b"\x80\x01\x00\x02" + binary_string(name) + struct.pack(">i", seqid) + b"\x08\x00\x00" + \
        struct.pack(">i", 0) + b"\x00"


def frame(msg):
    return struct.pack(">I", len(msg)) + msg


# ---------------------------------------------------------------- decoding (exception replies)

class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("reply truncated")
        out = self.data[self.pos: self.pos + n]
        self.pos += n
        return out

    def byte(self):
        return self.take(1)[0]

    def varint(self):
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    def zigzag(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)


def _compact_exception(r):
    if r.take(2) != b"\x82\x61":
        raise ValueError("not a compact EXCEPTION message")
    seqid = r.varint()
    name = r.take(r.varint())
    fields, fid = {}, 0
    while True:
        b = r.byte()
        if b == 0:
            return seqid, name, fields
        fid = fid + (b >> 4) if b >> 4 else r.zigzag()
        kind = b & 0x0F
        if kind == 8:
            fields[fid] = r.take(r.varint())
        elif kind == 5:
            fields[fid] = r.zigzag()
        else:
            raise ValueError("unexpected field type %d" % kind)


def _binary_exception(r):
    if r.take(4) != b"\x80\x01\x00\x03":
        raise ValueError("not a binary EXCEPTION message")
    name = r.take(struct.unpack(">i", r.take(4))[0])
    seqid = struct.unpack(">i", r.take(4))[0]
    fields = {}
    while True:
        kind = r.byte()
        if kind == 0:
            return seqid, name, fields
        fid = struct.unpack(">h", r.take(2))[0]
        if kind == 11:
            fields[fid] = r.take(struct.unpack(">i", r.take(4))[0])
        elif kind == 8:
            fields[fid] = struct.unpack(">i", r.take(4))[0]
        else:
            raise ValueError("unexpected field type %d" % kind)


def decode_exception(protocol, msg):
    """(seqid, name, {field id: value}) of a TApplicationException reply."""
    r = Reader(msg)
    return (_compact_exception if protocol == "compact" else _binary_exception)(r)


# ---------------------------------------------------------------- sockets

class Fail(Exception):
    pass


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.settimeout(TIMEOUT)
    return sock


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise Fail("connection closed after %d of %d reply bytes" % (len(data), n))
        data += chunk
    return data


def read_frame(sock):
    (length,) = struct.unpack(">I", read_exact(sock, 4))
    return read_exact(sock, length)


def expect_closed(sock, what):
    """The server must close the connection without sending anything."""
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        raise Fail("%s: connection still open after %.0f s" % (what, TIMEOUT))
    if data:
        raise Fail("%s: expected the connection closed without a reply, got %r" % (what, data[:40]))
    sock.close()
    return "closed"


def expect_ok(sock, protocol, name, seqid, what):
    reply = read_frame(sock)
    want = ok_reply(protocol, name, seqid)
    if reply != want:
        raise Fail("%s: reply %s, expected %s" % (what, reply.hex(), want.hex()))


def send_bad(port, data, what):
    sock = connect(port)
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return "closed"
    return expect_closed(sock, what)


# ---------------------------------------------------------------- cases

def case_normal(port, protocol, body):
    sock = connect(port)
    sock.sendall(frame(append_msg(protocol, 7, {b"case": body.encode()}, body.encode())))
    expect_ok(sock, protocol, b"append", 7, "normal append")
    sock.close()
    return "OK reply"


def case_limit(port, protocol, fill):
    if protocol != "compact":
        raise Fail("limit is written for a compact source")
    fixed = len(compact_append_batch(9, [({}, b"")]))
    size = MAX_FRAME - fixed
    while fixed - 1 + len(varint(size)) + size > MAX_FRAME:
        size -= 1
    msg = compact_append_batch(9, [({}, fill.encode() * size)])
    if len(msg) != MAX_FRAME:
        raise Fail("could not build a message of exactly %d bytes (%d)" % (MAX_FRAME, len(msg)))
    sock = connect(port)
    sock.sendall(frame(msg))
    expect_ok(sock, protocol, b"appendBatch", 9, "appendBatch of exactly the frame limit")
    sock.close()
    return "OK reply for a %d-byte frame (body %d bytes)" % (len(msg), size)


def case_unknown_method(port, protocol):
    sock = connect(port)
    if protocol == "compact":
        msg = compact_call(b"ping", 41, b"\x00")
    else:
        msg = binary_call(b"ping", 41, b"\x00")
    sock.sendall(frame(msg))
    seqid, name, fields = decode_exception(protocol, read_frame(sock))
    if seqid != 41 or name != b"ping" or fields.get(2) != 1:
        raise Fail("unknown method: exception seqid=%r name=%r fields=%r, expected seqid 41, name ping, "
                   "type 1" % (seqid, name, fields))
    sock.sendall(frame(append_msg(protocol, 42, {}, b"after-unknown-method")))
    expect_ok(sock, protocol, b"append", 42, "append after the unknown method")
    sock.close()
    return "exception type=1 message=%r, then OK on the same connection" % fields.get(1, b"").decode()


def case_partial(port, protocol, body):
    held = connect(port)
    data = frame(append_msg(protocol, 5, {}, body.encode()))
    half = len(data) // 2
    held.sendall(data[:half])
    case_normal(port, protocol, body + "-meanwhile")
    held.sendall(data[half:])
    expect_ok(held, protocol, b"append", 5, "append completed after a pause")
    held.close()
    return "other client served while a frame was half sent; the completed frame answered OK"


def run(port, protocol, case, arg):
    other = "binary" if protocol == "compact" else "compact"
    if case == "normal":
        return case_normal(port, protocol, arg)
    if case == "limit":
        return case_limit(port, protocol, arg)
    if case == "oversize":
        return send_bad(port, struct.pack(">I", MAX_FRAME + 1) + b"\x82\x21\x01", case)
    if case == "zero":
        return send_bad(port, struct.pack(">I", 0), case)
    if case == "negative":
        return send_bad(port, struct.pack(">i", int(arg)) + b"\x82", case)
    if case == "badmessage":
        msg = append_msg(protocol, 3, {b"k": b"v"}, b"cut short")[:-5]
        return send_bad(port, frame(msg), case)
    if case == "wrongprotocol":
        return send_bad(port, frame(append_msg(other, 1, {}, b"wrong protocol")), case)
    if case == "unknownmethod":
        return case_unknown_method(port, protocol)
    if case == "truncatedclose":
        sock = connect(port)
        sock.sendall(struct.pack(">I", 100) + b"\x82\x21\x01\x06append")
        sock.shutdown(socket.SHUT_WR)
        return expect_closed(sock, case)
    if case == "partial":
        return case_partial(port, protocol, arg)
    if case == "flood":
        for i in range(int(arg)):
            send_bad(port, struct.pack(">I", 0), "flood %d" % i)
        return "%s connections closed" % arg
    raise Fail("unknown case %s" % case)


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    port, protocol, case = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else ""
    try:
        outcome = run(port, protocol, case, arg)
    except (Fail, ValueError, OSError) as err:
        print("FAIL case=%s: %s" % (case, err))
        return 1
    print("ok case=%s: %s" % (case, outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
