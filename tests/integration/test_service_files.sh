#!/usr/bin/env bash
# test_service_files.sh - what a Debian administrator reads and installs (issue 15): every manual page passes
# `mandoc -T lint` without a message, relayd.conf(5) names every key that `relayd --help-components` lists
# (it is generated from the same option tables), and the systemd unit relayd@.service passes
# `systemd-analyze verify`.
. "$(dirname "$0")/lib.sh"

command -v mandoc >/dev/null || it_skip "mandoc is not installed (scripts/setup installs it)"
pages=("$TOP_SRCDIR/man/relayd.8" "$TOP_SRCDIR/man/relay-send.1" "$TOP_SRCDIR/man/relayd-fcdump.8"
  "$TOP_SRCDIR/man/flume-ng.1" "$TOP_BUILDDIR/man/relayd.conf.5")
for page in "${pages[@]}"; do
  [ -f "$page" ] || it_fail "$page is missing (make builds relayd.conf.5)"
  mandoc -T lint "$page" >"$IT_TMP/lint.out" 2>&1 || true
  [ -s "$IT_TMP/lint.out" ] && { cat "$IT_TMP/lint.out"; it_fail "mandoc -T lint $(basename "$page")"; }
done

# relayd.conf(5) is what --help-components --man prints today, and names every key of every option table.
conf5="$TOP_BUILDDIR/man/relayd.conf.5"
it_run_expect man 0 --help-components --man
sed 's/\\-/-/g' "$conf5" >"$IT_TMP/conf5.txt"
sed 's/\\-/-/g' "$IT_TMP/man.out" | grep -vxF -f "$IT_TMP/conf5.txt" >"$IT_TMP/stale.txt" || true
[ -s "$IT_TMP/stale.txt" ] && { head "$IT_TMP/stale.txt"; it_fail "relayd.conf.5 is older than relayd --help-components --man"; }
it_run_expect plain 0 --help-components
keys=$(sed -nE 's/^    ([^ ]+) \(.*/\1/p' "$IT_TMP/plain.out" | sort -u)
[ "$(wc -l <<<"$keys")" -gt 50 ] || it_fail "too few keys in --help-components: $(wc -l <<<"$keys")"
sed 's/^/.B /' <<<"$keys" | grep -vxF -f "$IT_TMP/conf5.txt" >"$IT_TMP/missing.txt" || true
[ -s "$IT_TMP/missing.txt" ] && { cat "$IT_TMP/missing.txt"; it_fail "relayd.conf.5 does not name these keys"; }
types=$(sed -nE 's/^  ([^ ]+)( \(|:|$).*/\1/p' "$IT_TMP/plain.out" | sort -u)
while read -r type; do
  grep -qE "^\\.SS \"$type( |\")" "$IT_TMP/conf5.txt" || it_fail "relayd.conf.5 has no section for type $type"
done <<<"$types"
it_run_expect man-type 2 --help-components memory --man

# debian/control's Build-Depends name the package of every pkg-config module configure.ac checks (cmocka is for
# make check only), so that a clean build, as a buildd does it, has every component (libyajl-dev was missing).
build_deps=$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*: /p' "$TOP_SRCDIR/debian/control")
modules=$(sed -nE 's/^ *PKG_CHECK_MODULES\(\[[A-Z_]+\], \[([^]]*)\].*/\1/p' "$TOP_SRCDIR/configure.ac" |
  tr ' ' '\n' | grep -E '^[a-z]' | grep -vx cmocka)
[ "$(wc -l <<<"$modules")" -ge 10 ] || it_fail "too few pkg-config modules found in configure.ac: $modules"
for module in $modules; do
  pc=$(pkg-config --path "$module") || it_fail "pkg-config does not know $module (scripts/setup installs it)"
  package=$(dpkg-query -S "$pc" | sed -n '1s/[:,].*//p')
  grep -qE "[ ,]$package( |,|$)" <<<"$build_deps" || it_fail "debian/control: Build-Depends lacks $package ($module)"
done

# The unit, with ExecStart pointing at this build and the pages where man(1) finds them (its Documentation=).
command -v systemd-analyze >/dev/null || it_skip "systemd-analyze is not installed (scripts/setup installs systemd)"
unit="$TOP_BUILDDIR/dist/systemd/relayd@.service"
[ -f "$unit" ] || it_fail "$unit is missing"
mkdir -p "$IT_TMP/units" "$IT_TMP/man/man5" "$IT_TMP/man/man8"
cp "$conf5" "$IT_TMP/man/man5/"
cp "$TOP_SRCDIR/man/relayd.8" "$IT_TMP/man/man8/"
sed "s|^ExecStart=[^ ]*/relayd |ExecStart=$RELAYD |" "$unit" >"$IT_TMP/units/relayd@.service"
grep -q "^ExecStart=$RELAYD -n %i -f " "$IT_TMP/units/relayd@.service" || it_fail "unexpected ExecStart in $unit"
for key in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' WatchdogSec= User=relayd ProtectSystem=strict \
  StateDirectory=relayd/%i LimitNOFILE=; do
  grep -qF "$key" "$unit" || it_fail "relayd@.service lacks $key"
done
(cd "$IT_TMP/units" && MANPATH="$IT_TMP/man" SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "relayd@collector.service") \
  >"$IT_TMP/verify.out" 2>&1 || { cat "$IT_TMP/verify.out"; it_fail "systemd-analyze verify failed"; }
[ -s "$IT_TMP/verify.out" ] && { cat "$IT_TMP/verify.out"; it_fail "systemd-analyze verify complained"; }
it_log "mandoc -T lint: ${#pages[@]} pages clean; $(wc -l <<<"$keys") keys in relayd.conf.5; unit verified"
