#!/usr/bin/env python3
"""lineclient.py - a client for Flume's netcat source protocol, used by relayd's integration tests.

Connects to 127.0.0.1:PORT, sends each line (a newline is appended unless --raw), and after each line reads
one reply line ("OK" or "FAILED: ...") unless --no-ack. Prints every reply on its own line, then "<closed>"
if the server closed the connection (reading stops there); --wait-close S waits S seconds for the close. With --pipeline all lines are sent before any
reply is read. Lines come from the arguments, or from --count N as "PREFIX-0" ... "PREFIX-(N-1)".
Backslash escapes in arguments (\\r, \\n, \\t, \\\\) are decoded with --escapes.
Exit status: 0 after the exchange, 2 on a connection error or timeout.
"""
import argparse
import socket
import sys


def _read_reply(sock, buf):
    """Returns (reply line or None on close, remaining buffer)."""
    while b"\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return line, rest


def _wait_close(sock, buf, seconds):
    """Reads until EOF or seconds pass. Returns (closed, still_open, extra reply lines)."""
    sock.settimeout(seconds)
    closed = True
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        closed = False
    except OSError:
        pass
    extra = [line for line in buf.split(b"\n") if line]
    return closed, not closed, extra


def _lines(args):
    if args.count is not None:
        return ["%s-%d" % (args.prefix, i) for i in range(args.count)]
    out = list(args.lines)
    if args.escapes:
        out = [s.encode("latin-1").decode("unicode_escape") for s in out]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("lines", nargs="*")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--count", type=int)
    parser.add_argument("--prefix", default="line")
    parser.add_argument("--raw", action="store_true", help="send the arguments as they are, no newline added")
    parser.add_argument("--no-ack", action="store_true", help="do not read replies")
    parser.add_argument("--pipeline", action="store_true", help="send everything before reading replies")
    parser.add_argument("--escapes", action="store_true", help="decode backslash escapes in arguments")
    parser.add_argument("--wait-close", type=float, metavar="SECONDS",
                        help="afterwards wait this long for the server to close: prints <closed> or <open>")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_intermixed_args()

    lines = _lines(args)
    payloads = [(s if args.raw else s + "\n").encode("utf-8") for s in lines]
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as err:
        print("connect failed: %s" % err, file=sys.stderr)
        return 2
    replies, buf, closed = [], b"", False
    try:
        if args.pipeline or args.no_ack:
            sock.sendall(b"".join(payloads))
            expected = 0 if args.no_ack else len(payloads)
        else:
            expected = 0
            for payload in payloads:
                sock.sendall(payload)
                line, buf = _read_reply(sock, buf)
                if line is None:
                    closed = True
                    break
                replies.append(line)
        while not closed and len(replies) < expected:
            line, buf = _read_reply(sock, buf)
            if line is None:
                closed = True
                break
            replies.append(line)
    except socket.timeout:
        print("timed out after %d replies" % len(replies), file=sys.stderr)
        for r in replies:
            print(r.decode("utf-8", "replace"))
        return 2
    except OSError as err:
        # A reset after the server closed on us counts as closed.
        print("connection error: %s" % err, file=sys.stderr)
        closed = True
    still_open = False
    if not closed and args.wait_close is not None:
        closed, still_open, extra = _wait_close(sock, buf, args.wait_close)
        replies.extend(extra)
    out = sys.stdout
    for r in replies:
        out.write(r.decode("utf-8", "replace") + "\n")
    if closed:
        out.write("<closed>\n")
    if still_open:
        out.write("<open>\n")
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
