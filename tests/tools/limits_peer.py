#!/usr/bin/env python3
"""limits_peer.py - peers that press on relayd's resource limits (tests/integration/test_limits_*.sh).

Usage: limits_peer.py CASE PORT [ARGS...]; prints one line "case=CASE key=value..." (or "ok ..." lines as
noted) and exits 0 unless something unexpected happened (then non-zero with a reason on stderr).

  bomb PORT N MIB        N deflate Avro connections, one after the other, each sends one append whose body is
                         MIB MiB of zeros (about MIB*1 KiB on the wire) and must get OK; all are kept open and
                         idle; prints "held=N", then waits for end of stdin and closes them
  partial PORT N MIB     N deflate Avro connections each send a pack announcing MIB+1 MiB of which MIB MiB of
                         zeros arrive (incomplete); prints "closed=K open=N-K" 3 s later (K closed by relayd)
  trickle PORT GAP MAX   a plain Avro connection sends a ping one byte every GAP s; prints "closed_after=S"
                         when relayd closes it, "replied" if it answered, or "open_after=MAX"
  idle PORT MAX          a plain Avro connection sends one ping, reads the reply, then sends nothing; prints
                         "closed_after=S" when relayd closes it or "open_after=MAX"
  many PORT N            opens N connections (sends nothing); prints "opened=N", holds them until end of
                         stdin
  pingflood PORT N COUNT N Avro connections each send 1+COUNT pipelined pings and never read; prints
                         "refused=R" (connections closed or reset by relayd), holds the rest until end of stdin
  http-trickle PORT GAP MAX  "GET /health HTTP/1.1" sent one byte every GAP s; prints "closed_after=S" (no
                         answer), "answered_after=S", or "open_after=MAX"
  http-get PORT PATH     one GET; prints "status=CODE"
  maxconn PORT N         opens N idle connections, then one more, which relayd must close at once (within
                         10 s) while the N stay open; closes them all, then opens N again, which must stay
                         open for 1 s; prints "kept=N refused_after=S reopened=N"
"""
import os
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from avro_abuse import HANDSHAKE, PING_WITH_HANDSHAKE, append, blob, pack  # noqa: E402

TIMEOUT = 120.0  # generous: sanitizer builds on a loaded machine inflate 60 MiB slowly


def connect(port, timeout=TIMEOUT, rcvbuf=0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:  # a small window keeps replies out of the kernel's buffers: relayd has to hold them
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def read_exact(recv, n):
    data = b""
    while len(data) < n:
        chunk = recv(n - len(data))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_pack(recv):
    serial, count = struct.unpack(">ii", read_exact(recv, 8))
    message = b""
    for _ in range(count):
        (length,) = struct.unpack(">i", read_exact(recv, 4))
        message += read_exact(recv, length)
    return serial, message


class Deflated:
    """One Avro connection with compression-type = deflate: one zlib stream per direction."""

    def __init__(self, port):
        self.sock = connect(port)
        self.z = zlib.compressobj(1)
        self.unz = zlib.decompressobj()
        self.plain = b""

    def send(self, data):
        self.sock.sendall(self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH))

    def recv(self, n):
        while len(self.plain) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.plain += self.unz.decompress(chunk)
        out, self.plain = self.plain[:n], self.plain[n:]
        return out


def wait_stdin():
    sys.stdin.read()


def case_bomb(port, n, mib):
    conns = []
    body = bytes(mib << 20)
    message = append(body)
    for _ in range(n):
        c = Deflated(port)
        c.send(pack(1, message, chunk=1 << 20))
        _, reply = read_pack(c.recv)
        if not reply.endswith(b"\x00\x00"):  # handshake BOTH ..., no error flag, status OK (enum 0)
            sys.exit("unexpected reply %r" % reply[-8:])
        conns.append(c)
    print("held=%d" % len(conns), flush=True)
    wait_stdin()


def case_partial(port, n, mib):
    conns = []
    for _ in range(n):
        c = Deflated(port)
        c.send(struct.pack(">iii", 1, 1, (mib + 1) << 20) + bytes(mib << 20))
        conns.append(c)
        time.sleep(0.5)
    time.sleep(3)
    closed = 0
    for c in conns:
        c.sock.settimeout(0.2)
        try:
            closed += c.sock.recv(1) == b""
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed += 1
    print("closed=%d open=%d" % (closed, n - closed), flush=True)


