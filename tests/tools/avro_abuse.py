#!/usr/bin/env python3
"""avro_abuse.py - misbehaving Avro RPC clients (raw sockets) for relayd's protocol-abuse test.

Usage: avro_abuse.py PORT CASE [ARG]
Connects to 127.0.0.1:PORT, misbehaves as CASE says, checks what the server does, prints one line
"case=CASE peer=LOCALPORT[,LOCALPORT...] outcome=WHAT" and exits 0 when the outcome is the documented one:

  closed (no reply; the connection is closed at once):
    negative-length   a buffer length of -1          huge-length     a buffer length of 2^31-1
    negative-count    a buffer count of -1           huge-count      a buffer count of 2^31-1
    zero-count        a buffer count of 0            big-pack        a real appendBatch above max-pack-bytes
                                                                       (ARG = its size in bytes, default 100000)
    garbage-handshake a handshake whose union branch is 3
    bad-protocol      a handshake with an unknown hash and a protocol text that is not Flume's
    negative-string   an established connection, then an event body length of -1
    huge-string       an established connection, then an event body length of 2^40
    batch-over-limit  appendBatch with ARG events (the source's max-batch-events + 1)
    headers-over-limit an event with ARG headers (the source's max-headers + 1)
  no reply, connection kept open:
    truncated         a pack cut short; nothing may come back within 0.5 s; then the client closes
  served:
    unknown-message   "noSuchMessage" gets an error response naming it; the same connection then gets OK for
                      an append (bodies ARG, ARG+1) and an empty reply for the ping
    pipelined         ARG..ARG+2 as three appends (serials 5, 6, 7) in one write, their messages cut into 1-byte
                      buffers with zero-length buffers between: three OK replies with serials 5, 6, 7 in order
    stalled           sends requests without reading the replies until the server stops reading (a send
                      blocks for 2 s), prints "stalled sent=BYTES", waits for end of stdin, then reads every
                      reply: all must be there, in order (the connection was paused, not dropped); with
                      ARG "close" it closes at that point instead, without reading anything
    burst             ARG connections (default 20) each sending a negative buffer length: all closed
Bodies sent by misbehaving clients are "abuse", so a delivered one shows up as a non-number line."""
import socket
import struct
import sys
import threading
import time

FLUME_HASH = bytes.fromhex("86aadae2c45474c0fe93ffd0f2350a65")  # Flume 1.9-1.11 clients
RELAYD_HASH = bytes.fromhex("30da54059df72d9584b867d5202e2069")  # relayd's protocol (idl/flume.avpr)
TIMEOUT = 5.0


