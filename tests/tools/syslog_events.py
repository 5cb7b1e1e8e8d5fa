#!/usr/bin/python3
"""syslog_events.py - helpers for test_syslog.sh: send raw or Python-logging syslog, read relayd's logger sink.

  syslog_events.py raw HOST PORT HEXBYTES      one TCP connection: send the bytes, close
  syslog_events.py pylog udp|tcp HOST PORT MSG...   logging.handlers.SysLogHandler (LOG_LOCAL1, warning)
  syslog_events.py flood HOST PORT N           N lines "<13>1 - h app - - - seq I" over one TCP connection
  syslog_events.py dump LOGFILE                the logger sink's events as JSON lines {"h": {...}, "b": latin-1}

The logger sink prints "Event: { headers:{k=v, ...} body: <rows> }"; a row is an 8-digit hex offset (not on
the first row), 16 slots of " XX" or three blanks, a blank, then the row's text column.
"""
import json
import logging
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


main()
