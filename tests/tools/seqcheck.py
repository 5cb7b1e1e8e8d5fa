#!/usr/bin/env python3
"""seqcheck.py - checks that files hold the numbers a seq source generated, each exactly once.

Usage: seqcheck.py [--count N | --prefix] [--ordered] [--min-count K] PATH...

Every PATH is a file or a directory (its regular files, in natural name order, which is file_roll's roll
order). Each line must be a decimal number (a file_roll text line: the event body). Checks:
  --count N   the numbers are exactly 0..N-1, each once;
  --prefix    the numbers are exactly 0..K-1 for some K (what a stopped, unbounded seq source leaves);
  --ordered   the numbers appear in increasing order across the files;
  --min-count K  at least K numbers were found.
Also always: no line is partial (every file ends with a newline) and no line is anything but a number.
Prints one summary line, "seqcheck: seen=S distinct=D max=M missing=X duplicates=U bad=B partial=P
out_of_order=O", plus a few examples of each problem; exit status 0 when every check passed, 1 otherwise.
"""
import argparse
import os
import re
import sys

EXAMPLES = 5


def _natural_key(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _files(paths):
    for path in paths:
        if os.path.isdir(path):
            names = sorted((n for n in os.listdir(path) if os.path.isfile(os.path.join(path, n))), key=_natural_key)
            for name in names:
                yield os.path.join(path, name)
        else:
            yield path


class Tally:
    def __init__(self):
        self.seen = 0
        self.counts = {}
        self.bad = []
        self.partial = []
        self.out_of_order = 0
        self.first_disorder = None
        self.last = -1

    def add_file(self, path):
        with open(path, "rb") as handle:
            data = handle.read()
        if data and not data.endswith(b"\n"):
            self.partial.append(path)
            data = data[: data.rfind(b"\n") + 1]
        for lineno, line in enumerate(data.split(b"\n")[:-1], 1):
            self.add_line(path, lineno, line)

    def add_line(self, path, lineno, line):
        if not line.isdigit():
            self.bad.append("%s:%d: %r" % (path, lineno, line[:60]))
            return
        value = int(line)
        self.seen += 1
        self.counts[value] = self.counts.get(value, 0) + 1
        if value <= self.last:
            self.out_of_order += 1
            if self.first_disorder is None:
                self.first_disorder = "%s:%d: %d after %d" % (path, lineno, value, self.last)
        self.last = value


def _missing(counts, upto):
    missing = [n for n in range(upto) if n not in counts]
    return missing


def main():
    parser = argparse.ArgumentParser(description="check seq-source numbers in files")
    parser.add_argument("paths", nargs="+")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--count", type=int)
    group.add_argument("--prefix", action="store_true")
    parser.add_argument("--ordered", action="store_true")
    parser.add_argument("--min-count", type=int, default=0)
    args = parser.parse_args()

    tally = Tally()
    for path in _files(args.paths):
        tally.add_file(path)

    counts = tally.counts
    top = max(counts) if counts else -1
    upto = args.count if args.count is not None else top + 1
    missing = _missing(counts, upto)
    duplicates = [n for n, c in counts.items() if c > 1]
    beyond = [n for n in counts if args.count is not None and n >= args.count]

    problems = []
    if missing:
        problems.append("missing (first %d): %s" % (EXAMPLES, sorted(missing)[:EXAMPLES]))
    if duplicates:
        problems.append("duplicates (first %d): %s" % (EXAMPLES, sorted(duplicates)[:EXAMPLES]))
    if beyond:
        problems.append("numbers >= count %d (first %d): %s" % (args.count, EXAMPLES, sorted(beyond)[:EXAMPLES]))
    if tally.bad:
        problems.append("bad lines: %s" % "; ".join(tally.bad[:EXAMPLES]))
    if tally.partial:
        problems.append("partial last line in: %s" % ", ".join(tally.partial[:EXAMPLES]))
    if args.ordered and tally.out_of_order:
        problems.append("out of order: %s" % tally.first_disorder)
    if tally.seen < args.min_count:
        problems.append("only %d numbers, expected at least %d" % (tally.seen, args.min_count))

    print("seqcheck: seen=%d distinct=%d max=%d missing=%d duplicates=%d bad=%d partial=%d out_of_order=%d"
          % (tally.seen, len(counts), top, len(missing), sum(counts[n] - 1 for n in duplicates), len(tally.bad),
             len(tally.partial), tally.out_of_order))
    for problem in problems:
        print("seqcheck: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
