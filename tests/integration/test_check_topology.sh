#!/usr/bin/env bash
# test_check_topology.sh - relayd --check-topology and --dot (issue 14): one small configuration per problem
# between hops, each reported once at the right file:line; the bundled configuration and a correct 3-tier
# topology (load_balance and failover groups, deflate, ssl, thrift) are clean; --host and the
# topology.host.AGENT key say where agents run; --dot draws a graph that Graphviz accepts. Static checks:
# no daemon is started, and hosts are IP addresses or localhost so that no DNS lookup is needed.
. "$(dirname "$0")/lib.sh"

T="$IT_TMP"

# line_of FILE KEY: the line number of "KEY = ..." in FILE.
line_of() {
  grep -n -E "^$2 *=" "$1" | head -n 1 | cut -d: -f1
}

# expect_one NAME FILE LABEL KEY REGEX [ARGS...]: --check-topology FILE exits 1 with exactly one problem, at
# the line of LABEL.KEY, reading "FILE:LINE: LABEL: KEY: ..." and matching REGEX.
expect_one() {
  local name=$1 file=$2 label=$3 key=$4 regex=$5
  shift 5
  local line
  line=$(line_of "$file" "$label.$key")
  [ -n "$line" ] || it_fail "$name: test bug: no $label.$key line in $file"
  it_run_expect "$name" 1 --check-topology "$@" "$file"
  it_assert_grep "$name: reported at $label.$key" "$T/$name.out" "^$file:$line: $label: $key: $regex"
  it_assert_grep "$name: exactly one problem" "$T/$name.out" ": topology of [0-9]+ agent\(s\), [0-9]+ hop\(s\): 1 problem\(s\)$"
}

# agent NAME SOURCE_TYPE BIND PORT [TXN]: an agent with one listening source into a memory channel read by a
# null sink (a last hop), as properties.
terminal() {
  cat <<EOF
$1.sources = r
$1.channels = c
$1.sinks = k
$1.sources.r.type = $2
$1.sources.r.bind = $3
$1.sources.r.port = $4
$1.sources.r.channels = c
$1.channels.c.type = memory
$1.channels.c.transactionCapacity = ${5:-1000}
$1.sinks.k.type = null
$1.sinks.k.channel = c
EOF
}

# edge NAME SINK_TYPE HOST PORT [TXN]: a seq source into a memory channel read by one RPC sink.
edge() {
  cat <<EOF
$1.sources = r
$1.channels = c
$1.sinks = k
$1.sources.r.type = seq
$1.sources.r.channels = c
$1.channels.c.type = memory
$1.channels.c.transactionCapacity = ${5:-1000}
$1.sinks.k.type = $2
$1.sinks.k.channel = c
$1.sinks.k.hostname = $3
$1.sinks.k.port = $4
EOF
}

# ---- one configuration per problem ----

f="$T/unreached.conf"
{ edge edge avro 127.0.0.1 50001; terminal collector avro 127.0.0.1 50002; } >"$f"
expect_one unreached "$f" edge.sinks.k hostname "127\.0\.0\.1:50001 \(sent from this machine\) matches no source of the topology$"

f="$T/protocol.conf"
{ edge edge avro 127.0.0.1 50003; terminal collector thrift 127.0.0.1 50003; } >"$f"
expect_one avro-to-thrift "$f" edge.sinks.k type "avro sink sends to collector\.sources\.r \($f:[0-9]+\), a thrift source"

f="$T/protocol2.conf"
{ edge edge thrift 127.0.0.1 50004; terminal collector avro 127.0.0.1 50004; } >"$f"
expect_one thrift-to-avro "$f" edge.sinks.k type "thrift sink sends to collector\.sources\.r .*, a avro source"

f="$T/thrift-protocol.conf"
{ edge edge thrift 127.0.0.1 50005; echo "edge.sinks.k.protocol = binary"; terminal collector thrift 127.0.0.1 50005; } >"$f"
expect_one thrift-protocol "$f" edge.sinks.k protocol "binary, but its target collector\.sources\.r .* has protocol = compact"

f="$T/compression.conf"
{ edge edge avro 127.0.0.1 50006; echo "edge.sinks.k.compression-type = deflate"; terminal collector avro 127.0.0.1 50006; } >"$f"
expect_one compression "$f" edge.sinks.k compression-type "deflate, but its target collector\.sources\.r .* has compression-type = none"

f="$T/ssl.conf"
{ edge edge avro 127.0.0.1 50007; terminal collector avro 127.0.0.1 50007; echo "collector.sources.r.ssl = true"; } >"$f"
# The sink leaves ssl unset: the line is its type line, and the message says the default is in force.
line=$(line_of "$f" edge.sinks.k.type)
it_run_expect ssl 1 --check-topology "$f"
it_assert_grep "ssl mismatch at the sink's type line" "$T/ssl.out" "^$f:$line: edge\.sinks\.k: ssl: false \(the default\), but its target collector\.sources\.r .* has ssl = true"
it_assert_grep "ssl: one problem" "$T/ssl.out" ": 1 problem\(s\)$"

