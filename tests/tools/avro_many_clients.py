#!/usr/bin/env python3
"""avro_many_clients.py - opens N Avro RPC connections to one source at once and sends one append on each.

Usage: avro_many_clients.py PORT N
       avro_many_clients.py PORT pipeline K   (one connection, K packs sent back to back, then K replies)
All N connections are opened first, then every one sends an append (handshake as a Flume 1.9-1.11 client that already
knows the server's hash would) while all are still open, then all replies are read: each must be the
handshake BOTH + Status OK. While the connections are open the script signals the relayd (SIGUSR1, pid from
PIDFILE or the RELAYD_PID environment variable) so its counters show N open connections, then waits for
a line on stdin before closing them. Exit 0 when every reply was OK."""
import os
import signal
import socket
import struct
import sys

FLUME_HASH = bytes.fromhex("86aadae2c45474c0fe93ffd0f2350a65")  # the client protocol: Flume 1.9-1.11
RELAYD_HASH = bytes.fromhex("30da54059df72d9584b867d5202e2069")  # what the server is known to run


def zigzag(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def avro_string(b):
    return zigzag(len(b)) + b


def append_request(serial, body):
    handshake = FLUME_HASH + b"\x00" + RELAYD_HASH + b"\x00"  # clientHash, null protocol, serverHash, null meta
    event = zigzag(1) + avro_string(b"conn") + avro_string(str(serial).encode()) + b"\x00" + avro_string(body)
    message = handshake + b"\x00" + avro_string(b"append") + event
    return struct.pack(">ii", serial, 1) + struct.pack(">i", len(message)) + message


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def read_pack(sock):
    serial, count = struct.unpack(">ii", read_exact(sock, 8))
    message = b""
    for _ in range(count):
        (length,) = struct.unpack(">i", read_exact(sock, 4))
        message += read_exact(sock, length)
    return serial, message


def pipeline(port, k):
    """Sends k appends without waiting (pipelining), several packs per write, then checks k replies in order.
    Only the first carries the handshake (the connection is established after it)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    first = append_request(1, b"p-0")
    rest = b""
    for i in range(1, k):
        event = zigzag(0) + avro_string(b"p-%d" % i)
        message = b"\x00" + avro_string(b"append") + event
        rest += struct.pack(">iii", i + 1, 1, len(message)) + message
    s.sendall(first + rest)
    for i in range(k):
        serial, message = read_pack(s)
        want = b"\x00" * 7 if i == 0 else b"\x00" * 3
        if serial != i + 1 or message != want:
            print("pipelined reply %d: serial=%d %r" % (i, serial, message[:40]), file=sys.stderr)
            return 1
    print("pipelined=%d ok" % k)
    return 0


def main():
    if sys.argv[2] == "pipeline":
        return pipeline(int(sys.argv[1]), int(sys.argv[3]))
    port, n = int(sys.argv[1]), int(sys.argv[2])
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        socks.append(s)
    for i, s in enumerate(socks):
        s.sendall(append_request(i + 1, b"event-%d" % i))
    ok = 0
    for i, s in enumerate(socks):
        serial, message = read_pack(s)
        # BOTH (00), null protocol (00), null hash (00), null meta (00); meta 00; flag 00; Status OK 00
        if serial == i + 1 and message == b"\x00" * 7:
            ok += 1
        elif i - ok < 3:
            print("connection %d: unexpected reply serial=%d %r" % (i, serial, message), file=sys.stderr)
    pid = int(os.environ.get("RELAYD_PID", "0"))
    if pid:
        os.kill(pid, signal.SIGUSR1)
    print("ok=%d of %d" % (ok, n), flush=True)
    sys.stdin.readline()
    for s in socks:
        s.close()
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
