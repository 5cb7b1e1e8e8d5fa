#!/usr/bin/env python3
"""http_clients.py - clients for the HTTP source's integration test (test_http_source.sh).

  http_clients.py many PORT FIRST CLIENTS REQUESTS EVENTS
      CLIENTS threads, each with one keep-alive http.client connection, post REQUESTS requests of EVENTS
      numbered events (bodies FIRST.., Flume's JSON); a 503 is retried after its Retry-After. Checks that
      every answer is 200 in the end and that each client used a single connection.
  http_clients.py retry PORT FIRST REQUESTS EVENTS DIR
      posts numbered batches, retrying each 503 after Retry-After; creates DIR after the first 503 (the
      test removed the sink's directory so the channel fills). Prints how many 503s were seen.
  http_clients.py abuse PORT [CORPUS]
      bad requests on raw sockets, each answered with its status (and the connection closed where the
      framing is broken); after each, a new client is still served. With CORPUS (tests/fuzz/corpus/
      fuzz_http), each of its inputs is sent as a client's bytes too. Prints one line per check.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time


def batch(first, n, src):
    return json.dumps([{"headers": {"src": src, "n": str(i)}, "body": str(i)} for i in range(first, first + n)])


def post_retrying(conn, body, stats=None, on_busy=None):
    while True:
        conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read()
        if resp.status == 200:
            return
        if resp.status != 503:
            raise SystemExit("unexpected status %d: %r" % (resp.status, text))
        if stats is not None:
            stats.append(1)
        if on_busy:
            on_busy()
        time.sleep(float(resp.getheader("Retry-After", "1")))


def many(port, first, clients, requests, events):
    errors = []

    def client(k):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            sock = None
            base = first + k * requests * events
            for r in range(requests):
                post_retrying(conn, batch(base + r * events, events, "many"))
                if sock is None:
                    sock = conn.sock
                elif conn.sock is not sock:
                    errors.append("client %d: connection not kept alive" % k)
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("client %d: %r" % (k, e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("; ".join(errors[:5]))
    print("many: %d clients x %d requests x %d events, all 200 on kept-alive connections" % (clients, requests, events))


def retry(port, first, requests, events, directory):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    seen = []
    for r in range(requests):
        post_retrying(conn, batch(first + r * events, events, "retry"), seen,
                      lambda: os.makedirs(directory, exist_ok=True))
    print("retry: %d requests stored, 503 answers=%d" % (requests, len(seen)))


def read_response(sock):
    """Reads one response; returns (status line + body text, whether the server closed the connection)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data.decode("latin-1").split("\r\n", 1)[0], True
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    head = head.decode("latin-1")
    length = 0
    for line in head.split("\r\n")[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    closed = False
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            closed = True
            break
        body += chunk
    return head.split("\r\n", 1)[0] + " " + body.decode("utf-8", "replace").strip(), closed


def ask(port, raw, close_after_send=False, closed=None, timeout=10):
    """Sends raw bytes; returns (answer, closed). closed=False: checks the connection still serves a request;
    closed=True: waits for the server to close it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(raw)
    if close_after_send:
        sock.close()
        return "", True
    line, was_closed = read_response(sock)
    if closed is False and not was_closed:
        sock.sendall(post(b"[]"))
        again, was_closed = read_response(sock)
        was_closed = was_closed or not again.startswith("HTTP/1.1 200")
    elif closed is True and not was_closed:
        try:
            was_closed = sock.recv(1) == b""
        except (socket.timeout, OSError):
            was_closed = False
    sock.close()
    return line, was_closed


def post(body, extra=b"", ctype=b"application/json"):
    return (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


def served(port):
    line, _ = ask(port, post(b"[]"))
    return line.startswith("HTTP/1.1 200")


def abuse(port, corpus=None):
    failures = []

    def check(name, raw, status, closed=None, **kw):
        try:
            line, was_closed = ask(port, raw, closed=closed, **kw)
        except socket.timeout:
            line, was_closed = "(no answer)", False
        ok = line.startswith("HTTP/1.1 %d" % status) if status else True
        if closed is not None and was_closed != closed:
            ok = False
        if not served(port):
            ok = False
            line += " (next client not served)"
        print("%s %s: %s%s" % ("ok  " if ok else "FAIL", name, line, " [closed]" if was_closed else ""))
        if not ok:
            failures.append(name)

    check("GET", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 405, closed=False)
    check("PUT", post(b"[]").replace(b"POST", b"PUT", 1), 405)
    # invalid JSON at every nesting depth of the format, and wrong shapes
    bad = [b"", b"[", b"{}", b"[1]", b"[{", b'[{"headers"', b'[{"headers":{', b'[{"headers":{"a"',
           b'[{"headers":{"a":', b'[{"headers":{"a":"b"', b'[{"headers":{"a":"b"}', b'[{"headers":{"a":"b"}}',
           b'[{"headers":{"a":[1]}}]', b'[{"headers":"x"}]', b'[{"body":{}}]', b'[{"body":"x"}] x',
           b'[{"body":"x","o":' + b"[" * 100 + b"]" * 100 + b"}]", b'[{"body":"\\uZZZZ"}]', b"[{'body':1}]"]
    for i, body in enumerate(bad):
        check("bad-json-%d %r" % (i, body[:24]), post(body), 400, closed=False)
    check("invalid UTF-8", post(b'[{"body":"\xc3\x28"}]'), 400)
    check("charset", post(b"[]", ctype=b"application/json; charset=ISO-8859-1"), 415)
    check("events over max-batch-events", post(batch(0, 5001, "x").encode()), 413)
    # refused from the head alone: the body is never sent
    check("body over max-body-bytes", b"POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413, closed=True)
    check("head over max-header-bytes", post(b"[]", extra=b"X-Big: " + b"a" * 20000 + b"\r\n"), 431, closed=True)
    check("bad request line", b"POST /\r\n\r\n", 400, closed=True)
    check("bad chunk size", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, closed=True)
    check("unknown transfer coding", b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, closed=True)
    chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    check("chunk longer than its size", chunked + b'3\r\n[{"body":"x"}]\r\n0\r\n\r\n', 400, closed=True)
    check("chunk size over max-body-bytes", chunked + b"fffffff\r\n", 413, closed=True)
    check("chunk size over 64 bits", chunked + b"f" * 40 + b"\r\n", 400, closed=True)
    check("chunk size line without end", chunked + b"1" * 2000, 400, closed=True)
    check("trailers over max-header-bytes", chunked + b"0\r\nX-T: " + b"a" * 20000, 431, closed=True)
    check("chunked body truncated", chunked + b"5\r\n[{\"bo", None, close_after_send=True)
    if corpus:
        for name in sorted(os.listdir(corpus)):
            data = open(os.path.join(corpus, name), "rb").read()
            n = data[0] & 7 if data else 0  # fuzz_common.h's split header: the stream follows it
            check("fuzz corpus " + name, data[1 + n:], None, timeout=5)
    check("truncated request", post(b'[{"body":"x"}]')[:-5], None, close_after_send=True)
    check("truncated head", b"POST / HTTP/1.1\r\nContent-Le", None, close_after_send=True)

    # keep-alive survives a refused request: 400 then 200 on the same connection
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(post(b"[") + post(b"[]"))
    data = b""
    while data.count(b"HTTP/1.1") < 2:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    ok = b"HTTP/1.1 400" in data and b"HTTP/1.1 200" in data
    print("%s keep-alive after 400: %r" % ("ok  " if ok else "FAIL", data.split(b"\r\n")[0]))
    if not ok:
        failures.append("keep-alive")

    # a slow client: a head sent byte by byte and never finished; others are served meanwhile, and the
    # source closes it at incomplete-request-timeout
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    start = time.monotonic()
    others = 0
    closed = False
    for b in b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[":
        try:
            slow.sendall(bytes([b]))
        except OSError:
            closed = True
            break
        others += served(port)
        time.sleep(0.05)
        if time.monotonic() - start > 8:
            break
    if not closed:
        slow.settimeout(10)
        try:
            closed = slow.recv(1) == b""
        except (socket.timeout, OSError):
            closed = False
    slow.close()
    ok = closed and others >= 3
    print("%s slow client closed=%s, others served meanwhile=%d" % ("ok  " if ok else "FAIL", closed, others))
    if not ok:
        failures.append("slow client")
    if failures:
        raise SystemExit("abuse failures: " + ", ".join(failures))


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    args = [int(a) if a.isdigit() else a for a in sys.argv[3:]]
    if cmd == "many":
        many(port, *args)
    elif cmd == "retry":
        retry(port, *args)
    elif cmd == "abuse":
        abuse(port, *args)
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