f="$T/transport.conf"
{ edge edge avro 127.0.0.1 50018; terminal collector avro 127.0.0.1 50018; echo "collector.sources.r.transport = http"; } >"$f"
expect_one transport "$f" edge.sinks.k type "avro sink speaks the netty transport only, but its target collector\.sources\.r .* has transport = http$"

f="$T/target-batch.conf"
{ edge edge avro 127.0.0.1 50008; echo "edge.sinks.k.batch-size = 500"; terminal collector avro 127.0.0.1 50008 100; } >"$f"
expect_one target-batch "$f" edge.sinks.k batch-size "500 is larger than transactionCapacity 100 of collector\.channels\.c \($f:[0-9]+\), which its target collector\.sources\.r puts"

f="$T/own-batch.conf"
{ edge edge avro 127.0.0.1 50009 100; echo "edge.sinks.k.batch-size = 500"; terminal collector avro 127.0.0.1 50009 1000; } >"$f"
expect_one own-batch "$f" edge.sinks.k batch-size "500 is larger than transactionCapacity 100 of its channel edge\.channels\.c"

f="$T/cycle.conf"
{
  terminal a avro 127.0.0.1 50010 | grep -v '^a\.sinks\.k\.type'
  echo "a.sinks.k.type = avro"
  echo "a.sinks.k.hostname = 127.0.0.1"
  echo "a.sinks.k.port = 50011"
  terminal b avro 0.0.0.0 50011 | grep -v '^b\.sinks\.k\.type'
  echo "b.sinks.k.type = avro"
  echo "b.sinks.k.hostname = localhost"
  echo "b.sinks.k.port = 50010"
} >"$f"
expect_one cycle "$f" a.sinks.k hostname "hops form a cycle, events would loop forever: a\.sources\.r -> a\.sinks\.k -> b\.sources\.r -> b\.sinks\.k -> a\.sources\.r$"

f="$T/two-sources.conf"
{ terminal one netcat 127.0.0.1 50012; terminal two avro 0.0.0.0 50012; } >"$f"
expect_one two-sources "$f" two.sources.r port "0\.0\.0\.0:50012 on this machine is also taken by one\.sources\.r \($f:[0-9]+, bind 127\.0\.0\.1\)"

f="$T/failover-one.conf"
{
  edge edge avro 127.0.0.1 50013 | sed 's/^edge\.sinks = k$/edge.sinks = k k2/'
  cat <<EOF
edge.sinks.k2.type = avro
edge.sinks.k2.channel = c
edge.sinks.k2.hostname = localhost
edge.sinks.k2.port = 50013
edge.sinkgroups = g
edge.sinkgroups.g.sinks = k k2
edge.sinkgroups.g.processor.type = failover
edge.sinkgroups.g.processor.priority.k = 10
EOF
  terminal collector avro 0.0.0.0 50013
} >"$f"
expect_one failover-one "$f" edge.sinkgroups.g sinks "all 2 sinks of this failover group send to agent collector \($f\)"

# load_balance over two sources of one agent is still one collector.
f="$T/lb-one.conf"
{
  edge edge avro 127.0.0.1 50014 | sed 's/^edge\.sinks = k$/edge.sinks = k k2/'
  cat <<EOF
edge.sinks.k2.type = avro
edge.sinks.k2.channel = c
edge.sinks.k2.hostname = 127.0.0.1
edge.sinks.k2.port = 50015
edge.sinkgroups = g
edge.sinkgroups.g.sinks = k k2
edge.sinkgroups.g.processor.type = org.apache.flume.sink.LoadBalancingSinkProcessor
EOF
  terminal collector avro 127.0.0.1 50014 | sed 's/^collector\.sources = r$/collector.sources = r r2/'
  cat <<EOF
collector.sources.r2.type = avro
collector.sources.r2.bind = 127.0.0.1
collector.sources.r2.port = 50015
collector.sources.r2.channels = c
EOF
} >"$f"
expect_one lb-one "$f" edge.sinkgroups.g sinks "all 2 sinks of this load_balance group send to agent collector"

# ---- where agents run: --host and topology.host.AGENT ----

