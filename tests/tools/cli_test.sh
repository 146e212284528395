#!/usr/bin/env bash
# End-to-end tests of the `witness` binary on temporary ledgers. Usage: cli_test.sh WITNESS CASE
# Each case is a function; ctest runs one case per test. A case fails on the first unmet check.
set -uo pipefail

W="$1"
CASE="$2"
SRC="${3:-}"  # the source tree (examples/)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export WITNESS_LEDGER="$TMP/ledger"
unset CDPATH

fail() { echo "FAIL [$CASE]: $*" >&2; exit 1; }

# run EXPECTED_CODE CMD...: runs CMD, stores stdout in $OUT and stderr in $ERR, checks the code.
run() {
  local want="$1"; shift
  "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  local got=$?
  OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
  [ "$got" = "$want" ] || fail "exit $got, want $want: $*"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
}
# run_in EXPECTED_CODE INPUT_FILE CMD...: as run, with stdin from INPUT_FILE.
run_in() {
  local want="$1" input="$2"; shift 2
  "$@" >"$TMP/out" 2>"$TMP/err" <"$input"
  local got=$?
  OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
  [ "$got" = "$want" ] || fail "exit $got, want $want: $*"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
}
contains() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }
lines() { [ "$(grep -c '' <<<"$1")" = "$2" ] || fail "expected $2 lines in: $1"; }

sample() {
  cat >"$TMP/sample.jsonl" <<'J'
{"origin":"detector.ddos","kind":"detector.alert","timestamp":"2026-11-22T10:00:00Z","walk":"run-1","tags":["dns"],"payload":{"score":0.97,"src":"10.0.0.7"}}
{"origin":"agent.triage","kind":"agent.action","timestamp":"2026-11-22T10:00:01Z","walk":"run-1","links":[{"relation":"causes","target":"line:1"}],"payload":{"action":"block","ip":"10.0.0.7"}}
{"origin":"agent.ops","kind":"agent.action","timestamp":1795341605000000000,"links":[{"relation":"fulfills","target":"line:2"}],"payload":{"ack":true}}
J
}

# The ledger's export, used to prove a failed command changed nothing.
snapshot() { "$W" export 2>/dev/null; "$W" stats --json | sed 's/"disk_bytes":[0-9]*//'; }

case_help() {
  run 0 "$W" --help; contains "$OUT" "append"; contains "$OUT" "query"
  for c in init stats show query lineage replay export import append laws "agents register" "agents list" "gate explain"; do
    # shellcheck disable=SC2086
    run 0 "$W" $c --help; contains "$OUT" "--ledger"
  done
  run 0 "$W" --version; contains "$OUT" "witness 0."
  run 2 "$W"; contains "$ERR" "subcommand"
  run 2 "$W" query --no-such-flag; contains "$ERR" "no-such-flag"
}

case_init() {
  run 0 "$W" init; contains "$OUT" "initialised ledger"
  run 2 "$W" init; contains "$ERR" "already exists"
  run 0 "$W" stats --json; contains "$OUT" '"size":0'
  mkdir -p "$TMP/full" && touch "$TMP/full/notes.txt"
  run 2 "$W" init --ledger "$TMP/full"; contains "$ERR" "exists and is not empty"
  [ "$(ls "$TMP/full")" = "notes.txt" ] || fail "init wrote into a non-empty directory"
  run 2 "$W" stats --ledger "$TMP/absent"; contains "$ERR" "no ledger at"
  [ ! -e "$TMP/absent" ] || fail "stats created a directory"
  env -u WITNESS_LEDGER "$W" stats >/dev/null 2>"$TMP/err"; [ $? = 2 ] || fail "no --ledger must exit 2"
  contains "$(cat "$TMP/err")" "--ledger DIR"
  # Each message says what is actually wrong ("File exists", "internal error: filesystem error").
  ln -s "$TMP/nowhere" "$TMP/dangling"
  run 2 "$W" init --ledger "$TMP/dangling"; contains "$ERR" "is a symbolic link to $TMP/nowhere, which does not exist"
  ln -s "$TMP/loop-b" "$TMP/loop-a"; ln -s "$TMP/loop-a" "$TMP/loop-b"
  run 1 "$W" init --ledger "$TMP/loop-a"; contains "$ERR" "Too many levels of symbolic links (a loop of symbolic links)"
  touch "$TMP/afile"
  run 2 "$W" stats --ledger "$TMP/afile"; contains "$ERR" "is a file, not a ledger directory"
  run 2 "$W" append "$TMP"; contains "$ERR" "is a directory, not an input file"
  run 2 "$W" append "$TMP/no-such-input"; contains "$ERR" "No such file or directory"
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    mkdir "$TMP/closed"; chmod 700 "$TMP/closed"; chmod a+x "$TMP"
    run 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$W" stats --ledger "$TMP/closed/l"
    contains "$ERR" "Permission denied (reading a ledger needs read and search permission"
  fi
}

case_append_and_read() {
  sample; run 0 "$W" init
  run 0 "$W" append "$TMP/sample.jsonl" --json; lines "$OUT" 3; contains "$OUT" '"seq":2'
  # Re-appending is idempotent and prints the existing seqs.
  run 0 "$W" append "$TMP/sample.jsonl"; contains "$ERR" "appended 0 entries (3 already present)"
  run 0 "$W" stats --json; contains "$OUT" '"size":3'
  run 0 "$W" show 1 --json; contains "$OUT" '"origin":"agent.triage"'
  id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' <<<"$OUT")
  run 0 "$W" show "$id"; contains "$OUT" "seq:       1"; contains "$OUT" "(seq 0)"
  run 2 "$W" show 99; contains "$ERR" "seq 99: no such entry"
  run 2 "$W" show zz; contains "$ERR" "expected a seq number or a 64-digit hex id"
  # stdin input
  echo '{"origin":"agent.a","kind":"k","payload":{}}' >"$TMP/one.jsonl"
  run_in 0 "$TMP/one.jsonl" "$W" append -; run 0 "$W" stats --json; contains "$OUT" '"size":4'
}

