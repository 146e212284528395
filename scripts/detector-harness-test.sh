#!/usr/bin/env bash
# The short loopback run `make test` does (docs/detector.md): the harness with 30 s of normal
# traffic, then scripts/harness_check.py against the targets. Exit 77 (ctest: skipped) when not
# root: tcpdump, nmap -sS and hping3 need raw sockets.
#
# usage: scripts/detector-harness-test.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: detector-harness-test.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "detector-harness-test: skipped: needs root (raw sockets for tcpdump, nmap -sS, hping3)"
  exit 77
fi
OUT=$(mktemp -d /tmp/witness-harness.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
bash "$HERE/detector-harness.sh" "$BUILD" "$OUT" 30 1 >/dev/null
python3 "$HERE/harness_check.py" "$BUILD/tools/witness" "$OUT/capture.pcap" "$OUT/truth.json" 20
