#!/usr/bin/env python3
"""taildir_tool.py - writes numbered log lines the way applications and logrotate do, and checks what a
TAILDIR source delivered.

Usage:
  taildir_tool.py write --file PATH --count N [--first K] [--rate LINES_PER_S] [--rotate-every M]
                        [--mode rename|copytruncate] [--pad BYTES] [--catch-up DIR]
      Appends the lines "K", "K+1", ... (each optionally followed by a space and padding) to PATH, flushing
      every line. Every M lines the file is rotated: `rename` moves PATH to PATH.<n> and starts a new PATH
      (the writer reopens it, as an application after SIGHUP); `copytruncate` copies PATH to PATH.<n> and
      truncates PATH in place (the writer keeps its descriptor, in append mode). With --catch-up DIR,
      copytruncate waits until DIR holds every line written so far (beyond the lines it held at start) (lines written between logrotate's copy
      and its truncate are lost by copytruncate itself, in any tailer) and pauses 0.3 s after truncating.
  taildir_tool.py many --dir DIR --files F --lines L [--first K] [--prefix NAME]
      Writes F files NAME<i>.log with L numbered lines each (numbers K.. across all files).
  taildir_tool.py churn --dir DIR [--interval-ms MS]
      Renames a random file of DIR to a new name (NAME.r<k>, the base name kept) every MS ms (default 1)
      until killed: a directory whose listing keeps changing while a tailer reads it.
  taildir_tool.py check --count N [--first K] [--max-dup D] [--max-rerun R] DIR...
      Reads every line of the regular files in DIR... (in name order: the order of arrival when one sink
      wrote them); the first space-separated token of every line must be a number in K..K+N-1. Checks that
      every number is present; more than D duplicates fail (default 0: exactly once), and so does a rerun
      longer than R: consecutive numbers arriving again one after the other (what one crash made a tailer
      read again, or a sink send again). Prints "check: seen=S distinct=D missing=M duplicates=U bad=B
      longest_rerun=L".
  taildir_tool.py posfile --file PATH [--at-end]
      Checks PATH parses as JSON (a list of {"inode","pos","file"} objects) and prints it as
      "inode pos file" lines. With --at-end, every entry's file must have that inode and pos as its size.
"""
import argparse
import json
import os
import shutil
import sys
import time


def _line(i, pad):
    return (str(i) + (" " + "x" * pad if pad else "") + "\n").encode()


