#!/usr/bin/env bash
# test_selectors.sh - channel selectors through the real relayd: replicating and multiplexing.
#
# Replicating: one seq source writes every event into two memory channels, each drained by its own
# file_roll sink; both files must hold every number exactly once.
# Multiplexing: netcat sources whose static interceptors set the header "color" (red, blue, both, green,
# none at all) share one selector configuration: mapping.red -> cr, mapping.blue -> cb, mapping.both ->
# cr cb, default -> cd. Each channel has a file_roll sink, and each file must hold exactly the lines routed
# to it: the mapping, a value mapped to two channels, an unmapped value and a missing header (both take the
# default). One more source relies on the default header name, flume.selector.header.
. "$(dirname "$0")/lib.sh"

total=3000
conf="$IT_TMP/sel.conf"
cat >"$conf" <<EOF
r.sources = r1
r.channels = c1 c2
r.sinks = k1 k2
r.sources.r1.type = seq
r.sources.r1.totalEvents = $total
r.sources.r1.batchSize = 50
r.sources.r1.channels = c1 c2
r.sources.r1.selector.type = replicating
r.channels.c1.type = memory
r.channels.c1.capacity = 1000
r.channels.c2.type = memory
r.channels.c2.capacity = 1000
r.sinks.k1.type = file_roll
r.sinks.k1.channel = c1
r.sinks.k1.sink.directory = $IT_TMP/r1
r.sinks.k1.sink.rollInterval = 0
r.sinks.k2.type = file_roll
r.sinks.k2.channel = c2
r.sinks.k2.sink.directory = $IT_TMP/r2
r.sinks.k2.sink.rollInterval = 0
r.sinks.k2.sink.batchSize = 7

m.channels = cr cb cd
m.sinks = kr kb kd
EOF
mkdir -p "$IT_TMP/r1" "$IT_TMP/r2"

# Multiplexing agent: one netcat source per color (an empty color means no interceptor, no header).
declare -A PORTS=()
colors=(red blue both green none dflt)
echo "m.sources = ${colors[*]}" >>"$conf"
for color in "${colors[@]}"; do
  PORTS[$color]=$(it_free_port)
  src="m.sources.$color"
  cat >>"$conf" <<EOF
$src.type = netcat
$src.bind = 127.0.0.1
$src.port = ${PORTS[$color]}
$src.channels = cr cb cd
$src.selector.type = multiplexing
$src.selector.mapping.red = cr
$src.selector.mapping.blue = cb
$src.selector.mapping.both = cr cb
$src.selector.default = cd
EOF
  case $color in
  none) ;;
  dflt)
    # No selector.header: Flume's default header name applies.
    printf '%s\n' "$src.interceptors = i1" "$src.interceptors.i1.type = static" \
      "$src.interceptors.i1.key = flume.selector.header" "$src.interceptors.i1.value = blue" >>"$conf"
    ;;
  *)
    printf '%s\n' "$src.selector.header = color" "$src.interceptors = i1" "$src.interceptors.i1.type = static" \
      "$src.interceptors.i1.key = color" "$src.interceptors.i1.value = $color" >>"$conf"
    ;;
  esac
done
for ch in r b d; do
  mkdir -p "$IT_TMP/m$ch"
  cat >>"$conf" <<EOF
m.channels.c$ch.type = memory
m.sinks.k$ch.type = file_roll
m.sinks.k$ch.channel = c$ch
m.sinks.k$ch.sink.directory = $IT_TMP/m$ch
m.sinks.k$ch.sink.rollInterval = 0
EOF
done

# ---- replicating ----
it_start r -n r -f "$conf"
it_wait_lines "$IT_TMP/r1" "$total" 30 r
it_wait_lines "$IT_TMP/r2" "$total" 30 r
it_stop r
it_seqcheck --count "$total" --ordered "$IT_TMP/r1"
it_seqcheck --count "$total" --ordered "$IT_TMP/r2"

# ---- multiplexing ----
it_run m-check --check -n m -f "$conf"
if [ "$IT_STATUS" -ne 0 ]; then
  cat "$IT_TMP/m-check.out" "$IT_TMP/m-check.log"
  it_fail "the multiplexing configuration (static interceptors, multiplexing selector) does not pass --check"
fi
it_start m -n m -f "$conf"
it_wait_listening m ${#colors[@]}
send() { # send COLOR COUNT: lines COLOR-0 .. COLOR-(COUNT-1), each must be acknowledged
  local replies
  replies=$(it_client "${PORTS[$1]}" --count "$2" --prefix "$1")
  it_assert_eq "replies from source $1" "$(yes OK | head -n "$2")" "$replies"
}
lines() { # lines COLOR COUNT: the lines send wrote
  local i
  for ((i = 0; i < $2; i++)); do echo "$1-$i"; done
}
send red 10
send blue 11
send both 12
send green 13
send none 14
send dflt 15
it_wait_lines "$IT_TMP/mr" 22 20 m
it_wait_lines "$IT_TMP/mb" 38 20 m
it_wait_lines "$IT_TMP/md" 27 20 m
sleep 0.2 # a misrouted line would show up now
it_assert_eq "channel cr (mapping.red, mapping.both)" "$(lines red 10; lines both 12)" "$(it_cat_dir "$IT_TMP/mr")"
it_assert_eq "channel cb (mapping.blue, mapping.both, default header name)" \
  "$(lines blue 11; lines both 12; lines dflt 15)" "$(it_cat_dir "$IT_TMP/mb")"
it_assert_eq "channel cd (unmapped value, no header)" "$(lines green 13; lines none 14)" "$(it_cat_dir "$IT_TMP/md")"
it_stop m
echo "PASS: $IT_NAME"
