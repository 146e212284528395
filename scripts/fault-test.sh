#!/usr/bin/env bash
# Fault injection (SPEC 11): a missing or wrong-format directory, a read-only ledger, a full
# disk and a failing write each give a clear error, exit non-zero, and corrupt nothing: what
# was acknowledged is present, `witness verify` passes, and appends resume once the fault is
# gone.
#
# Usage: scripts/fault-test.sh WITNESS
# The read-only and full-disk cases need mounts (root, as in CI): a read-only bind mount and a
# small tmpfs. Without them the read-only case uses file modes (when not root) and the
# full-disk case a file-size limit (prlimit), which fails writes the same way (EFBIG instead
# of ENOSPC). Each case prints what it did.
set -euo pipefail
W="$1"
work=$(mktemp -d)
mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || true; done
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# run WANT_CODE CMD...: runs CMD with stdout/stderr in $work/out and $work/err.
run() {
  local want="$1"; shift
  local code=0
  "$@" >"$work/out" 2>"$work/err" || code=$?
  [ "$code" = "$want" ] || { cat "$work/err" >&2; fail "$* exited $code, want $want"; }
}
has() { grep -q -- "$1" "$work/err" || { cat "$work/err" >&2; fail "stderr lacks '$1'"; }; }
tree_sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
can_mount() {
  [ "$(id -u)" = 0 ] || return 1
  mkdir -p "$work/probe"
  mount -t tmpfs -o size=1m tmpfs "$work/probe" 2>/dev/null || return 1
  umount "$work/probe"
}
gen() {  # gen N FILE: N nodes of about 150 bytes
  awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"origin\":\"agent.%d\",\"kind\":\"agent.action\",\"timestamp\":%d,\"payload\":{\"i\":%d,\"pad\":\"%s\"}}\n",
      i % 5, 1700000000000000000 + i, i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }' >"$2"
}
size_of() { "$W" stats --ledger "$1" --json | grep -o '"size":[0-9]*' | cut -d: -f2; }
# check_acked LEDGER ACKS: every acknowledged (seq, id) is in LEDGER, and it verifies.
check_acked() {
  { grep -o '"seq":[0-9]*,"id":"[0-9a-f]*"' "$2" || true; } |
    sed 's/"seq":\([0-9]*\),"id":"\([0-9a-f]*\)"/\1 \2/' | sort -u >"$work/acked"
  "$W" export --ledger "$1" 2>/dev/null | grep -o '^{"id":"[0-9a-f]*"' | cut -d'"' -f4 |
    awk '{ print NR - 1, $0 }' | sort -u >"$work/present"
  local missing; missing=$(comm -23 "$work/acked" "$work/present" | wc -l)
  [ "$missing" = 0 ] || fail "$missing acknowledged nodes missing from $1"
  "$W" verify --ledger "$1" >/dev/null || fail "verify failed on $1"
  wc -l <"$work/acked"
}
MOUNTS=0
can_mount && MOUNTS=1
gen 20 "$work/small.jsonl"
gen 60000 "$work/big.jsonl"
echo '{"origin":"agent.z","kind":"agent.action","timestamp":1}' >"$work/one.jsonl"

# 1. A missing directory: named, and not created by a read or an append.
run 2 "$W" stats --ledger "$work/absent"
has "no ledger at $work/absent"
run 2 "$W" append --ledger "$work/absent" "$work/one.jsonl"
has "no ledger at"
[ ! -e "$work/absent" ] || fail "a command created $work/absent"
echo "missing directory: named, exit 2, nothing created"

# 2. Wrong formats, each left byte-for-byte as it was.
mkdir -p "$work/junk" && head -c 4096 /dev/urandom >"$work/junk/CURRENT" && echo hi >"$work/junk/notes.txt"
before=$(tree_sum "$work/junk")
for cmd in stats verify "append $work/one.jsonl"; do
  # shellcheck disable=SC2086
  code=0; "$W" $cmd --ledger "$work/junk" >"$work/out" 2>"$work/err" || code=$?
  [ "$code" != 0 ] || fail "$cmd on a junk directory exited 0"
  [ -s "$work/err" ] || fail "$cmd on a junk directory printed no error"
done
[ "$(tree_sum "$work/junk")" = "$before" ] || fail "a command changed the junk directory"
echo "junk directory: refused by stats, verify and append ($(head -c 100 "$work/err")), unchanged"

: >"$work/plainfile"
run 2 "$W" stats --ledger "$work/plainfile"
has "is a file, not a ledger directory"
echo "a plain file as ledger: refused"

if command -v ldb >/dev/null; then
  ldb --db="$work/otherdb" --create_if_missing put somekey somevalue >/dev/null
  before=$(ldb --db="$work/otherdb" scan --hex)
  run 2 "$W" append --ledger "$work/otherdb" "$work/one.jsonl"
  has "not a witness ledger"
  run 2 "$W" stats --ledger "$work/otherdb"
  has "not a witness ledger"
  # A writable RocksDB open may rewrite its MANIFEST, OPTIONS and LOG files and flush its WAL;
  # the keys and values must not change.
  [ "$(ldb --db="$work/otherdb" scan --hex)" = "$before" ] || fail "the other database's data changed"
  echo "another RocksDB database: 'not a witness ledger', its keys and values unchanged"
