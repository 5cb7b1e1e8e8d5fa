#!/usr/bin/env bash
# test_citations.sh - everything the project cites is in the project (issue 19). A document named without a
# directory (NAME dot md) in the sources, IDL, configuration, scripts, tests or README must exist in the tree;
# paths with a directory (Flume's flume-ng-core/src/main/java/..., Thrift's doc/specs/...) name another
# project's files and are not checked. The developers' reference notes, which are not part of the project,
# must not be cited at all, with or without their extension.
. "$(dirname "$0")/lib.sh"

cd "$TOP_SRCDIR" || it_fail "no source tree"
where=(src idl conf scripts tests README.md Makefile.am configure.ac)
skip=(--exclude-dir='build*' --exclude-dir=.git --exclude-dir=gen-thrift --exclude-dir=node_modules)
missing=""
while IFS= read -r hit; do
  file=${hit%%:*}
  doc=${hit#*:}
  if [ -z "$(find . -path './build*' -prune -o -name "$doc" -print | head -n 1)" ]; then
    missing="$missing $file:$doc"
  fi
done < <(grep -rIoE "${skip[@]}" '(^|[^A-Za-z0-9_./-])[A-Za-z0-9_-]+\.md\b' "${where[@]}" |
  sed -E 's/:[^A-Za-z0-9_-]*/:/' | sort -u)
[ -z "$missing" ] || it_fail "cited but not in the project:$missing"

# The names are split so that this file does not match itself.
outside=$(grep -rIlE "${skip[@]}" "flume""-compat|style""-anchors" "${where[@]}" | tr '\n' ' ')
[ -z "$outside" ] || it_fail "cites the reference notes that are not part of the project: $outside"
it_log "every cited document is in the tree"
