#!/usr/bin/python3
"""thrift_py_server.py - a Flume ThriftSourceProtocol server built on Apache Thrift's Python library.

Usage: thrift_py_server.py --gen DIR --port PORT --out FILE [--protocol compact|binary] [--fail-first K]
                           [--crash-at-call C] [--delay-ms D] [--check-headers]

DIR holds the code `thrift --gen py` generated from idl/flume.thrift (package `flume`). The server is
Thrift's TNonblockingServer (framed transport, as Flume's ThriftSource) on 127.0.0.1:PORT with the compact
(default) or binary protocol. For every accepted append/appendBatch it appends each event body and a newline
to FILE (opened in append mode, so a restarted server adds to it) before answering OK. Test modes:
  --fail-first K    the first K calls answer FAILED and record nothing (the caller must roll back and retry);
  --crash-at-call C call number C records its events and then the process dies (exit status 3) without
                    replying: a server lost mid-batch, after it kept the data (the retry makes duplicates);
  --delay-ms D      each call waits D ms before answering (a slow downstream, so a test can kill it mid-way);
  --check-headers   every event must carry the header seq equal to its body (what thrift_py_client.py
                    sends); mismatches are counted.
Prints "ready port=PORT" once it listens; on SIGTERM prints "calls=C failed=F events=E header_mismatch=H"
and exits 0. Needs Debian's python3-thrift (run with /usr/bin/python3)."""
import argparse
import os
import signal
import sys
import threading
import time


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gen", required=True, help="directory of the generated Python code")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--protocol", choices=("compact", "binary"), default="compact")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--crash-at-call", type=int, default=0)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--check-headers", action="store_true")
    return parser.parse_args()


class Handler:
    """Implements ThriftSourceProtocol's append and appendBatch; runs in the server's worker threads."""

    def __init__(self, args, status):
        self.args = args
        self.Status = status
        self.lock = threading.Lock()
        self.fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.calls = 0
        self.failed = 0
        self.events = 0
        self.header_mismatch = 0

    def append(self, event):
        return self._take([event])

    def appendBatch(self, events):
        return self._take(events)

    def _take(self, events):
        with self.lock:
            self.calls += 1
            if self.calls <= self.args.fail_first:
                self.failed += 1
                print("answered FAILED call=%d events=%d" % (self.calls, len(events)), flush=True)
                return self.Status.FAILED
            self._record(events)
            if self.calls == self.args.crash_at_call:
                print("crashing call=%d events=%d" % (self.calls, len(events)), flush=True)
                os._exit(3)
            if self.args.delay_ms:
                time.sleep(self.args.delay_ms / 1000.0)
            return self.Status.OK

    def _record(self, events):
        data = b"".join(bytes(e.body) + b"\n" for e in events)
        os.write(self.fd, data)
        self.events += len(events)
        if self.args.check_headers:
            for e in events:
                if (e.headers or {}).get("seq") != bytes(e.body).decode("ascii", "replace"):
                    self.header_mismatch += 1

    def summary(self):
        with self.lock:
            return "calls=%d failed=%d events=%d header_mismatch=%d" % (
                self.calls, self.failed, self.events, self.header_mismatch)


def main():
    args = _parse_args()
    sys.path.insert(0, args.gen)
    from flume import ThriftSourceProtocol
    from flume.ttypes import Status
    from thrift.protocol import TBinaryProtocol, TCompactProtocol
    from thrift.server import TNonblockingServer
    from thrift.transport import TSocket

    handler = Handler(args, Status)
    if args.protocol == "compact":
        factory = TCompactProtocol.TCompactProtocolFactory()
    else:
        factory = TBinaryProtocol.TBinaryProtocolFactory()
    listen = TSocket.TServerSocket(host="127.0.0.1", port=args.port)
    server = TNonblockingServer.TNonblockingServer(ThriftSourceProtocol.Processor(handler), listen, factory,
                                                   factory, threads=2)

    def on_term(signum, frame):
        print(handler.summary(), flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    server.prepare()
    print("ready port=%d" % args.port, flush=True)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
