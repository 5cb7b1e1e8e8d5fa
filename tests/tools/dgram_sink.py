#!/usr/bin/env python3
"""dgram_sink.py - receives AF_UNIX datagrams for the service tests (systemd notify, syslog, journal).

Usage: dgram_sink.py ADDRESS OUT.jsonl
ADDRESS is a path, or @name for an abstract socket. Each datagram is appended to OUT.jsonl as one JSON
object {"t": monotonic seconds, "data": the bytes decoded as Latin-1} and flushed at once, so a shell test
can grep it while this runs. The file OUT.jsonl.ready appears once the socket is bound. Runs until killed.
"""
import json
import socket
import sys
import time


def main():
    address, out = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    open(out + ".ready", "w").close()
    with open(out, "a", encoding="ascii") as f:
        while True:
            data = sock.recv(1 << 20)
            f.write(json.dumps({"t": time.monotonic(), "data": data.decode("latin-1")}) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
