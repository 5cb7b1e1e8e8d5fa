#!/usr/bin/python3
"""syslog_events.py - helpers for test_syslog.sh: send raw or Python-logging syslog, read relayd's logger sink.

  syslog_events.py raw HOST PORT HEXBYTES      one TCP connection: send the bytes, close
  syslog_events.py pylog udp|tcp HOST PORT MSG...   logging.handlers.SysLogHandler (LOG_LOCAL1, warning)
  syslog_events.py flood HOST PORT N           N lines "<13>1 - h app - - - seq I" over one TCP connection
  syslog_events.py dump LOGFILE                the logger sink's events as JSON lines {"h": {...}, "b": latin-1}
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


def dump(path):
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
        print(json.dumps({"h": headers, "b": body.decode("latin-1")}))


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
