#!/usr/bin/env python3
"""check_header_numbers.py FILE FIRST COUNT - checks what the client tests' collectors wrote.

FILE holds file_roll output with headers ("{k=v, k=v} body" per line): one greeting "hello" with headers
host=web1 and kind=greeting, and the numbers FIRST..FIRST+COUNT-1 exactly once each, each with the header
n=<number>. Exits 1 with the reason otherwise. Used by test_client_node.sh and test_client_python.sh."""
import re
import sys


def main():
    path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seen, greetings = {}, 0
    for line in open(path):
        m = re.match(r"^\{(.*)\} (.*)$", line.rstrip("\n"))
        assert m, "no headers: %r" % line
        headers = dict(kv.split("=", 1) for kv in m.group(1).split(", ")) if m.group(1) else {}
        if m.group(2) == "hello":
            assert headers == {"host": "web1", "kind": "greeting"}, headers
            greetings += 1
            continue
        assert headers == {"n": m.group(2)}, (headers, m.group(2))
        seen[int(m.group(2))] = seen.get(int(m.group(2)), 0) + 1
    assert greetings == 1, greetings
    assert sorted(seen) == list(range(first, first + count)), "missing or extra numbers"
    assert all(v == 1 for v in seen.values()), "duplicates"
    print("checked", count + 1, "events")


if __name__ == "__main__":
    main()