case_query() {
  sample; run 0 "$W" init; run 0 "$W" append "$TMP/sample.jsonl"
  run 0 "$W" query --kind agent.action --json; lines "$OUT" 2
  run 0 "$W" query --kind agent.action --walk run-1 --json; lines "$OUT" 1; contains "$OUT" '"seq":1'
  run 0 "$W" query --tag dns --json; lines "$OUT" 1; contains "$OUT" '"seq":0'
  run 0 "$W" query --since 2026-11-22T10:00:01Z --until 2026-11-22T10:00:02Z --json; lines "$OUT" 1
  run 0 "$W" query --newest-first --limit 2 --json; lines "$OUT" 3; contains "$OUT" '{"next_cursor":"s1"}'
  head -1 <<<"$OUT" | grep -q '"seq":2' || fail "newest first must start at seq 2"
  run 0 "$W" query --newest-first --limit 2 --cursor s1 --json; lines "$OUT" 1; contains "$OUT" '"seq":0'
  run 0 "$W" query --from-seq 1 --to-seq 1 --json; lines "$OUT" 1
  run 0 "$W" query --origin nobody; [ -z "$OUT" ] || fail "expected no output"
  run 2 "$W" query --cursor bad; contains "$ERR" "--cursor"
  run 2 "$W" query --since later; contains "$ERR" "--since: expected nanoseconds"
  run 2 "$W" query --since 2026-11-23T00:00:00Z --until 2026-11-22T00:00:00Z; contains "$ERR" "later than"
  run 2 "$W" query --limit 0; contains "$ERR" "limit must be at least 1"
  # Negative and overflowing numbers are refused, naming the option (they wrapped modulo 2^64).
  run 2 "$W" query --limit -1; contains "$ERR" "--limit"; contains "$ERR" 'non-negative integer, got "-1"'
  run 2 "$W" query --from-seq 18446744073709551616; contains "$ERR" "larger than 18446744073709551615"
  run 2 "$W" proof inclusion -1; contains "$ERR" 'non-negative integer, got "-1"'
  run 2 "$W" proof consistency 5 99999999999999999999999; contains "$ERR" "larger than"
  run 2 "$W" proof inclusion 1x; contains "$ERR" 'got "1x"'
  run 2 "$W" gen-traffic --seed -5; contains "$ERR" "--seed"
}

case_lineage() {
  sample; run 0 "$W" init; run 0 "$W" append "$TMP/sample.jsonl"
  run 0 "$W" lineage 2 --ancestors --json; lines "$OUT" 2; contains "$OUT" '"relation":"fulfills"'
  run 0 "$W" lineage 2 --ancestors --depth 1 --json; lines "$OUT" 1
  run 0 "$W" lineage 0 --descendants; contains "$OUT" "<-causes 1"; contains "$OUT" "<-fulfills 2"
  run 2 "$W" lineage 0 --ancestors --descendants
  run 2 "$W" lineage 0 --depth 0
}

case_replay_and_export() {
  sample; run 0 "$W" init; run 0 "$W" append "$TMP/sample.jsonl"
  run 0 "$W" replay --verify --json; lines "$OUT" 4; contains "$OUT" '"chain_verified":true'
  run 0 "$W" replay --from-seq 1 --quiet; contains "$ERR" "replayed 2 entries"
  run 0 "$W" export --out "$TMP/a.jsonl"; contains "$ERR" "exported 3"
  run 0 "$W" export; [ "$OUT" = "$(cat "$TMP/a.jsonl")" ] || fail "stdout export differs from --out"
  run 0 "$W" init --ledger "$TMP/b"
  run 0 "$W" import "$TMP/a.jsonl" --ledger "$TMP/b"; contains "$OUT" "imported 3 entries"
  run 0 "$W" export --ledger "$TMP/b" --out "$TMP/b.jsonl"
  cmp -s "$TMP/a.jsonl" "$TMP/b.jsonl" || fail "export of the import differs"
  # A changed byte fails the id check and imports nothing.
  sed 's/10.0.0.7/10.0.0.8/' "$TMP/a.jsonl" >"$TMP/bad.jsonl"
  run 0 "$W" init --ledger "$TMP/c"
  run 2 "$W" import "$TMP/bad.jsonl" --ledger "$TMP/c"; contains "$ERR" "line 1: id: does not match"
  run 0 "$W" stats --ledger "$TMP/c" --json; contains "$OUT" '"size":0'
  run 2 "$W" import "$TMP/missing.jsonl" --ledger "$TMP/c"; contains "$ERR" "cannot open"
  # The gate policy is one (covenant::PolicyAppender): an explicit --no-gate is recorded by
  # import as by append, even on a ledger with no covenant; a bad input records nothing.
  run 2 "$W" import "$TMP/bad.jsonl" --ledger "$TMP/c" --no-gate
  run 0 "$W" stats --ledger "$TMP/c" --json; contains "$OUT" '"size":0'
  run 0 "$W" import "$TMP/a.jsonl" --ledger "$TMP/c" --no-gate --bypass-note "copy"
  contains "$ERR" "recorded as covenant.bypass at seq 0"
  run 0 "$W" query --ledger "$TMP/c" --kind covenant.bypass --json; lines "$OUT" 1
  contains "$OUT" '"note":"copy"'
}

# Every bad line exits 2 with "line N: <field>: <what>" and leaves the ledger unchanged.
case_bad_input() {
  sample; run 0 "$W" init; run 0 "$W" append "$TMP/sample.jsonl"
  before=$(snapshot)
  check_bad() {  # check_bad EXPECTED_MESSAGE LINE...
    local want="$1"; shift
    printf '%s\n' '{"origin":"agent.ok","kind":"fine","payload":{}}' "$@" >"$TMP/bad.jsonl"
    run 2 "$W" append "$TMP/bad.jsonl"; contains "$ERR" "$want"
    [ "$(snapshot)" = "$before" ] || fail "ledger changed after: $want"
  }
  check_bad "line 2: invalid JSON: at byte 11" '{"origin": }'
  check_bad "line 2: origin: missing" '{"kind":"k"}'
  check_bad "line 2: kind: missing" '{"origin":"a"}'
  check_bad "line 2: origin: invalid character ' '" '{"origin":"a b","kind":"k"}'
  # Input lines are capped (8 MiB): found at the cap, before the rest is read; /dev/zero is
  # one endless line (it grew memory without an error).
  run 2 timeout 60 "$W" append /dev/zero; contains "$ERR" "line 1: longer than 8 MiB (the input line cap)"
  run 2 timeout 60 "$W" append --stream /dev/zero; contains "$ERR" "longer than 8 MiB"
  run 0 "$W" init --ledger "$TMP/other"
  run 2 timeout 60 "$W" import /dev/zero --ledger "$TMP/other"; contains "$ERR" "longer than 8 MiB"
  [ "$(snapshot)" = "$before" ] || fail "ledger changed after an over-long line"
  # Every node the ledger accepts must export and import: timestamps within 1678..2261.
  check_bad "line 2: timestamp: -9223372036854775807 ns is outside 1678-01-01T00:00:00Z.." '{"origin":"a","kind":"k","timestamp":-9223372036854775807}'
  check_bad "line 2: timestamp: " '{"origin":"a","kind":"k","timestamp":"1677-12-31T23:59:59Z"}'
  check_bad "line 2: origin: invalid character '\\xc3' at byte 3" '{"origin":"caf\u00e9","kind":"k"}'
  check_bad "line 2: payload: expected a JSON object, got array" '{"origin":"a","kind":"k","payload":[1]}'
  check_bad "line 2: timestamp: invalid RFC 3339" '{"origin":"a","kind":"k","timestamp":"noon"}'
  check_bad "line 2: timestamp: expected an integer number of nanoseconds" '{"origin":"a","kind":"k","timestamp":1.5}'
  check_bad "line 2: links[0].target: seq:42: no such entry" '{"origin":"a","kind":"k","links":[{"relation":"causes","target":"seq:42"}]}'
  check_bad "line 2: links[0].target: line:3 is not an earlier line" '{"origin":"a","kind":"k","links":[{"relation":"causes","target":"line:3"}]}'
  check_bad "line 2: links: target 00000000" '{"origin":"a","kind":"k","links":[{"relation":"causes","target":"0000000000000000000000000000000000000000000000000000000000000000"}]}'
  check_bad "line 2: links: target" '{"origin":"a","kind":"k","timestamp":0,"links":[{"relation":"causes","target":"seq:0"}]}'
  check_bad "line 2: links[0].relation: unknown relation" '{"origin":"a","kind":"k","links":[{"relation":"likes","target":"seq:0"}]}'
  check_bad "line 2: colour: unknown field" '{"origin":"a","kind":"k","colour":1}'
  check_bad "line 2: tags: duplicate tag" '{"origin":"a","kind":"k","tags":["x","x"]}'
  check_bad "line 2: invalid JSON: at byte 36: duplicate key \"kind\"" '{"origin":"a","kind":"k","kind":"j"}'
  check_bad "line 2: empty line" ''
  run 2 "$W" append "$TMP/absent.jsonl"; contains "$ERR" "cannot open"
  run 2 "$W" append --durability eventually "$TMP/sample.jsonl"; contains "$ERR" "--durability"
  [ "$(snapshot)" = "$before" ] || fail "ledger changed"
}