def _count_lines(dirname):
    n = 0
    for name in os.listdir(dirname):
        path = os.path.join(dirname, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                n += f.read().count(b"\n")
    return n


def _rotate(args, f, rotation, written, base):
    target = "%s.%d" % (args.file, rotation)
    if args.mode == "rename":
        f.close()
        os.rename(args.file, target)
        return open(args.file, "ab", buffering=0)
    if args.catch_up:
        deadline = time.monotonic() + 60
        while _count_lines(args.catch_up) < base + written and time.monotonic() < deadline:
            time.sleep(0.05)
    shutil.copyfile(args.file, target)
    f.truncate(0)
    time.sleep(0.3)
    return f


def cmd_write(args):
    f = open(args.file, "ab", buffering=0)
    start = time.monotonic()
    rotation = 0
    base = _count_lines(args.catch_up) if args.catch_up else 0
    for n in range(args.count):
        f.write(_line(args.first + n, args.pad))
        if args.rotate_every and (n + 1) % args.rotate_every == 0 and n + 1 < args.count:
            rotation += 1
            f = _rotate(args, f, rotation, n + 1, base)
        if args.rate:
            ahead = (n + 1) / args.rate - (time.monotonic() - start)
            if ahead > 0.002:
                time.sleep(ahead)
    f.close()
    return 0


def cmd_many(args):
    i = args.first
    for k in range(args.files):
        with open(os.path.join(args.dir, "%s%d.log" % (args.prefix, k)), "wb") as f:
            for _ in range(args.lines):
                f.write(_line(i, 0))
                i += 1
    return 0


def cmd_churn(args):
    import random
    names = sorted(os.listdir(args.dir))
    k = 0
    while True:
        i = random.randrange(len(names))
        new = "%s.r%d" % (names[i].split(".r", 1)[0], k)
        os.rename(os.path.join(args.dir, names[i]), os.path.join(args.dir, new))
        names[i] = new
        k += 1
        time.sleep(args.interval_ms / 1000.0)


def cmd_check(args):
    seen = {}
    bad = []
    total = 0
    rerun, longest, last = 0, 0, None
    for d in args.dirs:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                for raw in f.read().split(b"\n")[:-1]:
                    total += 1
                    token = raw.split(b" ", 1)[0]
                    try:
                        v = int(token)
                    except ValueError:
                        v = None
                    if v is None or not args.first <= v < args.first + args.count:
                        if len(bad) < 5:
                            bad.append(raw[:60])
                        continue
                    seen[v] = seen.get(v, 0) + 1
                    if seen[v] > 1:
                        rerun = rerun + 1 if rerun and v == last + 1 else 1
                        longest = max(longest, rerun)
                    else:
                        rerun = 0
                    last = v
    missing = [v for v in range(args.first, args.first + args.count) if v not in seen]
    dups = sum(c - 1 for c in seen.values())
    print("check: seen=%d distinct=%d missing=%d duplicates=%d bad=%d longest_rerun=%d" % (
        total, len(seen), len(missing), dups, len(bad), longest))
    if missing:
        print("  missing e.g. %s" % missing[:10])
    if bad:
        print("  bad e.g. %r" % bad)
    too_long = args.max_rerun is not None and longest > args.max_rerun
    return 0 if not missing and not bad and dups <= args.max_dup and not too_long else 1


def cmd_posfile(args):
    with open(args.file, "rb") as f:
        data = json.loads(f.read().decode("utf-8"))
    if not isinstance(data, list):
        print("posfile: not a JSON array")
        return 1
    for e in data:
        if set(e) != {"inode", "pos", "file"} or not isinstance(e["inode"], int) or not isinstance(e["pos"], int):
            print("posfile: bad entry %r" % (e,))
            return 1
        print("%d %d %s" % (e["inode"], e["pos"], e["file"]))
        if args.at_end:
            st = os.stat(e["file"])
            if (st.st_ino, st.st_size) != (e["inode"], e["pos"]):
                print("posfile: %s is inode %d of %d bytes" % (e["file"], st.st_ino, st.st_size))
                return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--file", required=True)
    w.add_argument("--count", type=int, required=True)
    w.add_argument("--first", type=int, default=0)
    w.add_argument("--rate", type=float, default=0)
    w.add_argument("--rotate-every", type=int, default=0)
    w.add_argument("--mode", choices=["rename", "copytruncate"], default="rename")
    w.add_argument("--pad", type=int, default=0)
    w.add_argument("--catch-up")
    m = sub.add_parser("many")
    m.add_argument("--dir", required=True)
    m.add_argument("--files", type=int, required=True)
    m.add_argument("--lines", type=int, required=True)
    m.add_argument("--first", type=int, default=0)
    m.add_argument("--prefix", default="f")
    r = sub.add_parser("churn")
    r.add_argument("--dir", required=True)
    r.add_argument("--interval-ms", type=float, default=1)
    c = sub.add_parser("check")
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--first", type=int, default=0)
    c.add_argument("--max-dup", type=int, default=0)
    c.add_argument("--max-rerun", type=int)
    c.add_argument("dirs", nargs="+")
    q = sub.add_parser("posfile")
    q.add_argument("--file", required=True)
    q.add_argument("--at-end", action="store_true")
    args = p.parse_args()
    return {"write": cmd_write, "many": cmd_many, "churn": cmd_churn, "check": cmd_check, "posfile": cmd_posfile}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
