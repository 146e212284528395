#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each on a working copy of its seed corpus.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS. Exit 1 when a target finds a crash (the input is
# kept in BUILD_DIR/crashes; add it to the target's corpus and a regression test).
set -euo pipefail
build="$1"
seconds="${2:-60}"
cd "$(dirname "$0")/.."
mkdir -p "$build/crashes"
status=0
for corpus in tests/fuzz/corpus/*/; do
  target=$(basename "$corpus")
  work="$build/corpus/$target"
  mkdir -p "$work"
  cp -n "$corpus"* "$work"/ 2>/dev/null || true
  echo "== $target: ${seconds}s"
  if ! "$build/tests/fuzz/$target" "$work" -max_total_time="$seconds" -max_len=65536 \
       -artifact_prefix="$build/crashes/$target-" -print_final_stats=1 2>"$build/$target.log"; then
    echo "$target: FAILED (see $build/$target.log)" >&2
    tail -30 "$build/$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$build/$target.log" | tr '\n' ' '
    echo
  fi
done
exit $status