def watch_close(sock, t0, limit):
    """Returns what happened to sock by t0+limit: 'closed_after=S', 'replied', or None (still open)."""
    sock.settimeout(max(0.01, min(0.05, t0 + limit - time.monotonic())))
    try:
        data = sock.recv(65536)
    except socket.timeout:
        return None
    except ConnectionResetError:
        data = b""
    if not data:
        return "closed_after=%.1f" % (time.monotonic() - t0)
    return "answered_after=%.1f" % (time.monotonic() - t0)


def trickle(port, data, gap, limit):
    sock = connect(port)
    t0 = time.monotonic()
    i = 0
    next_send = t0
    while time.monotonic() - t0 < limit:
        if time.monotonic() >= next_send:
            try:
                sock.send(data[i % len(data) : i % len(data) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return "closed_after=%.1f" % (time.monotonic() - t0)
            i += 1
            next_send += gap
        outcome = watch_close(sock, t0, limit)
        if outcome:
            return outcome
    return "open_after=%d" % limit


def case_trickle(port, gap, limit):
    # A pack of 8 pings, so a trickle never completes a request before MAX
    data = b"".join(PING_WITH_HANDSHAKE for _ in range(8))
    print(trickle(port, data, gap, limit), flush=True)


def case_idle(port, limit):
    sock = connect(port)
    sock.sendall(PING_WITH_HANDSHAKE)
    read_pack(lambda n: sock.recv(n))
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        outcome = watch_close(sock, t0, limit)
        if outcome:
            print(outcome, flush=True)
            return
    print("open_after=%d" % limit, flush=True)


def case_many(port, n):
    socks = [connect(port) for _ in range(n)]
    print("opened=%d" % len(socks), flush=True)
    wait_stdin()


def case_pingflood(port, n, count):
    first = pack(1, HANDSHAKE + b"\x00" + blob(b""))  # establishes the connection
    burst = first + pack(2, b"\x00" + blob(b"")) * count  # then pings without handshake
    socks, refused = [], 0
    for _ in range(n):
        s = connect(port, timeout=0.3, rcvbuf=4096)
        try:
            s.sendall(burst)
            socks.append(s)
        except socket.timeout:
            socks.append(s)  # the server stopped reading: held, as a non-reading client would be
        except (ConnectionResetError, BrokenPipeError):
            refused += 1
            s.close()
    time.sleep(1)
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                refused += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            refused += 1
    print("refused=%d" % refused, flush=True)
    wait_stdin()


def still_open(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except ConnectionResetError:
        return False


def case_maxconn(port, n):
    socks = [connect(port) for _ in range(n)]
    time.sleep(0.5)  # relayd has counted them
    extra = connect(port)
    t0 = time.monotonic()
    outcome = None
    while outcome is None and time.monotonic() - t0 < 10:
        outcome = watch_close(extra, t0, 10)
    if not outcome or not outcome.startswith("closed_after="):
        sys.exit("connection %d over max-connections: %s" % (n + 1, outcome or "still open after 10 s"))
    kept = sum(still_open(s) for s in socks)
    for s in socks:
        s.close()
    time.sleep(1)  # relayd saw them close
    socks = [connect(port) for _ in range(n)]
    time.sleep(1)
    reopened = sum(still_open(s) for s in socks)
    print("kept=%d refused_after=%s reopened=%d" % (kept, outcome.split("=")[1], reopened), flush=True)


def case_http_trickle(port, gap, limit):
    data = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    print(trickle(port, data, gap, limit), flush=True)


def case_http_get(port, path):
    sock = connect(port)
    sock.sendall(b"GET %s HTTP/1.0\r\n\r\n" % path.encode())
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    print("status=%s" % data.split(b" ", 2)[1].decode(), flush=True)


def main():
    case, port, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if case == "bomb":
        case_bomb(port, int(args[0]), int(args[1]))
    elif case == "partial":
        case_partial(port, int(args[0]), int(args[1]))
    elif case == "trickle":
        case_trickle(port, float(args[0]), float(args[1]))
    elif case == "idle":
        case_idle(port, float(args[0]))
    elif case == "many":
        case_many(port, int(args[0]))
    elif case == "pingflood":
        case_pingflood(port, int(args[0]), int(args[1]))
    elif case == "http-trickle":
        case_http_trickle(port, float(args[0]), float(args[1]))
    elif case == "maxconn":
        case_maxconn(port, int(args[0]))
    elif case == "http-get":
        case_http_get(port, args[0])
    else:
        sys.exit("unknown case " + case)


if __name__ == "__main__":
    main()
