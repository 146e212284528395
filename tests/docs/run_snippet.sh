#!/usr/bin/env bash
# Runs a documentation snippet as a reader would: in a new empty directory, with the source
# tree's examples/ beside it. Usage: run_snippet.sh SOURCE_DIR COMMAND [ARGS...]
set -euo pipefail
src="$1"; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln -s "$src/examples" "$work/examples"
cd "$work"
"$@"
