#!/usr/bin/python3
"""fake_dns.py - a DNS server on a loopback UDP port for tests of reverse lookups (PTR only).

  fake_dns.py PORTFILE ADDR=ANSWER...

Listens on 127.0.0.1 (port chosen by the system, written to PORTFILE once listening). For a PTR question on
the reverse name of ADDR (an IPv4 address): ANSWER "drop" never answers, "nxdomain" answers NXDOMAIN, anything
else is the host name answered. Other questions get NXDOMAIN. Every question is printed on stdout.
"""
import socket
import struct
import sys


def reverse_name(addr):
    return ".".join(reversed(addr.split("."))) + ".in-addr.arpa"


def question(packet):
    """(name, end offset of the question) of the first question."""
    labels, pos = [], 12
    while packet[pos]:
        n = packet[pos]
        labels.append(packet[pos + 1:pos + 1 + n].decode("ascii"))
        pos += 1 + n
    return ".".join(labels), pos + 5  # the zero byte, QTYPE, QCLASS


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def reply(packet, end, rcode, answer=None):
    tid, flags = struct.unpack("!HH", packet[:4])
    flags = 0x8000 | (flags & 0x0100) | 0x0400 | rcode  # response, RD copied, authoritative
    head = struct.pack("!HHHHHH", tid, flags, 1, 1 if answer else 0, 0, 0)
    out = head + packet[12:end]
    if answer:
        rdata = encode_name(answer)
        out += struct.pack("!HHHIH", 0xC00C, 12, 1, 60, len(rdata)) + rdata  # PTR IN, TTL 60
    return out


def main():
    answers = {}
    for arg in sys.argv[2:]:
        addr, _, answer = arg.partition("=")
        answers[reverse_name(addr)] = answer
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        packet, peer = sock.recvfrom(4096)
        try:
            name, end = question(packet)
        except (IndexError, UnicodeDecodeError):
            continue
        answer = answers.get(name.lower(), "nxdomain")
        print("question %s -> %s" % (name.lower(), answer), flush=True)
        if answer == "drop":
            continue
        if answer == "nxdomain":
            sock.sendto(reply(packet, end, 3), peer)
        else:
            sock.sendto(reply(packet, end, 0, answer), peer)


if __name__ == "__main__":
    main()
