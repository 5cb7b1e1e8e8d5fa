#!/usr/bin/python3
"""syslog_events.py - helpers for test_syslog.sh: send raw or Python-logging syslog, read relayd's logger sink.

  syslog_events.py raw HOST PORT HEXBYTES      one TCP connection: send the bytes, close
  syslog_events.py pylog udp|tcp HOST PORT MSG...   logging.handlers.SysLogHandler (LOG_LOCAL1, warning)
  syslog_events.py flood HOST PORT N           N lines "<13>1 - h app - - - seq I" over one TCP connection
  syslog_events.py dump LOGFILE                the logger sink's events as JSON lines {"h": {...}, "b": latin-1}
  syslog_events.py abuse HOST PORT LOGFILE CORPUS [NAME]
                                               hostile TCP peers (truncated, oversized, octet-count lies,
                                               invalid UTF-8, garbage, each file of the fuzz corpus CORPUS, a
                                               slow client), each followed by a good line "NAME-NNN" (NAME:
                                               good) that must
                                               reach LOGFILE (a logger sink's) within 20 s
  syslog_events.py tls HOST PORT CA CERT KEY FIRST COUNT octet|lf [GATE]
                                               Python's ssl module: RFC 5424 lines "<13>1 - h app - - - tls I"
                                               for I in FIRST..FIRST+COUNT-1 over one TLS connection (CA checks
                                               the server as "localhost"; CERT and KEY "-": no client
                                               certificate); with GATE, after the first half it creates
                                               GATE.half and waits (<= 60 s) for GATE to exist

The logger sink prints "Event: { headers:{k=v, ...} body: <rows> }"; a row is an 8-digit hex offset (not on
the first row), 16 slots of " XX" or three blanks, a blank, then the row's text column.
"""
import json
import logging
import os
import ssl
import time
import logging.handlers
import re
import socket
import sys


def events(path):
    """The logger sink's events in LOGFILE as (headers, body bytes)."""
    pat = re.compile(r"Event: \{ headers:\{(.*?)\} body:(.*) \}$")
    for line in open(path, encoding="latin-1"):
        m = pat.search(line.rstrip("\n"))
        if not m:
            continue
        headers = {}
        if m.group(1):
            for kv in m.group(1).split(", "):
                k, _, v = kv.partition("=")
                headers[k] = v
        rest, body, first = m.group(2), bytearray(), True
        while rest:
            if not first:
                rest = rest[9:]
            first = False
            slots = rest[:48]
            n = 0
            for k in range(16):
                tok = slots[3 * k:3 * k + 3]
                if tok.strip():
                    body.append(int(tok, 16))
                    n += 1
            rest = rest[48 + 1 + n:]
        yield headers, bytes(body)


def dump(path):
    for headers, body in events(path):
        print(json.dumps({"h": headers, "b": body.decode("latin-1")}))