def varint(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def blob(data):
    return varint(len(data)) + data


def event(body, headers=None):
    headers = headers or {}
    encoded = b""
    if headers:
        encoded = varint(len(headers)) + b"".join(blob(k) + blob(v) for k, v in headers.items())
    return encoded + b"\x00" + blob(body)


HANDSHAKE = FLUME_HASH + b"\x00" + RELAYD_HASH + b"\x00"  # known client, null text, right server hash, null meta


def call(name, params=b"", handshake=True):
    return (HANDSHAKE if handshake else b"") + b"\x00" + blob(name) + params


def append(body, handshake=True):
    return call(b"append", event(body), handshake)


def append_batch(events, handshake=True):
    return call(b"appendBatch", varint(len(events)) + b"".join(events) + b"\x00", handshake)


def pack(serial, message, chunk=8192):
    buffers = [message[i : i + chunk] for i in range(0, len(message), chunk)] or [b""]
    return struct.pack(">ii", serial, len(buffers)) + b"".join(struct.pack(">i", len(b)) + b for b in buffers)


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return sock, sock.getsockname()[1]


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_pack(sock):
    serial, count = struct.unpack(">ii", read_exact(sock, 8))
    message = b""
    for _ in range(count):
        (length,) = struct.unpack(">i", read_exact(sock, 4))
        message += read_exact(sock, length)
    return serial, message


def wait_closed(sock, what_sent):
    """'closed' if the server closes without replying within TIMEOUT, else a description of what it did."""
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        return "closed"
    except socket.timeout:
        return "still open after %.0f s (%s)" % (TIMEOUT, what_sent)
    return "closed" if not data else "replied %r" % data[:40]


def send_and_expect_close(port, data, what, prefix=b""):
    sock, peer = connect(port)
    try:
        if prefix:  # establish the connection first (a ping with a handshake)
            sock.sendall(prefix)
            read_pack(sock)
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return peer, "closed"
    outcome = wait_closed(sock, what)
    sock.close()
    return peer, outcome


PING_WITH_HANDSHAKE = pack(1, HANDSHAKE + b"\x00" + blob(b""))


def case_frame(port, count, length):
    data = struct.pack(">ii", 1, count) + (struct.pack(">i", length) if length is not None else b"")
    return send_and_expect_close(port, data + b"abuse", "a bad frame header")


def case_big_pack(port, size):
    body = b"abuse" * 20
    n = size // (len(body) + 3) + 1
    message = append_batch([event(body)] * n)
    return send_and_expect_close(port, pack(1, message), "a %d-byte pack" % len(message))


def case_garbage_handshake(port):
    message = FLUME_HASH + varint(3) + b"abuse" * 10
    return send_and_expect_close(port, pack(1, message), "a garbage handshake")


def case_bad_protocol(port):
    text = b'{"protocol":"Other","namespace":"x.y","types":[],"messages":{}}'
    message = b"\x11" * 16 + b"\x02" + blob(text) + RELAYD_HASH + b"\x00" + b"\x00" + blob(b"append") + event(b"abuse")
    return send_and_expect_close(port, pack(1, message), "an incompatible protocol")


def case_bad_string(port, length):
    message = call(b"append", b"\x00" + varint(length) + b"abuse", handshake=False)
    return send_and_expect_close(port, pack(2, message), "body length %d" % length, prefix=PING_WITH_HANDSHAKE)


def case_batch_over(port, n):
    return send_and_expect_close(port, pack(1, append_batch([event(b"abuse")] * n)), "%d events" % n)


def case_headers_over(port, n):
    headers = {b"h%d" % i: b"v" for i in range(n)}
    return send_and_expect_close(port, pack(1, call(b"append", event(b"abuse", headers))), "%d headers" % n)


def case_truncated(port):
    sock, peer = connect(port)
    message = append(b"abuse")
    sock.sendall(struct.pack(">iii", 1, 1, len(message)) + message[: len(message) // 2])
    sock.settimeout(0.5)
    try:
        data = sock.recv(4096)
        outcome = "closed early" if not data else "replied %r" % data[:40]
    except socket.timeout:
        outcome = "no reply, open"
    except ConnectionResetError:
        outcome = "closed early"
    sock.close()
    return peer, outcome


def decode_error_reply(message):
    """BOTH handshake (00 00 00 00), meta 00, flag 01, branch 00, string."""
    if message[:7] != b"\x00\x00\x00\x00\x00\x01\x00":
        return None
    rest = message[7:]
    length, shift, i = 0, 0, 0
    while True:
        b = rest[i]
        length |= (b & 0x7F) << shift
        shift += 7
        i += 1
        if not b & 0x80:
            break
    length = (length >> 1) ^ -(length & 1)
    return rest[i : i + length].decode(errors="replace")


def case_unknown_message(port, first):
    sock, peer = connect(port)
    sock.sendall(pack(3, call(b"noSuchMessage", b"")))
    serial, message = read_pack(sock)
    text = decode_error_reply(message)
    if serial != 3 or text is None or "noSuchMessage" not in text:
        return peer, "unexpected reply serial=%d %r" % (serial, message[:60])
    sock.sendall(pack(4, append(str(first).encode(), handshake=False)))
    reply_ok = read_pack(sock) == (4, b"\x00\x00\x00")  # meta, flag 0, Status OK
    sock.sendall(pack(5, append_batch([event(str(first + 1).encode())], handshake=False)))
    batch_ok = read_pack(sock) == (5, b"\x00\x00\x00")
    sock.sendall(pack(6, call(b"", handshake=False)))
    ping = read_pack(sock)
    sock.close()
    if not (reply_ok and batch_ok):
        return peer, "error response, then append not answered OK"
    if ping != (6, b""):
        return peer, "ping after the error answered %r" % (ping,)
    return peer, "error response %r, then OK" % text


def case_pipelined(port, first):
    sock, peer = connect(port)
    data = b""
    for i in range(3):
        message = append(str(first + i).encode(), handshake=(i == 0))
        buffers = []
        for byte in message:
            buffers += [bytes([byte]), b""]
        data += struct.pack(">ii", 5 + i, len(buffers)) + b"".join(struct.pack(">i", len(b)) + b for b in buffers)
    sock.sendall(data)
    replies = [read_pack(sock) for _ in range(3)]
    sock.close()
    want = [(5, b"\x00\x00\x00\x00" + b"\x00\x00\x00"), (6, b"\x00\x00\x00"), (7, b"\x00\x00\x00")]
    return peer, "OK x3 in order" if replies == want else "unexpected replies %r" % replies


def case_stalled(port, then_close):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # keep our side's buffering small
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    peer = sock.getsockname()[1]
    sock.sendall(PING_WITH_HANDSHAKE)
    read_pack(sock)
    request = call(b"noSuchMessage" + b"x" * 100, b"", handshake=False)
    size = len(pack(0, request))  # every request pack has this size (the serial is fixed-width)
    sent, buf, off, built = 0, b"", 0, 0
    sock.settimeout(2.0)
    while sent < (512 << 20):
        if off == len(buf):
            buf, off = b"".join(pack(built + 2 + i, request) for i in range(1000)), 0
            built += 1000
        try:
            n = sock.send(buf[off:])
        except socket.timeout:
            break
        off += n
        sent += n
    else:
        return peer, "server kept reading %d bytes without us reading a reply" % sent
    requests = -(-sent // size)
    rest = buf[off : off + (size - sent % size) % size]  # the end of a pack sent only in part
    print("stalled sent=%d requests=%d" % (sent, requests), flush=True)
    sys.stdin.read()
    if then_close:
        sock.close()
        return peer, "paused, then closed without reading"

    sock.settimeout(TIMEOUT)
    problems = []
    reader = threading.Thread(target=_read_replies, args=(sock, requests, problems))
    reader.start()
    sock.sendall(rest)  # the server reads again once we read: finish the last pack
    reader.join()
    sock.close()
    return peer, problems[0] if problems else "paused, then all %d replies in order" % requests


def _read_replies(sock, count, problems):
    stream = sock.makefile("rb")
    try:
        for i in range(count):
            serial, nbuf = struct.unpack(">ii", stream.read(8))
            message = b"".join(stream.read(struct.unpack(">i", stream.read(4))[0]) for _ in range(nbuf))
            if serial != i + 2 or b"noSuchMessage" not in message:
                problems.append("reply %d: serial %d %r" % (i, serial, message[:40]))
                return
    except (OSError, struct.error) as exc:
        problems.append("reading replies: %s" % exc)


def case_burst(port, n):
    peers, outcomes = [], set()
    socks = []
    for _ in range(n):
        sock, peer = connect(port)
        sock.sendall(struct.pack(">iii", 1, 1, -1))
        socks.append(sock)
        peers.append(peer)
    for sock in socks:
        outcomes.add(wait_closed(sock, "a negative length"))
        sock.close()
    return ",".join(map(str, peers)), "closed" if outcomes == {"closed"} else " / ".join(sorted(outcomes))


CASES = {
    "negative-length": ("closed", lambda p, a: case_frame(p, 1, -1)),
    "huge-length": ("closed", lambda p, a: case_frame(p, 1, 0x7FFFFFFF)),
    "negative-count": ("closed", lambda p, a: case_frame(p, -1, None)),
    "huge-count": ("closed", lambda p, a: case_frame(p, 0x7FFFFFFF, None)),
    "zero-count": ("closed", lambda p, a: case_frame(p, 0, None)),
    "big-pack": ("closed", lambda p, a: case_big_pack(p, int(a or 100000))),
    "garbage-handshake": ("closed", lambda p, a: case_garbage_handshake(p)),
    "bad-protocol": ("closed", lambda p, a: case_bad_protocol(p)),
    "negative-string": ("closed", lambda p, a: case_bad_string(p, -1)),
    "huge-string": ("closed", lambda p, a: case_bad_string(p, 1 << 40)),
    "batch-over-limit": ("closed", lambda p, a: case_batch_over(p, int(a))),
    "headers-over-limit": ("closed", lambda p, a: case_headers_over(p, int(a))),
    "truncated": ("no reply, open", lambda p, a: case_truncated(p)),
    "unknown-message": ("error response", lambda p, a: case_unknown_message(p, int(a))),
    "pipelined": ("OK x3 in order", lambda p, a: case_pipelined(p, int(a))),
    "stalled": ("paused, then", lambda p, a: case_stalled(p, a == "close")),
    "burst": ("closed", lambda p, a: case_burst(p, int(a or 20))),
}


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    port, name, arg = int(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
    expected, run = CASES[name]
    started = time.monotonic()
    try:
        peer, outcome = run(port, arg)
    except (OSError, EOFError, struct.error) as exc:
        peer, outcome = "?", "client error: %s" % exc
    print("case=%s peer=%s outcome=%s (%.2f s)" % (name, peer, outcome, time.monotonic() - started), flush=True)
    return 0 if outcome.startswith(expected) else 1


if __name__ == "__main__":
    sys.exit(main())
