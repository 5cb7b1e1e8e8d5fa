#!/usr/bin/python3
"""thrift_py_client.py - sends numbered events to a Flume Thrift source with Apache Thrift's Python library.

Usage: thrift_py_client.py --gen DIR --port PORT [--host H] [--protocol compact|binary] [--first F]
                           [--count N] [--batch B] [--method append|batch|mixed] [--retries R]
                           [--tls-ca CA.pem [--tls-cert C.pem --tls-key K.pem]]  (TSSLSocket, server name localhost)

DIR holds the code `thrift --gen py` generated from idl/flume.thrift (package `flume`). The client uses a
TFramedTransport over a TSocket and TCompactProtocol (Flume's default) or TBinaryProtocol, as Flume's own
ThriftRpcClient does. Events F..F+N-1 have the decimal number as body and the headers seq=<number> and
client=python. They go out in groups of B: with --method mixed (the default) even groups as one appendBatch
and odd groups as one append per event, so one run exercises both calls. A FAILED reply (channel full) is
retried after 50 ms, at most R times per call; any other outcome (exception, ERROR, UNKNOWN) ends the run
with status 1. Prints one summary line: "sent=N append_calls=A batch_calls=B failed_replies=F".
Needs Debian's python3-thrift (run with /usr/bin/python3)."""
import argparse
import sys
import time


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gen", required=True, help="directory of the generated Python code")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--protocol", choices=("compact", "binary"), default="compact")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--method", choices=("append", "batch", "mixed"), default="mixed")
    parser.add_argument("--retries", type=int, default=100)
    parser.add_argument("--tls-ca", help="TLS (TSSLSocket): verify the server against this CA")
    parser.add_argument("--tls-cert", help="TLS: client certificate")
    parser.add_argument("--tls-key", help="TLS: client key")
    return parser.parse_args()


class Sender:
    def __init__(self, args):
        sys.path.insert(0, args.gen)
        from flume import ThriftSourceProtocol
        from flume.ttypes import Status, ThriftFlumeEvent
        from thrift.protocol import TBinaryProtocol, TCompactProtocol
        from thrift.transport import TSocket, TTransport

        self.Status = Status
        self.Event = ThriftFlumeEvent
        self.retries = args.retries
        if args.tls_ca:
            import ssl
            from thrift.transport import TSSLSocket

            context = ssl.create_default_context(cafile=args.tls_ca)
            if args.tls_cert:
                context.load_cert_chain(args.tls_cert, args.tls_key)
            sock = TSSLSocket.TSSLSocket(args.host, args.port, ssl_context=context, server_hostname="localhost")
        else:
            sock = TSocket.TSocket(args.host, args.port)
        sock.setTimeout(10000)
        self.transport = TTransport.TFramedTransport(sock)
        if args.protocol == "compact":
            protocol = TCompactProtocol.TCompactProtocol(self.transport)
        else:
            protocol = TBinaryProtocol.TBinaryProtocol(self.transport)
        self.client = ThriftSourceProtocol.Client(protocol)
        self.transport.open()
        self.append_calls = 0
        self.batch_calls = 0
        self.failed_replies = 0

    def event(self, number):
        return self.Event(headers={"seq": str(number), "client": "python"}, body=str(number).encode())

    def _call(self, what, send):
        for _ in range(self.retries + 1):
            status = send()
            if status == self.Status.OK:
                return
            if status != self.Status.FAILED:
                raise RuntimeError("%s answered status %r" % (what, status))
            self.failed_replies += 1
            time.sleep(0.05)
        raise RuntimeError("%s still FAILED after %d retries" % (what, self.retries))

    def append(self, number):
        self.append_calls += 1
        self._call("append(%d)" % number, lambda: self.client.append(self.event(number)))

    def append_batch(self, numbers):
        self.batch_calls += 1
        events = [self.event(n) for n in numbers]
        self._call("appendBatch(%d..%d)" % (numbers[0], numbers[-1]), lambda: self.client.appendBatch(events))

    def close(self):
        self.transport.close()


def main():
    args = _parse_args()
    sender = Sender(args)
    numbers = list(range(args.first, args.first + args.count))
    for group, start in enumerate(range(0, len(numbers), args.batch)):
        chunk = numbers[start : start + args.batch]
        as_batch = args.method == "batch" or (args.method == "mixed" and group % 2 == 0)
        if as_batch:
            sender.append_batch(chunk)
        else:
            for number in chunk:
                sender.append(number)
    sender.close()
    print("sent=%d append_calls=%d batch_calls=%d failed_replies=%d"
          % (len(numbers), sender.append_calls, sender.batch_calls, sender.failed_replies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
