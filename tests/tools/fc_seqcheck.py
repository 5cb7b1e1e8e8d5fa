#!/usr/bin/env python3
"""fc_seqcheck.py - at-least-once check of numbered events: every number arrived, duplicates counted.

Usage: fc_seqcheck.py --count N [--max-duplicates D] [--allow-partial] [--poll] PATH...

The file channel's crash tests kill relayd with SIGKILL, so what arrives is "each number at least once":
a batch delivered just before a kill is delivered again after the restart. PATHs are files or directories
(read as seqcheck.py reads them, whose Tally this reuses). Checks:
  every number 0..N-1 is present, no number >= N, no line that is not a number;
  --max-duplicates D: at most D extra copies in total (duplicates = lines - distinct numbers);
  --allow-partial: a file may end in a partial line (a kill in the middle of a write); such a tail is not
    an event (it is redelivered after the restart) and is only counted.
--poll: only report; exit 0 when nothing is missing, 2 while numbers are still missing (for wait loops).
Prints "fc_seqcheck: count=N seen=S distinct=D missing=M duplicates=U duplicated_numbers=K max_copies=C
partial_files=P bad=B" and examples of each problem; exit 0 when every check passed, 1 otherwise.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seqcheck import Tally, _files  # noqa: E402  (same directory)

EXAMPLES = 5


def _summary(args, tally):
    counts = tally.counts
    missing = [n for n in range(args.count) if n not in counts]
    beyond = sorted(n for n in counts if n >= args.count)
    duplicated = [n for n, c in counts.items() if c > 1]
    extra = tally.seen - len(counts)
    print("fc_seqcheck: count=%d seen=%d distinct=%d missing=%d duplicates=%d duplicated_numbers=%d "
          "max_copies=%d partial_files=%d bad=%d"
          % (args.count, tally.seen, len(counts), len(missing), extra, len(duplicated),
             max(counts.values()) if counts else 0, len(tally.partial), len(tally.bad)))
    return missing, beyond, extra


def main():
    parser = argparse.ArgumentParser(description="at-least-once check of numbered events")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--max-duplicates", type=int, default=None)
    parser.add_argument("--allow-partial", action="store_true")
    parser.add_argument("--poll", action="store_true")
    args = parser.parse_args()

    tally = Tally()
    for path in _files(args.paths):
        tally.add_file(path)
    missing, beyond, extra = _summary(args, tally)
    if args.poll:
        return 2 if missing else 0

    problems = []
    if missing:
        problems.append("missing (first %d): %s" % (EXAMPLES, missing[:EXAMPLES]))
    if beyond:
        problems.append("numbers >= %d (first %d): %s" % (args.count, EXAMPLES, beyond[:EXAMPLES]))
    if tally.bad:
        problems.append("bad lines: %s" % "; ".join(tally.bad[:EXAMPLES]))
    if tally.partial and not args.allow_partial:
        problems.append("partial last line in: %s" % ", ".join(tally.partial[:EXAMPLES]))
    if args.max_duplicates is not None and extra > args.max_duplicates:
        problems.append("%d duplicates, more than the bound %d" % (extra, args.max_duplicates))
    for problem in problems:
        print("fc_seqcheck: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
