#!/usr/bin/env bash
# test_config_scale.sh - relayd --check on a very large configuration stays linear (issue 16, fault 5).
#
# 50,000 sources (each dropped for a bad batchSize, so each needs its drop reason for /health) and 50,000
# sinks on one channel: checking used a linear scan per component (about 110 s here before the fix, over
# two minutes for 100,000 components) and printed one line per problem. Now --check must finish within a
# generous bound and print a bounded number of lines: 20 of each kind of problem, then "... and N more".
. "$(dirname "$0")/lib.sh"

N=50000
conf="$IT_TMP/big.conf"
"$PYTHON" - "$N" "$conf" <<'PYEOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("s.channels = c0\ns.channels.c0.type = memory\n")
    f.write("s.sources = " + " ".join("r%d" % i for i in range(n)) + "\n")
    f.write("s.sinks = " + " ".join("k%d" % i for i in range(n)) + "\n")
    for i in range(n):
        f.write("s.sources.r%d.type = seq\ns.sources.r%d.channels = c0\ns.sources.r%d.batchSize = x%d\n" % (i, i, i, i))
        f.write("s.sinks.k%d.type = null\ns.sinks.k%d.channel = c0\n" % (i, i))
PYEOF

t0=$(it_now_ms)
IT_TIMEOUT=${IT_SCALE_TIMEOUT:-90} it_run_expect big 1 --check -n s -f "$conf"
elapsed=$(($(it_now_ms) - t0))
it_log "--check of $N sources and $N sinks: ${elapsed} ms"
out="$IT_TMP/big.out"
lines=$(wc -l <"$out")
[ "$lines" -le 30 ] || it_fail "--check printed $lines lines for one kind of problem; expected them collapsed"
it_assert_grep "first problems shown" "$out" "^$conf:7: sources\.r0: batchSize: 'x0' is not an integer; source r0 removed"
it_assert_grep "the rest counted" "$out" \
  "^\.\.\. and $((N - 20)) more problem\(s\) of this kind, the last: $conf:[0-9]+: sources\.r$((N - 1)): batchSize: "
it_assert_grep "summary counts every problem" "$out" "agent s: $N problem\(s\)$"
echo "PASS: $IT_NAME"