else
  echo "another RocksDB database: skipped (no ldb)"
fi

"$W" init --ledger "$work/v99" >/dev/null
if command -v ldb >/dev/null; then
  ldb --db="$work/v99" put --key_hex 0x23666f726d61745f76657273696f6e --value_hex 0x00000063 >/dev/null
  run 2 "$W" append --ledger "$work/v99" "$work/one.jsonl"
  has "format version 99"
  echo "a future format version: refused, named"
fi

# 3. A read-only ledger: appends fail clearly, reads work, nothing changes.
L="$work/ro/ledger"
"$W" init --ledger "$L" >/dev/null
"$W" append --ledger "$L" "$work/small.jsonl" >/dev/null 2>&1
before=$(tree_sum "$L")
how=""
if [ "$MOUNTS" = 1 ]; then
  mount --bind -o ro "$work/ro" "$work/ro" && mounted+=("$work/ro") && how="read-only bind mount"
elif [ "$(id -u)" != 0 ]; then
  chmod -R a-w "$work/ro" && how="no write permission"
fi
if [ -n "$how" ]; then
  run 1 "$W" append --ledger "$L" "$work/one.jsonl"
  if [ "$MOUNTS" = 1 ]; then has "read-only file system"; else has "Permission denied"; fi
  run 1 "$W" append --ledger "$L" --stream "$work/one.jsonl"
  run 0 "$W" stats --ledger "$L"
  run 0 "$W" verify --ledger "$L"
  run 0 "$W" query --ledger "$L" --origin agent.1
  [ "$(wc -l <"$work/out")" = 4 ] || fail "query on a read-only ledger: $(wc -l <"$work/out") lines, want 4"
  run 0 "$W" export --ledger "$L"
  run 0 "$W" proof inclusion --ledger "$L" 3
  [ "$MOUNTS" = 1 ] && { umount "$work/ro"; mounted=(); }
  chmod -R u+w "$work/ro"
  [ "$(tree_sum "$L")" = "$before" ] || fail "the read-only ledger changed"
  run 0 "$W" append --ledger "$L" "$work/one.jsonl"
  echo "read-only ledger ($how): append refused (exit 1, named), stats/verify/query/export/proof work, unchanged; writable again: append works"
else
  echo "read-only ledger: skipped (root without mount permission: file modes do not bind root)"
fi

# 4. A full disk (or a failing write): the stream stops at the first error, named; every
# acknowledged node survives; an atomic batch appends nothing; after space is freed appends
# resume and the ledger verifies.
if [ "$MOUNTS" = 1 ]; then
  mkdir -p "$work/full"
  mount -t tmpfs -o size=4m tmpfs "$work/full" && mounted+=("$work/full")
  L="$work/full/ledger"
  "$W" init --ledger "$L" >/dev/null
  run 1 "$W" append --ledger "$L" --stream --durability sync "$work/big.jsonl"
  cp "$work/out" "$work/acks"
  has "No space left on device"
  has "the disk is full"
  [ "$(grep -c 'No space' "$work/err")" = 1 ] || fail "the stream reported the full disk more than once"
  acked=$(check_acked "$L" "$work/acks")
  [ "$acked" -gt 1000 ] || fail "only $acked acknowledged before the disk filled"
  size=$(size_of "$L")
  run 1 "$W" append --ledger "$L" "$work/small.jsonl"
  has "No space left on device"
  [ "$(size_of "$L")" = "$size" ] || fail "a failed batch changed the ledger size"
  mount -o remount,size=64m "$work/full"
  run 0 "$W" append --ledger "$L" --durability sync "$work/big.jsonl"
  [ "$(size_of "$L")" = 60000 ] || fail "after freeing space: size $(size_of "$L"), want 60000"
  "$W" verify --ledger "$L" >/dev/null || fail "verify after the disk was freed"
  echo "full disk (4 MiB tmpfs): stream stopped once with 'No space left on device', $acked acknowledged all present, verify ok; a batch appended nothing; after growing the disk all 60000 in, verify ok"
else
  echo "full disk: no mounts here; the write-failure case below stands in"
fi
# A write failure injected with a file-size limit (works without privileges): writes past the
# limit fail with EFBIG, as a full disk fails them with ENOSPC.
L="$work/limited/ledger"
"$W" init --ledger "$L" >/dev/null
code=0
(trap '' XFSZ; exec prlimit --fsize=2000000 "$W" append --ledger "$L" --stream --durability sync "$work/big.jsonl") \
  >"$work/acks" 2>"$work/err" || code=$?
[ "$code" = 1 ] || { cat "$work/err" >&2; fail "append under a file-size limit exited $code, want 1"; }
has "File too large"
acked=$(check_acked "$L" "$work/acks")
[ "$acked" -gt 1000 ] || fail "only $acked acknowledged before the write failed"
run 0 "$W" append --ledger "$L" --durability sync "$work/big.jsonl"
[ "$(size_of "$L")" = 60000 ] || fail "after lifting the limit: size $(size_of "$L"), want 60000"
"$W" verify --ledger "$L" >/dev/null || fail "verify after lifting the limit"
echo "failing writes (file-size limit, EFBIG): stream stopped with 'File too large', $acked acknowledged all present, verify ok; without the limit all 60000 in"
echo "fault test: all cases passed"