def abuse(host, port, logfile, corpus, name="good"):
    """Hostile peers (issue 16), each on its own connection, then a good client whose line must be in the
    logger sink's LOGFILE within 20 s; a slow client trickles a line while good clients are served. With NAME
    udp, hostile datagrams instead."""
    count = [0]

    def connect():
        return socket.create_connection((host, int(port)), timeout=10)

    def good(conn=None):
        count[0] += 1
        tag = b"%s-%03d" % (name.encode(), count[0])
        line = b"<13>1 - h app - - - " + tag + b"\n"
        if name == "udp":  # sent again every 2 s: the kernel may drop a datagram behind a burst
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.sendto(line, (host, int(port)))
        else:
            s = conn or connect()
            s.sendall(line)
            if conn is None:
                s.close()
        deadline = time.monotonic() + 20
        resend = time.monotonic() + 2
        while not any(b.endswith(tag) for _, b in events(logfile)):
            if time.monotonic() > deadline:
                raise SystemExit("%s not served" % tag.decode())
            if name == "udp" and time.monotonic() > resend:
                udp.sendto(line, (host, int(port)))
                resend = time.monotonic() + 2
            time.sleep(0.05)

    def bad(what, *pieces):
        s = connect()
        for p in pieces:
            s.sendall(p)
        s.close()
        good()
        print("ok   %s, then the next client served" % what)

    if name == "udp":
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for what, datagrams in [("empty datagram", [b""]), ("only newlines", [b"\n\n\n"]),
                                ("garbage", [bytes(range(256))]), ("64 KiB", [b"<13>" + b"x" * 65000]),
                                ("invalid UTF-8", [b"<13>1 - h app - - - abuse-utf8 \xff\xfe\xc3\x28"]),
                                ("a burst of 200 garbage datagrams", [b"\x01\x02 abuse-burst"] * 200)]:
            for d in datagrams:
                udp.sendto(d, (host, int(port)))
            good()
            print("ok   %s, then the next datagram delivered" % what)
        print("%s clients: %d" % (name, count[0]))
        return
    bad("truncated message", b"<13>1 - h app - - - abuse-truncated")
    bad("oversized line", b"<13>" + b"z" * 1000 + b"\n")
    bad("octet count above the bytes sent", b"50 <13>1 - h abuse-count-long")
    bad("octet count below the message", b"5 <13>1 - h app - - - abuse-count-short\n")
    bad("octet count of 999999999", b"999999999 <13>1 - h abuse-huge " + b"q" * 3000)
    bad("invalid UTF-8", b"<13>1 - h app - - - abuse-utf8 \xff\xfe\xc3\x28\n")
    bad("binary garbage", bytes(range(1, 256)) + b"\n")
    for f in sorted(os.listdir(corpus)):
        data = open(os.path.join(corpus, f), "rb").read()
        n = data[0] & 7 if data else 0  # fuzz_common.h's split header, then fuzz_syslog's eventSize byte
        sizes, stream, pieces = data[1:1 + n], data[2 + n:], []
        while stream:
            k = sizes[len(pieces) % n] if n and sizes[len(pieces) % n] else len(stream)
            pieces.append(stream[:k])
            stream = stream[k:]
        bad("fuzz corpus %s in %d pieces" % (f, len(pieces)), *pieces)
    # a slow client: one byte every 50 ms; others are served meanwhile, and its line arrives whole
    slow, served = connect(), 0
    for b in b"<13>1 - h app - - - abuse-slow\n":
        slow.sendall(bytes([b]))
        if served < 3:
            good()
            served += 1
        time.sleep(0.05)
    good(slow)
    slow.close()
    print("ok   slow client: %d others served meanwhile, its own line delivered" % served)
    print("%s clients: %d" % (name, count[0]))


def main():
    cmd = sys.argv[1]
    if cmd == "raw":
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
        s.sendall(bytes.fromhex(sys.argv[4]))
        s.close()
    elif cmd == "pylog":
        kind, host, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
        socktype = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
        h = logging.handlers.SysLogHandler(address=(host, port), facility="local1", socktype=socktype)
        log = logging.getLogger("t")
        log.addHandler(h)
        for msg in sys.argv[5:]:
            log.warning(msg)
        h.close()
    elif cmd == "flood":
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
        n = int(sys.argv[4])
        s.sendall(b"".join(b"<13>1 - h app - - - seq %d\n" % i for i in range(n)))
        s.close()
    elif cmd == "dump":
        dump(sys.argv[2])
    elif cmd == "abuse":
        abuse(*sys.argv[2:])
    elif cmd == "tls":
        tls(*sys.argv[2:])


def tls(host, port, ca, cert, key, first, count, framing, gate=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert != "-":
        ctx.load_cert_chain(cert, key)
    s = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=30), server_hostname="localhost")
    first, count = int(first), int(count)

    def frames(lo, hi):
        for i in range(lo, hi):
            msg = b"<13>1 - h app - - - tls %d" % i
            yield b"%d %s" % (len(msg), msg) if framing == "octet" else msg + b"\n"

    half = first + (count // 2 if gate else count)
    s.sendall(b"".join(frames(first, half)))
    if gate:
        open(gate + ".half", "w").close()
        deadline = time.time() + 60
        while not os.path.exists(gate) and time.time() < deadline:
            time.sleep(0.05)
        s.sendall(b"".join(frames(half, first + count)))
    s.close()


main()