f="$T/hosts.conf"
{ edge edge avro 10.77.0.2 50016; terminal collector avro 0.0.0.0 50016; } >"$f"
expect_one host-unknown "$f" edge.sinks.k hostname "10\.77\.0\.2:50016 .*matches no source.* binds 0\.0\.0\.0:50016 on this machine .*--host AGENT=HOST"
it_run_expect host-given 0 --check-topology --host collector=10.77.0.2 "$f"
it_assert_grep "--host: clean, one hop" "$T/host-given.out" "^$f: topology of 2 agent\(s\), 1 hop\(s\): 0 problem\(s\)$"
it_run_expect host-no-resolve 0 --check-topology --no-resolve --host=collector=10.77.0.2 "$f"
it_run_expect host-typo 1 --check-topology --host collectr=10.77.0.2 "$f"
it_assert_grep "--host naming no agent" "$T/host-typo.out" "^command line: --host: no agent collectr in the files$"
it_run_expect host-usage 2 --check-topology --host collector "$f"
it_assert_grep "--host without =" "$T/host-usage.log" "expected AGENT=HOST"
# Loopback reaches only the sender's machine.
f2="$T/hosts-loopback.conf"
{ edge edge avro 127.0.0.1 50017; terminal collector avro 0.0.0.0 50017; } >"$f2"
it_run_expect loopback-same 0 --check-topology "$f2"
expect_one loopback-elsewhere "$f2" edge.sinks.k hostname "127\.0\.0\.1:50017 \(sent from 10\.77\.0\.1\) matches no source" \
  --host edge=10.77.0.1 --host collector=10.77.0.2
# The key in the file; --host wins over it.
echo "topology.host.collector = 10.77.0.2" >>"$f"
it_run_expect host-key 0 --check-topology "$f"
expect_one host-key-overridden "$f" edge.sinks.k hostname ".*matches no source.* on 10\.77\.0\.9" --host collector=10.77.0.9

# ---- clean topologies ----

it_run_expect bundled 0 --check-topology "$TOP_SRCDIR/conf/relayd.conf"
it_assert_grep "bundled: 4 agents, 2 hops, clean" "$T/bundled.out" "topology of 4 agent\(s\), 2 hop\(s\): 0 problem\(s\)$"
# The same file twice is read once (its sources would otherwise collide with themselves).
it_run_expect bundled-twice 0 --check-topology "$TOP_SRCDIR/conf/relayd.conf" -f "$TOP_SRCDIR/conf/relayd.conf"
it_assert_grep "same file twice: read once" "$T/bundled-twice.out" "topology of 4 agent\(s\), 2 hop\(s\): 0 problem"
(cd "$TOP_SRCDIR" && "$RELAYD" --check-topology >"$T/default.out") || it_fail "without FILE: conf/relayd.conf is not clean"
it_assert_grep "without FILE: conf/relayd.conf" "$T/default.out" "^conf/relayd\.conf: topology of 4 agent"

# Three tiers in two files: two edges load-balance over two collectors (same port, different hosts; deflate
# and ssl to one, plain to the other), each collector fails over between two thrift terminals.
tiers="$T/tiers.conf"
terms="$T/terminals.conf"
for e in edge1 edge2; do
  cat <<EOF
$e.sources = r
$e.channels = c
$e.sinks = k1 k2
$e.sinkgroups = g
$e.sources.r.type = netcat
$e.sources.r.bind = 127.0.0.1
$e.sources.r.port = $([ $e = edge1 ] && echo 50101 || echo 50102)
$e.sources.r.channels = c
$e.channels.c.type = memory
$e.channels.c.transactionCapacity = 500
$e.sinks.k1.type = avro
$e.sinks.k1.channel = c
$e.sinks.k1.hostname = 10.78.0.1
$e.sinks.k1.port = 4141
$e.sinks.k1.batch-size = 500
$e.sinks.k1.compression-type = deflate
$e.sinks.k1.ssl = true
$e.sinks.k1.truststore = /etc/relayd/ca.pem
$e.sinks.k2.type = org.apache.flume.sink.AvroSink
$e.sinks.k2.channel = c
$e.sinks.k2.hostname = 10.78.0.2
$e.sinks.k2.port = 4141
$e.sinkgroups.g.sinks = k1 k2
$e.sinkgroups.g.processor.type = load_balance
$e.sinkgroups.g.processor.backoff = true
EOF
done >"$tiers"
for c in c1 c2; do
  cat <<EOF
