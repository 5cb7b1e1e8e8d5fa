#!/usr/bin/env python3
"""capture_proxy.py - records what real clients send, to make seed corpora for the fuzz targets.

Usage: capture_proxy.py LISTEN_PORT SERVER_PORT OUT_PREFIX
Accepts connections on 127.0.0.1:LISTEN_PORT, forwards each to 127.0.0.1:SERVER_PORT (a running relayd
source) and relays the answers, so the client completes its whole exchange. The bytes the client sent on
connection i are written to OUT_PREFIX-i when it closes. Runs until killed.
Used by tests/fuzz/make_corpus.sh."""
import select
import socket
import sys
import threading


def _pump(client, server, path):
    sent = bytearray()
    socks = [client, server]
    try:
        while True:
            readable, _, _ = select.select(socks, [], [], 30)
            if not readable:
                break
            for s in readable:
                data = s.recv(65536)
                if not data:
                    raise EOFError
                if s is client:
                    sent += data
                    server.sendall(data)
                else:
                    client.sendall(data)
    except (EOFError, OSError):
        pass
    finally:
        client.close()
        server.close()
        with open(path, "wb") as f:
            f.write(sent)


def main():
    listen_port, server_port, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(16)
    n = 0
    while True:
        client, _ = lsock.accept()
        server = socket.create_connection(("127.0.0.1", server_port))
        threading.Thread(target=_pump, args=(client, server, "%s-%d" % (prefix, n)), daemon=True).start()
        n += 1


if __name__ == "__main__":
    main()