case_stream() {
  run 0 "$W" init
  printf '%s\n' '{"origin":"a","kind":"k","payload":{"i":1}}' '{"origin":"a"}' \
    '{"origin":"a","kind":"k","links":[{"relation":"causes","target":"line:1"}]}' \
    '{"origin":"a","kind":"k","links":[{"relation":"causes","target":"seq:77"}]}' >"$TMP/s.jsonl"
  run 2 "$W" append --stream --durability sync "$TMP/s.jsonl"
  lines "$OUT" 2; contains "$OUT" '{"seq":0,"id":"'; contains "$OUT" '{"seq":1,"id":"'
  contains "$ERR" "line 2: kind: missing"; contains "$ERR" "line 4: links[0].target: seq:77"
  run 0 "$W" replay --verify --quiet; contains "$ERR" "replayed 2 entries; hash chain verified"
}

case_tamper() {
  command -v ldb >/dev/null || { echo "ldb not installed: skipping" >&2; exit 0; }
  sample; run 0 "$W" init; run 0 "$W" append "$TMP/sample.jsonl"
  run 0 "$W" replay --verify --quiet
  # The directory is a plain RocksDB database: RocksDB's own ldb reads it.
  ldb --db="$WITNESS_LEDGER" scan --hex >"$TMP/scan" || fail "ldb cannot read the ledger"
  # The three lines were one batch: one entry bundle segment 'b' 0 = u16 count, then each entry
  # as u32 length + stored bytes, then the chain. Change the second-to-last byte of entry 1.
  key=$(grep -i '^0x620000000000000000 ' "$TMP/scan" | cut -d' ' -f1)
  val=$(grep -i '^0x620000000000000000 ' "$TMP/scan" | cut -d' ' -f3)
  [ -n "$key" ] || fail "bundle segment 0 not found by ldb"
  val=${val#0x}
  [ "${val:0:4}" = "0003" ] || fail "bundle segment 0 does not hold 3 entries: ${val:0:4}"
  pos=$((4 + 8 + 2 * 16#${val:4:8}))          # entry 1's length
  at=$((pos + 8 + 2 * 16#${val:pos:8} - 4))   # its second-to-last byte
  bad="0x${val:0:at}$( [ "${val:at:2}" = "00" ] && echo 01 || echo 00 )${val:at+2}"
  ldb --db="$WITNESS_LEDGER" put --hex "$key" "$bad" >/dev/null || fail "ldb put failed"
  run 1 "$W" replay --verify --quiet; contains "$ERR" "seq 1: node bytes do not match leaf hash"
  run 1 "$W" verify; contains "$OUT" "verification FAILED: seq 1:"
  run 1 "$W" verify --json; contains "$OUT" '"ok":false'; contains "$OUT" '"seq":1'
}

case_verify() {
  sample; run 0 "$W" init; run 0 "$W" verify; contains "$OUT" "verified 0 entries"
  run 0 "$W" append "$TMP/sample.jsonl"
  run 0 "$W" verify; contains "$OUT" "verified 3 entries"
  run 0 "$W" verify --json; contains "$OUT" '"ok":true'; contains "$OUT" '"entries":3'
  root=$(sed -n 's/.*"merkle_root":"\([0-9a-f]*\)".*/\1/p' <<<"$OUT")
  run 0 "$W" stats --json; contains "$OUT" "$root"
}

case_proof() {
  sample; run 0 "$W" init; run 0 "$W" append "$TMP/sample.jsonl"
  run 0 "$W" proof inclusion 1 --size 2; echo "$OUT" >"$TMP/inc.json"; contains "$OUT" '"treeSize":2'
  run 0 "$W" proof check "$TMP/inc.json"; contains "$OUT" "inclusion proof verified"
  run 0 "$W" proof inclusion 0; echo "$OUT" >"$TMP/inc0.json"
  run 0 "$W" proof consistency 1 3; echo "$OUT" >"$TMP/cons.json"
  run 0 "$W" proof check "$TMP/cons.json" --json; contains "$OUT" '"verified":true'
  # A proof for another leaf, or a tampered one, does not verify: exit 1.
  sed 's/"leafIdx":0/"leafIdx":1/' "$TMP/inc0.json" >"$TMP/wrong.json"
  run 1 "$W" proof check "$TMP/wrong.json"; contains "$OUT" "does NOT verify"
  # Malformed files: exit 2.
  echo '{"leafIdx":0}' >"$TMP/malformed.json"
  run 2 "$W" proof check "$TMP/malformed.json"; contains "$ERR" "treeSize: missing"
  run 2 "$W" proof check "$TMP/none.json"; contains "$ERR" "cannot open"
  run 2 "$W" proof inclusion 3; contains "$ERR" "seq 3 is not below tree size 3"
  run 2 "$W" proof consistency 3 2; contains "$ERR" "larger than"
  run 2 "$W" proof consistency 0 2; contains "$ERR" "nothing to prove"
  # Fields a verifier would ignore are refused, naming the field.
  sed 's/}$/,"extra":1}/' "$TMP/inc0.json" >"$TMP/extra.json"
  run 2 "$W" proof check "$TMP/extra.json"; contains "$ERR" "extra: not a field of this proof"
  # Every inclusion and consistency vector of transparency-dev/merkle (tests/data/merkle): exit
  # 0 exactly where the reference verifier accepts ("wantErr": false); a refused vector exits 1
  # (does not verify) or 2 (a leaf hash that is not 32 bytes: malformed).
  local vectors="$SRC/tests/data/merkle" n=0 accepted=0 f code
  [ -d "$vectors" ] || fail "vectors not found at $vectors"
  while IFS= read -r f; do
    "$W" proof check "$f" >/dev/null 2>&1; code=$?
    if grep -q '"wantErr": false' "$f"; then
      [ "$code" = 0 ] || fail "exit $code on an accepted vector: $f"
      accepted=$((accepted + 1))
    else
      [ "$code" = 1 ] || [ "$code" = 2 ] || fail "exit $code on a refused vector: $f"
    fi
    n=$((n + 1))
  done < <(find "$vectors" -name '*.json' | sort)
  [ "$n" = 196 ] && [ "$accepted" = 12 ] || fail "$n vectors, $accepted accepted (want 196, 12)"
}

case_checkpoint() {
  sample; run 0 "$W" init; contains "$OUT" "checkpoint key: witness.ledger/"
  key_mode=$(stat -c %a "$WITNESS_LEDGER/witness-signing.key"); [ "$key_mode" = 600 ] || fail "key mode $key_mode"
  run 0 "$W" append "$TMP/sample.jsonl"
  run 0 "$W" checkpoint; echo "$OUT" >"$TMP/cp.txt"; contains "$OUT" $'\n3\n'
  grep -q "BEGIN PRIVATE KEY" <<<"$OUT" && fail "checkpoint printed the private key"
  run 0 "$W" checkpoint --public-key; echo "$OUT" >"$TMP/pub.txt"
  run 0 "$W" checkpoint verify "$TMP/cp.txt" --public-key "$TMP/pub.txt"; contains "$OUT" "size 3"
  run 0 "$W" checkpoint verify "$TMP/cp.txt" --public-key "$(cat "$TMP/pub.txt")" --json; contains "$OUT" '"verified":true'
  sed 's/^3$/2/' "$TMP/cp.txt" >"$TMP/forged.txt"
  run 1 "$W" checkpoint verify "$TMP/forged.txt" --public-key "$TMP/pub.txt"; contains "$OUT" "does NOT verify"
  run 2 "$W" checkpoint verify "$TMP/cp.txt" --public-key "bad key"; contains "$ERR" "public key"
  echo "garbage" >"$TMP/garbage.txt"
  run 2 "$W" checkpoint verify "$TMP/garbage.txt" --public-key "$TMP/pub.txt"; contains "$ERR" "note"
  run 0 "$W" checkpoint list; contains "$OUT" "witness.ledger/"
  run 0 "$W" verify; contains "$OUT" "1 signed checkpoints"
  # Signatures are checked with a given public key; with no key at all, verify says it did not.
  run 0 "$W" verify --public-key "$TMP/pub.txt"; contains "$OUT" "1 signed checkpoints"
  run 0 "$W" verify --public-key "$(cat "$TMP/pub.txt")" --json; contains "$OUT" '"signatures_checked":true'
  run 2 "$W" verify --public-key "nonsense"; contains "$ERR" "--public-key"
  # Reading needs no private key: a user who may read the ledger but not its 0600 key.
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod a+rx "$TMP"; chmod -R a+rX "$WITNESS_LEDGER"; chmod 600 "$WITNESS_LEDGER/witness-signing.key"
    local as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    run 0 "${as_nobody[@]}" "$W" stats
    run 0 "${as_nobody[@]}" "$W" query --json; lines "$OUT" 3
    run 0 "${as_nobody[@]}" "$W" verify; contains "$OUT" "signatures NOT checked"
    run 0 "${as_nobody[@]}" "$W" verify --public-key "$(cat "$TMP/pub.txt")"
    contains "$OUT" "1 signed checkpoints"
  fi
  mv "$WITNESS_LEDGER/witness-signing.key" "$TMP/moved.key"
  run 0 "$W" verify --json; contains "$OUT" '"signatures_checked":false'
}

case_laws() {
  run 0 "$W" laws --help; contains "$OUT" "--suite"; contains "$OUT" "--seed"
  run 0 "$W" laws --list
  for s in pipeline agent covenant-meet trace-path; do contains "$OUT" "$s:"; done
  contains "$OUT" "equivariance"
  run 0 "$W" laws --seed 42 --cases 50
  contains "$OUT" "passed  sequential-associativity"; contains "$OUT" "0 failed"
  # The same seed gives the same report.
  local first="$OUT"
  run 0 "$W" laws --seed 42 --cases 50; [ "$OUT" = "$first" ] || fail "same seed, different report"
  # A fresh seed is printed with each result when none is given.
  run 0 "$W" laws --suite trace-path --law left-identity; contains "$OUT" "seed "
  run 0 "$W" laws --suite pipeline --suite trace-path --law right-identity --json; lines "$OUT" 2
  contains "$OUT" '"suite":"pipeline","law":"right-identity"'; contains "$OUT" '"result":"passed"'
  # --law alone selects the suites that have it.
  run 0 "$W" laws --law meet-idempotence --json; lines "$OUT" 1
  # Bad input names what is wrong.
  run 2 "$W" laws --suite nope; contains "$ERR" "no suite nope"; contains "$ERR" "pipeline"
  run 2 "$W" laws --suite trace-path --law parallel-associativity; contains "$ERR" "has no law"
  run 2 "$W" laws --law no-such-law; contains "$ERR" "no suite has a law"
  run 2 "$W" laws --cases 0
  # Verdicts land in the ledger as law.verdict nodes from witness.laws.
  run 0 "$W" init
  run 0 "$W" laws --suite covenant-meet --seed 7 --ledger "$TMP/ledger"
  contains "$OUT" "recorded 11 law.verdict nodes"
  run 0 "$W" query --origin witness.laws --kind law.verdict --json; lines "$OUT" 11
  contains "$OUT" '"seed":"7"'; contains "$OUT" '"law:meet-idempotence"'
  run 0 "$W" verify
  # Without a ledger there is nothing to record into: the run still reports, then exit 2.
  run 2 "$W" laws --suite trace-path --ledger "$TMP/missing"; contains "$OUT" "3 laws passed"
}

case_agents() {
  local ex="$SRC/examples/agents"
  run 0 "$W" agents --help; contains "$OUT" "register"; contains "$OUT" "revoke"
  run 0 "$W" init
  # A bad manifest names the line and the field, and records nothing.
  printf 'id: bad\nversion: "1"\ndescription: d\ncapabilities: [ledger.append]\npermissions:\n  - permit ledger.append kind=agent.*\nbudgets: {calls: -3}\n' >"$TMP/bad.yaml"
  local before; before=$(snapshot)
  run 2 "$W" agents register "$TMP/bad.yaml"; contains "$ERR" "line 7"; contains "$ERR" "calls"
  run 2 "$W" agents register "$TMP/nope.yaml"; contains "$ERR" "cannot open"
  [ "$(snapshot)" = "$before" ] || fail "a refused manifest changed the ledger"
  run 0 "$W" agents register "$ex/alert-triage.yaml"; contains "$OUT" "registered alert.triage@1.2.0"
  run 0 "$W" agents register "$ex/assistant.yaml" --issuer secops --json
  contains "$OUT" '"covenant":"assistant@0.4.1"'
  run 2 "$W" agents register "$ex/assistant.yaml"; contains "$ERR" "already granted"
  run 0 "$W" agents list; lines "$OUT" 2; contains "$OUT" "issuer=secops"; contains "$OUT" "in force"
  run 0 "$W" query --kind covenant.grant --json; lines "$OUT" 2; contains "$OUT" '"origin":"witness.covenant"'
  # gate explain: allowed, forbidden by a rule, not permitted, over budget, no covenant.
  run 0 "$W" gate explain alert.triage ledger.append kind=agent.action
  contains "$OUT" "allowed by alert.triage@1.2.0: permit ledger.append kind=agent.*"
  run 1 "$W" gate explain alert.triage ledger.append kind=agent.note,tag=pii
  contains "$OUT" "denied (forbidden)"; contains "$OUT" "forbid ledger.append tag=pii"
  run 1 "$W" gate explain alert.triage tool.call --kind firewall.flush; contains "$OUT" "forbid tool.call kind=firewall.flush"
  run 1 "$W" gate explain assistant ledger.append kind=agent.action; contains "$OUT" "not-permitted"
  run 1 "$W" gate explain assistant model.query kind=small-llm --tokens 600000 --json
  contains "$OUT" '"reason":"over-budget"'; contains "$OUT" "tokens"
  run 1 "$W" gate explain nobody ledger.append kind=agent.action; contains "$OUT" "holds no covenant"
  run 2 "$W" gate explain alert.triage ledger.append colour=red; contains "$ERR" "unknown field"
  # Revocation is recorded and denies from then on.
  run 2 "$W" agents revoke no.such@1; contains "$ERR" "no covenant no.such@1"
  run 0 "$W" agents revoke alert.triage@1.2.0 --reason "compromised"; contains "$OUT" "revoked alert.triage@1.2.0"
  run 1 "$W" gate explain alert.triage ledger.append kind=agent.action; contains "$OUT" "denied (revoked)"
  run 0 "$W" agents list --json; contains "$OUT" '"state":"revoked"'
  run 0 "$W" query --kind covenant.revoke --json; contains "$OUT" '"reason":"compromised"'
  run 0 "$W" verify
}

# A manifest for a small agent: `manifest ID CALLS [public_key line]`.
manifest() {
  printf 'id: %s\nversion: "1"\ndescription: test agent\ncapabilities: [ledger.append]\npermissions:\n  - permit ledger.append kind=agent.*\nbudgets: {calls: %s}\n%s\n' "$1" "$2" "${3:-}" >"$TMP/$1.yaml"
}
line() { echo "{\"origin\":\"$1\",\"kind\":\"$2\",\"payload\":{\"n\":$3}}"; }

case_gate() {
  run 0 "$W" init
  # No covenant yet: appends are ungated.
  line agent.free agent.action 1 >"$TMP/free.jsonl"
  run_in 0 "$TMP/free.jsonl" "$W" append
  run 0 "$W" append --help; contains "$OUT" "--no-gate"
  manifest agent.small 3; run 0 "$W" agents register "$TMP/agent.small.yaml"
  # From now on the gate is on: allowed, then refused with the denial recorded and nothing else.
  line agent.small agent.action 1 >"$TMP/ok.jsonl"
  run_in 0 "$TMP/ok.jsonl" "$W" append
  line agent.small detector.alert 2 >"$TMP/bad.jsonl"
  run_in 1 "$TMP/bad.jsonl" "$W" append; contains "$ERR" "refused: denied (not-permitted)"
  contains "$ERR" "covenant.denial at seq"
  run_in 1 "$TMP/free.jsonl" "$W" append; contains "$ERR" "no-covenant"
  run 0 "$W" query --kind covenant.denial --json; lines "$OUT" 2
  contains "$OUT" '"subject":"agent.small"'; contains "$OUT" '"origin":"witness.gate"'
  run 0 "$W" query --origin agent.small --kind detector.alert --json; [ -z "$OUT" ] || fail "refused node appended"
  # Atomic: one refused line and the allowed ones stay out too.
  { line agent.small agent.action 3; line agent.small detector.alert 4; } >"$TMP/mixed.jsonl"
  run_in 1 "$TMP/mixed.jsonl" "$W" append; contains "$ERR" "appended nothing: 1 of 2"
  run 0 "$W" query --origin agent.small --json; lines "$OUT" 1
  # Streamed: the allowed line goes in, the refused one is skipped.
  run_in 1 "$TMP/mixed.jsonl" "$W" append --stream; lines "$OUT" 1; contains "$ERR" "line 2: refused"
  # Budget across processes: calls 3, two spent; the next goes in, then over-budget.
  line agent.small agent.action 5 >"$TMP/b1.jsonl"; line agent.small agent.action 6 >"$TMP/b2.jsonl"
  run_in 0 "$TMP/b1.jsonl" "$W" append
  run_in 1 "$TMP/b2.jsonl" "$W" append; contains "$ERR" "over-budget: calls"
  run 0 "$W" query --origin agent.small --json; lines "$OUT" 3
  run 0 "$W" query --kind covenant.lease --json; contains "$OUT" '"covenant":"agent.small@1"'
  # witness's own origins are not writable through append, gated or not.
  echo '{"origin":"witness.covenant","kind":"covenant.grant","payload":{}}' >"$TMP/forge.jsonl"
  before=$(snapshot)
  run_in 2 "$TMP/forge.jsonl" "$W" append --no-gate; contains "$ERR" "reserved for witness"
  [ "$(snapshot)" = "$before" ] || fail "refused input changed the ledger"
  # --no-gate appends, and the bypass is recorded with who ran it.
  run_in 0 "$TMP/b2.jsonl" env USER=mallory "$W" append --no-gate --bypass-note "incident 7"
  contains "$ERR" "covenant.bypass at seq"
  run 0 "$W" query --kind covenant.bypass --json; contains "$OUT" '"who":"mallory"'; contains "$OUT" "incident 7"
  run 2 "$W" append --gate --no-gate "$TMP/b2.jsonl"; contains "$ERR" "contradict"
  # import would bypass the gate too: refused unless --no-gate, which is recorded.
  echo '{"origin":"agent.x","kind":"agent.action","timestamp":1,"payload":{}}' >"$TMP/x.jsonl"
  "$W" init --ledger "$TMP/scratch" >/dev/null; "$W" append "$TMP/x.jsonl" --ledger "$TMP/scratch" >/dev/null 2>&1
  "$W" export --ledger "$TMP/scratch" --out "$TMP/x-export.jsonl" 2>/dev/null
  run 2 "$W" import "$TMP/x-export.jsonl"; contains "$ERR" "would bypass the gate"
  run 0 "$W" import "$TMP/x-export.jsonl" --no-gate; contains "$OUT" "imported 1 entries"
  run 0 "$W" query --kind covenant.bypass --json; lines "$OUT" 2; contains "$OUT" "witness import"
  # Signed agents: keygen, a manifest binding the key, unsigned and wrongly signed refused.
  run 0 "$W" keygen "$TMP/signer.pem"; contains "$OUT" "public_key: "
  local pk; pk=$(sed -n 's/^public_key: \([0-9a-f]*\).*/\1/p' <<<"$OUT")
  [ "$(stat -c %a "$TMP/signer.pem")" = 600 ] || fail "key file not mode 600"
  run 2 "$W" keygen "$TMP/signer.pem"
  run 0 "$W" keygen "$TMP/other.pem"
  manifest agent.signer 100 "public_key: $pk"; run 0 "$W" agents register "$TMP/agent.signer.yaml"
  run 0 "$W" agents list; contains "$OUT" "signed"
  line agent.signer agent.action 7 >"$TMP/s.jsonl"
  run_in 1 "$TMP/s.jsonl" "$W" append; contains "$ERR" "denied (unsigned)"
  run_in 0 "$TMP/s.jsonl" "$W" sign --key "$TMP/other.pem"; echo "$OUT" >"$TMP/forged.jsonl"
  run_in 1 "$TMP/forged.jsonl" "$W" append; contains "$ERR" "denied (bad-signature)"
  run_in 0 "$TMP/s.jsonl" "$W" sign --key "$TMP/signer.pem"; echo "$OUT" >"$TMP/signed.jsonl"
  contains "$OUT" '"signature":"'
  run_in 0 "$TMP/signed.jsonl" "$W" append --json; contains "$OUT" '"seq":'
  run 2 "$W" sign --key "$TMP/absent.pem" "$TMP/s.jsonl"
  # Revocation: refused from then on.
  run 0 "$W" agents revoke agent.small@1
  line agent.small agent.action 8 >"$TMP/r.jsonl"
  run_in 1 "$TMP/r.jsonl" "$W" append; contains "$ERR" "revoked"
  run 0 "$W" verify
}

case_gen_traffic() {
  run 0 "$W" gen-traffic --list; contains "$OUT" "challenge  (48750 packets)"; contains "$OUT" "pattern-only"
  run 0 "$W" gen-traffic --scenario challenge --seed 7 --out "$TMP/a.jsonl"
  [ "$(wc -l <"$TMP/a.jsonl")" = 48750 ] || fail "challenge is 48750 packets"
  run 0 "$W" gen-traffic --scenario challenge --seed 7 --out "$TMP/b.jsonl"
  cmp -s "$TMP/a.jsonl" "$TMP/b.jsonl" || fail "same seed, different packets"
  run 0 "$W" gen-traffic --scenario challenge --seed 8 --out "$TMP/c.jsonl"
  ! cmp -s "$TMP/a.jsonl" "$TMP/c.jsonl" || fail "different seeds, same packets"
  contains "$(head -1 "$TMP/a.jsonl")" '"label":{"phase":"warm-up","attack":false}'
  run 0 "$W" gen-traffic --scenario ramp --strip-labels; ! grep -q label <<<"$OUT" || fail "labels left in"
  contains "$(head -1 <<<"$OUT")" '"ts":1795338000'
  run 2 "$W" gen-traffic --scenario nope; contains "$ERR" "known: challenge"
  run 2 "$W" gen-traffic; contains "$ERR" "--scenario is required"
  run 2 "$W" gen-traffic --scenario ramp --start yesterday
}

case_detect() {
  run 0 "$W" init
  # The icmp-flood timeline counts its warm-up in records (300), not seconds.
  run 0 "$W" gen-traffic --scenario icmp-flood --seed 3 --out "$TMP/p.jsonl"
  run 0 "$W" detect --record-inputs --json --warmup-seconds 0 "$TMP/p.jsonl"
  python3 - "$OUT" <<'PY' || fail "report: $OUT"
import json, sys
r = json.loads(sys.argv[1])
assert r["records"] == 15600 and r["scored"] == 15300, r
assert r["recall"] >= 0.99, r
assert [p["phase"] for p in r["phases"]] == ["warm-up", "icmp", "recovery"], r["phases"]
a = r["alerts"][0]
assert any(k["key"] == "server|service=10.1.0.5|icmp" for k in a["keys"]), a
assert any(e["field"] == "client" and e["value"].startswith("100.64.") for e in a["explanation"]), a
assert len(r["run"]) == 64
PY
  local run_id
  run_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["run"])' "$OUT")
  # The run, its inputs and its alerts are in the ledger; alerts link to the run.
  run 0 "$W" query --kind detector.run --json; lines "$OUT" 1; contains "$OUT" '"input_sha256":"'
  run 0 "$W" query --kind detector.input --json; lines "$OUT" 15600
  run 0 "$W" lineage "$run_id" --descendants; contains "$OUT" "detector.alert"
  run 0 "$W" replay --rerun "$run_id"; contains "$OUT" "identical"
  run 0 "$W" verify
  # Alerts removed from a copy of the ledger: the rerun names what diverges, exit 1.
  run 0 "$W" export; grep -v '"detector.alert"' <<<"$OUT" >"$TMP/cut.jsonl"
  run 0 "$W" init --ledger "$TMP/copy"
  # witness's own records (witness.detector) come back only with --restore, recorded first as
  # a covenant.bypass: a forged witness.* line in an import file must not go in unseen.
  run 2 "$W" import --ledger "$TMP/copy" "$TMP/cut.jsonl"
  contains "$ERR" "restored only with --restore"; contains "$ERR" "origin witness.detector is reserved"
  run 0 "$W" stats --ledger "$TMP/copy" --json; contains "$OUT" '"size":0'
  run 0 "$W" import --restore --bypass-note "cut copy" --ledger "$TMP/copy" "$TMP/cut.jsonl"
  run 0 "$W" query --ledger "$TMP/copy" --kind covenant.bypass --json; lines "$OUT" 1
  contains "$OUT" '"seq":0'; contains "$OUT" "--restore"; contains "$OUT" "cut copy"
  run 1 "$W" replay --ledger "$TMP/copy" --rerun "$run_id"; contains "$OUT" "only in the rerun"
  contains "$OUT" "DIVERGED"
  # A run without its inputs can't be re-executed; ids that aren't runs are refused.
  run 0 "$W" detect --alpha 0.02 --warmup-seconds 0 "$TMP/p.jsonl"; contains "$OUT" "run "
  local plain
  plain=$("$W" query --kind detector.run --json | tail -1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["id"])')
  run 2 "$W" replay --rerun "$plain"; contains "$ERR" "did not record its inputs"
  run 2 "$W" replay --rerun nothex; contains "$ERR" "not a node id"
  # Stdin, no ledger, a plain report with the per-phase table.
  run_in 0 "$TMP/p.jsonl" "$W" detect --no-record --report --warmup-seconds 0 -; contains "$OUT" "icmp"
  contains "$OUT" "recall"; ! grep -q "^run " <<<"$OUT" || fail "--no-record recorded a run"
  # Bad input: the line is named and nothing is written.
  local before
  before=$("$W" stats --json | grep -o '"size":[0-9]*,"chain_head":"[0-9a-f]*"')
  { head -400 "$TMP/p.jsonl"; echo '{"ts":"late"}'; } >"$TMP/bad.jsonl"
  run 2 "$W" detect --record-inputs "$TMP/bad.jsonl"; contains "$ERR" "line 401"
  [ "$("$W" stats --json | grep -o '"size":[0-9]*,"chain_head":"[0-9a-f]*"')" = "$before" ] ||
    fail "a bad input changed the ledger"
  run 2 "$W" detect --alpha 0.0001 "$TMP/p.jsonl"; contains "$ERR" "alpha"
  run 2 "$W" detect --no-record --record-inputs "$TMP/p.jsonl"; contains "$ERR" "--record-inputs needs a ledger"
  head -10 "$TMP/p.jsonl" >"$TMP/short.jsonl"
  run 0 "$W" detect --no-record "$TMP/short.jsonl"; contains "$ERR" "fewer than the warm-up"
  # Captures: a pcap written by hand, read as packets and flows, labelled from windows.
  python3 - "$TMP/one.pcap" <<'PY'
import struct, sys
frame = bytes(12) + b"\x08\x00" + bytes([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1,
                                        10, 0, 0, 2]) + struct.pack(">HH", 40000, 443) + bytes(8) + \
    bytes([0x50, 0x02]) + bytes(6)
pcap = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
for i in range(3):
    pcap += struct.pack("<IIII", 1800000000 + i, 0, len(frame), len(frame)) + frame
open(sys.argv[1], "wb").write(pcap)
PY
  run 0 "$W" pcap "$TMP/one.pcap"; lines "$OUT" 3; contains "$OUT" '"dst_port":443,"flags":"S"'
  contains "$ERR" "3 records from 3 frames"
  run 0 "$W" pcap --flows "$TMP/one.pcap"; lines "$OUT" 1; contains "$OUT" '"packets":3'
  echo '[{"phase":"scan","start_ns":0,"end_ns":"1800000001500000000","hosts":["10.0.0.1"]}]' >"$TMP/truth.json"
  run 0 "$W" pcap --truth "$TMP/truth.json" "$TMP/one.pcap"
  contains "$OUT" '"label":{"phase":"scan","attack":true}'; contains "$OUT" '"label":{"phase":"normal","attack":false}'
  run 0 "$W" detect --no-record --pcap "$TMP/one.pcap" --truth "$TMP/truth.json" --report
  contains "$ERR" "fewer than the warm-up"
  run 2 "$W" pcap "$TMP/nope.pcap"; contains "$ERR" "nope.pcap"
  run 2 "$W" pcap "$TMP/truth.json"; contains "$ERR" "truth.json"
  echo '[{"phase":"x"}]' >"$TMP/bad-truth.json"
  run 2 "$W" pcap --truth "$TMP/bad-truth.json" "$TMP/one.pcap"; contains "$ERR" "truth[0].start_ns"
  run 2 "$W" detect --no-record --pcap "$TMP/one.pcap" "$TMP/p.jsonl"; contains "$ERR" "either --pcap or an input"
  run 2 "$W" detect --no-record --flows "$TMP/p.jsonl"; contains "$ERR" "give --pcap"
}


case_hostile_json() {
  # --json output stays JSON whatever the strings in it (a path with a quote printed invalid JSON).
  local weird="$TMP/a \"quoted\" \\ path"
  run 0 "$W" init --json --ledger "$weird"
  python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert d["ledger"] == sys.argv[2], d' "$OUT" "$weird" \
    || fail "init --json is not JSON: $OUT"
  printf '%s\n' '{"origin":"a.b","kind":"k","walk":"w \"x\" \\ y","tags":["t\"1"],"payload":{"q":"\"\u0001"}}' >"$TMP/h.jsonl"
  run 0 "$W" append --ledger "$weird" "$TMP/h.jsonl"
  for cmd in "query" "show 0" "lineage 0 --descendants" "stats" "verify" "replay"; do
    # shellcheck disable=SC2086
    run 0 "$W" $cmd --json --ledger "$weird"
    python3 -c 'import json,sys; [json.loads(l) for l in sys.argv[1].splitlines() if l]' "$OUT" \
      || fail "$cmd --json is not JSON lines: $OUT"
  done
  run 0 "$W" proof inclusion 0 --ledger "$weird"; echo "$OUT" >"$TMP/p.json"
  sed 's/}$/,"a\\"b":1}/' "$TMP/p.json" >"$TMP/odd.json"
  run 2 "$W" proof check "$TMP/odd.json" --json
  # A path is bytes, not UTF-8: the output stays valid JSON (the bad byte as U+FFFD).
  local latin1
  latin1="$TMP/caf$(printf '\351')"
  run 0 "$W" init --json --ledger "$latin1"
  python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert d["ledger"].endswith("caf\ufffd"), d' "$OUT" \
    || fail "init --json on a non-UTF-8 path is not JSON: $OUT"
  # Law verdicts and gate decisions print through the same writer.
  run 0 "$W" laws --list --json
  python3 -c 'import json,sys; [json.loads(l) for l in sys.argv[1].splitlines() if l]' "$OUT" \
    || fail "laws --list --json is not JSON lines: $OUT"
  run 1 "$W" gate explain --ledger "$weird" 'x"y' ledger.append --json
  python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert d["allowed"] is False, d' "$OUT" \
    || fail "gate explain --json is not JSON: $OUT"
}

case_busy() {
  sample; run 0 "$W" init
  # A writer holds the ledger: `append --stream` waiting on a silent pipe.
  mkfifo "$TMP/feed"
  "$W" append --stream <"$TMP/feed" >/dev/null 2>&1 &
  local holder=$!
  exec 7>"$TMP/feed"  # keep the pipe open: the holder waits for lines
  # Wait until it holds RocksDB's LOCK (an fcntl lock, listed in /proc/locks with its pid).
  local tries=0
  until awk -v p="$holder" '$5 == p { found = 1 } END { exit !found }' /proc/locks; do
    tries=$((tries + 1)); [ $tries -lt 100 ] || fail "the stream appender never took the lock"
    sleep 0.1
  done
  # Its own exit status (3), and a message naming the holder.
  run 3 "$W" append "$TMP/sample.jsonl"
  contains "$ERR" "is in use by process $holder"; contains "$ERR" "--wait"
  # Reading takes no lock.
  run 0 "$W" stats
  # --wait waits for the writer to finish.
  ( sleep 1; exec 7>&-; ) &
  exec 7>&-
  run 0 "$W" append --wait 30 "$TMP/sample.jsonl"
  wait "$holder" 2>/dev/null
  # Many writers at once with --wait: all go in, none fails.
  local pids=() i
  for i in $(seq 1 12); do
    printf '{"origin":"agent.p%s","kind":"k","payload":{"i":%s}}\n' "$i" "$i" >"$TMP/p$i.jsonl"
    "$W" append --wait 60 "$TMP/p$i.jsonl" >/dev/null 2>"$TMP/p$i.err" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail "parallel append $i failed: $(cat "$TMP/p$((i + 1)).err")"; done
  run 0 "$W" stats --json; contains "$OUT" '"size":15'
  run 2 "$W" append --wait -1 "$TMP/sample.jsonl"
}

case_migrate() {
  # A format 1 ledger written by format 1 code (tests/data/v1-ledger/README.md has its figures).
  cp -r "$SRC/tests/data/v1-ledger" "$TMP/v1"; rm "$TMP/v1/README.md"
  local root=f30a4d88a46da79671afbe8a351d071297e39e35bd62a98741c584945838c722
  before=$(cd "$TMP/v1" && sha256sum ./* | sort)
  # Every command that opens it says what it is and what to do.
  run 2 "$W" stats --ledger "$TMP/v1"; contains "$ERR" "has format version 1"
  contains "$ERR" "witness migrate $TMP/v1 NEW_DIR"
  run 2 "$W" append --ledger "$TMP/v1" "$SRC/examples/agent_actions.jsonl"
  contains "$ERR" "witness migrate"
  run 0 "$W" migrate --help; contains "$OUT" "format 1"
  run 0 "$W" migrate "$TMP/v1" "$TMP/v2"
  contains "$OUT" "migrated 56 entries and 1 checkpoints"
  contains "$OUT" "merkle root, format 1: $root"; contains "$OUT" "merkle root, format 2: $root"
  [ "$before" = "$(cd "$TMP/v1" && sha256sum ./* | sort)" ] || fail "migrate changed the source"
  run 0 "$W" verify --ledger "$TMP/v2"; contains "$OUT" "verified 56 entries"
  contains "$OUT" "1 signed checkpoints"; contains "$OUT" "merkle root: $root"
  run 0 "$W" stats --ledger "$TMP/v2" --json; contains "$OUT" '"format_version":2'
  contains "$OUT" '"ledger_id":"5bd58a162ae3bb7f88e28e2c751b9dd9"'
  run 0 "$W" query --ledger "$TMP/v2" --origin alert.triage --json; contains "$OUT" '"origin":"alert.triage"'
  # Refusals: the destination in the way, a format 2 source, a missing source, a usage error.
  run 2 "$W" migrate "$TMP/v1" "$TMP/v2"; contains "$ERR" "exists"
  run 2 "$W" migrate "$TMP/v2" "$TMP/v3"; contains "$ERR" "format 2 ledger already"
  [ ! -e "$TMP/v3" ] || fail "a refused migrate left $TMP/v3 behind"
  run 2 "$W" migrate "$TMP/none" "$TMP/v4"; contains "$ERR" "no ledger at"
  run 2 "$W" migrate "$TMP/v1"
  run 0 "$W" migrate "$TMP/v1" "$TMP/v5" --json; contains "$OUT" '"verified":true'
  contains "$OUT" "\"merkle_root\":\"$root\""
}

# start_serve ARGS...: starts `witness serve --listen 127.0.0.1:0 ARGS` in the background and
# waits for its port: sets SERVE_PID and PORT; its output goes to $TMP/serve.out and .err.
start_serve() {
  "$W" serve --listen 127.0.0.1:0 "$@" >"$TMP/serve.out" 2>"$TMP/serve.err" &
  SERVE_PID=$! PORT=""
  for _ in $(seq 100); do
    PORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$TMP/serve.out")
    [ -n "$PORT" ] && break; sleep 0.05
  done
  [ -n "$PORT" ] || fail "no 'listening on' line: $(cat "$TMP/serve.err")"
}
# http_get URL: prints the body.
http_get() {
  python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$1"
}

case_serve() {
  sample
  run 0 "$W" init; run 0 "$W" append "$TMP/sample.jsonl"
  run 0 "$W" serve --help; contains "$OUT" "--listen"; contains "$OUT" "tlog-tiles"
  run 2 "$W" serve --listen nowhere; contains "$ERR" "--listen \"nowhere\": no port"
  run 2 "$W" serve --listen 127.0.0.1:70000; contains "$ERR" "port not in 0..65535"
  run 2 "$W" serve --listen ::1:80; contains "$ERR" "IPv6 address goes in brackets"
  run 2 "$W" serve --ledger "$TMP/none"; contains "$ERR" "no ledger at"
  # Serve on a free port; read the port from stdout; fetch; SIGTERM stops it with exit 0.
  start_serve
  local pid=$SERVE_PID port=$PORT body
  body=$(http_get "http://127.0.0.1:$port/v1/entries?origin=agent.triage")
  contains "$body" '"action":"block"'; contains "$body" '"next_cursor":null'
  # Appended by another process while serving: the server follows its writer.
  echo '{"origin":"agent.late","kind":"agent.action","payload":{"late":true}}' >"$TMP/late.jsonl"
  run 0 "$W" append "$TMP/late.jsonl"
  for _ in $(seq 100); do
    body=$(http_get "http://127.0.0.1:$port/v1/entries?origin=agent.late")
    grep -qF '"late":true' <<<"$body" && break; sleep 0.05
  done
  contains "$body" '"late":true'
  # A second server on the same port fails to start, naming it.
  run 3 "$W" serve --listen "127.0.0.1:$port"; contains "$ERR" "cannot listen on 127.0.0.1:$port"
  kill -TERM "$pid"; wait "$pid"; local code=$?
  [ "$code" = 0 ] || fail "serve exited $code after SIGTERM: $(cat "$TMP/serve.err")"
  contains "$(cat "$TMP/serve.err")" "SIGTERM, stopping"
  contains "$(cat "$TMP/serve.err")" "\"GET /v1/entries?origin=agent.triage\" 200"
}

case_serve_append() {
  # witness serve --allow-append: a signed node of a key-bound agent goes in over HTTP; an
  # unsigned one is refused (403) with its denial recorded; a read-only server refuses appends.
  run 0 "$W" init
  run 0 "$W" keygen "$TMP/signer.pem"
  local pk; pk=$(sed -n 's/^public_key: \([0-9a-f]*\).*/\1/p' <<<"$OUT")
  manifest agent.signer 100 "public_key: $pk"; run 0 "$W" agents register "$TMP/agent.signer.yaml"
  line agent.signer agent.action 1 >"$TMP/s.jsonl"
  run_in 0 "$TMP/s.jsonl" "$W" sign --key "$TMP/signer.pem"; echo "$OUT" >"$TMP/signed.jsonl"
  line agent.signer agent.action 2 >"$TMP/unsigned.jsonl"
  start_serve --allow-append
  local pid=$SERVE_PID port=$PORT
  post() {  # post FILE: prints "STATUS BODY"
    python3 - "http://127.0.0.1:$port/v1/append" "$1" <<'PY'
import sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="POST")
try:
    with urllib.request.urlopen(req) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
  }
  local answer
  answer=$(post "$TMP/signed.jsonl"); contains "$answer" '200 {"lines":1,"appended":1'
  answer=$(post "$TMP/unsigned.jsonl"); contains "$answer" '403 '; contains "$answer" 'denied (unsigned)'
  # The serving process holds the ledger for writing: a CLI append waits for it or says so.
  run 3 "$W" append "$TMP/unsigned.jsonl"; contains "$ERR" "in use by"
  kill -TERM "$pid"; wait "$pid" || fail "serve --allow-append exited $?"
  run 0 "$W" query --origin agent.signer --json; lines "$OUT" 1; contains "$OUT" '"signature":"'
  run 0 "$W" query --kind covenant.denial --json; lines "$OUT" 1; contains "$OUT" '"unsigned"'
  run 0 "$W" verify
}

"case_$CASE"
echo "ok [$CASE]"