$c.sources = r
$c.channels = c
$c.sinks = t1 t2
$c.sinkgroups = g
$c.sources.r.type = avro
$c.sources.r.bind = 0.0.0.0
$c.sources.r.port = 4141
$c.sources.r.channels = c
$c.channels.c.type = file
$c.channels.c.checkpointDir = /var/lib/relayd/$c/checkpoint
$c.channels.c.dataDirs = /var/lib/relayd/$c/data
$c.sinks.t1.type = thrift
$c.sinks.t1.channel = c
$c.sinks.t1.hostname = 10.79.0.1
$c.sinks.t1.port = 4545
$c.sinks.t1.protocol = binary
$c.sinks.t1.batch-size = 1000
$c.sinks.t2.type = thrift
$c.sinks.t2.channel = c
$c.sinks.t2.hostname = 10.79.0.2
$c.sinks.t2.port = 4545
$c.sinkgroups.g.sinks = t1 t2
$c.sinkgroups.g.processor.type = failover
$c.sinkgroups.g.processor.priority.t1 = 10
$c.sinkgroups.g.processor.priority.t2 = 5
EOF
done >>"$tiers"
cat >>"$tiers" <<EOF
c1.sources.r.compression-type = deflate
c1.sources.r.ssl = true
c1.sources.r.keystore = /etc/relayd/c1.p12
topology.host.c1 = 10.78.0.1
topology.host.c2 = 10.78.0.2
EOF
{
  terminal tA thrift 0.0.0.0 4545 1000
  echo "tA.sources.r.protocol = binary"
  terminal tB thrift 10.79.0.2 4545
} >"$terms"
it_run_expect tiers 0 --check-topology --host tA=10.79.0.1 --host tB=10.79.0.2 "$tiers" "$terms"
it_assert_grep "3 tiers: clean, 8 hops" "$T/tiers.out" "^$tiers,$terms: topology of 6 agent\(s\), 8 hop\(s\): 0 problem\(s\)$"
# Without where the terminals run, the collectors' sinks reach nothing.
it_run_expect tiers-no-host 1 --check-topology "$tiers" "$terms"
it_assert_grep "3 tiers without --host" "$T/tiers-no-host.out" "c1\.sinks\.t1: hostname: 10\.79\.0\.1:4545 \(sent from 10\.78\.0\.1\) matches no source"

# ---- --dot ----

it_run_expect dot 0 --dot "$TOP_SRCDIR/conf/relayd.conf"
dotf="$T/dot.out"
it_assert_grep "dot: a digraph" "$dotf" '^digraph relayd \{$'
for agent in edge collector terminal demo; do
  it_assert_grep "dot: cluster of $agent" "$dotf" "label=\"$agent\\\\n"
done
it_assert_grep "dot: source -> channel" "$dotf" '"a0/sources\.lines" -> "a0/channels\.mem";'
it_assert_grep "dot: channel -> sink" "$dotf" '"a0/channels\.mem" -> "a0/sinks\.to_collector";'
it_assert_grep "dot: hop edge -> collector with protocol and batch" "$dotf" '"a0/sinks\.to_collector" -> "a1/sources\.from_edges" \[label="avro, batch 100", style=bold\];'
it_assert_grep "dot: hop collector -> terminal" "$dotf" '"a1/sinks\.to_terminal" -> "a2/sources\.from_collectors" \[label="avro, batch 100"'
it_assert_grep "dot: summary on stderr" "$T/dot.log" "topology of 4 agent\(s\), 2 hop\(s\): 0 problem\(s\)$"
# Groups are clusters; a sink that reaches nothing points at a red host:port node.
it_run_expect dot-tiers 1 --dot --check-topology "$tiers" "$terms"
it_assert_grep "dot: group cluster" "$T/dot-tiers.out" 'label="g \(failover\)"; style=dashed;'
it_assert_grep "dot: unreached target" "$T/dot-tiers.out" '"10\.79\.0\.1:4545 \?" \[shape=plaintext, fontcolor=red\];'
it_assert_grep "dot: deflate and ssl on the hop" "$T/dot-tiers.out" 'label="avro, batch 500, deflate, ssl"'
if command -v dot >/dev/null 2>&1; then
  dot -Tsvg "$dotf" >"$T/bundled.svg" || it_fail "dot -Tsvg rejects relayd --dot output"
  dot -Tsvg "$T/dot-tiers.out" >"$T/tiers.svg" || it_fail "dot -Tsvg rejects the 3-tier graph"
  grep -q '<svg' "$T/bundled.svg" || it_fail "dot -Tsvg produced no SVG"
else
  it_log "graphviz (dot) not installed: the graph's syntax is not checked by Graphviz"
fi

# The README shows the bundled configuration's graph: it must be the current output.
readme="$TOP_SRCDIR/README.md"
if [ -f "$readme" ]; then
  awk '/^<!-- BEGIN relayd --dot conf\/relayd.conf/ { on = 1; next } /^<!-- END relayd --dot/ { on = 0 }
    on && !/^```/' "$readme" >"$T/readme.dot"
  (cd "$TOP_SRCDIR" && "$RELAYD" --dot conf/relayd.conf 2>/dev/null) >"$T/current.dot"
  diff -u "$T/readme.dot" "$T/current.dot" || it_fail "README's relayd --dot conf/relayd.conf block is not current"
fi

# A file that cannot be read: exit 1 as --check.
it_run_expect unreadable 1 --check-topology "$T/no-such.conf"
it_assert_grep "unreadable file named" "$T/unreadable.log" "cannot read configuration $T/no-such.conf"
exit 0
