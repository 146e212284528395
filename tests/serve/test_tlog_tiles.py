"""An independent C2SP tlog-tiles client, written from the specs, against `witness serve`.

Specs: https://c2sp.org/tlog-tiles (tile and bundle paths, partial tiles), c2sp.org/tlog-checkpoint
and c2sp.org/signed-note (the checkpoint and its Ed25519 signature), RFC 6962 section 2.1 and
RFC 9162 section 2.1.3/2.1.4 (Merkle hashes, proof verification). Nothing here comes from witness:
hashes with hashlib, signatures with python3-cryptography, HTTP with urllib. The test serves a
ledger the `witness` binary built, rebuilds the checkpoint's root from the served tiles, checks
every entry of the served bundles against the level-0 tiles, checks inclusion of random entries
and consistency between two checkpoints, and checks the server's own /v1 proofs with the RFC 9162
verifiers.

Run by CTest ("serve: ..."), with WITNESS_BIN naming the witness binary.
"""
import base64
import hashlib
import json
import os
import random
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

WITNESS = os.environ.get("WITNESS_BIN", "witness")
TILE = 256


# ---- RFC 6962 hashing ----
def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


# ---- tlog-tiles paths ----
def encode_index(n: int) -> str:
    groups = []
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(("x%03d" if i < len(groups) - 1 else "%03d") % g for i, g in enumerate(groups))


def tile_path(level, index, width):
    p = "tile/%s/%s" % ("entries" if level is None else str(level), encode_index(index))
    return p if width == TILE else p + ".p/%d" % width


# ---- signed note and checkpoint ----
def parse_verifier_key(vkey: str):
    name, key_id_hex, b64 = vkey.split("+", 2)  # base64 may hold "+" too
    raw = base64.b64decode(b64)
    assert raw[0] == 0x01, "not an Ed25519 verifier key"
    key_id = bytes.fromhex(key_id_hex)
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] == key_id, "key id mismatch"
    return name, key_id, Ed25519PublicKey.from_public_bytes(raw[1:])


def verify_checkpoint(note: bytes, vkey: str):
    name, key_id, pub = parse_verifier_key(vkey)
    text = note.decode("utf-8")
    body, sep, sigs = text.partition("\n\n")
    assert sep, "no signature block"
    body += "\n"
    verified = False
    for line in sigs.splitlines():
        assert line.startswith("\u2014 "), "signature line must start with an em dash"
        sig_name, sig_b64 = line[2:].split(" ")
        blob = base64.b64decode(sig_b64)
        if sig_name == name and blob[:4] == key_id:
            pub.verify(blob[4:], body.encode())  # raises InvalidSignature
            verified = True
    assert verified, "no signature by the log's key"
    lines = body.splitlines()
    return lines[0], int(lines[1]), base64.b64decode(lines[2])


class TiledLog:
    """A client of one log at one checkpoint size: fetches (and caches) tiles."""

    def __init__(self, base, size):
        self.base, self.size, self.tiles = base, size, {}

    def fetch(self, path):
        with urllib.request.urlopen(self.base + "/" + path, timeout=10) as r:
            assert r.headers["Content-Type"] == "application/octet-stream"
            assert "immutable" in r.headers["Cache-Control"]
            return r.read()

    def tile_width(self, level, index):
        # Full when the tree has all 256 hashes; else the partial width floor(s/256^l) mod 256.
        hashes = self.size // (TILE ** level)
        return TILE if (index + 1) * TILE <= hashes else hashes % TILE

    def tile(self, level, index):
        key = (level, index)
        if key not in self.tiles:
            width = self.tile_width(level, index)
            data = self.fetch(tile_path(level, index, width))
            assert len(data) == 32 * width, "tile %s has %d bytes" % (key, len(data))
            self.tiles[key] = data
        return self.tiles[key]

    def hash_at(self, height, index):
        """The hash of the complete subtree of 2^height leaves starting at index << height."""
        level, rest = divmod(height, 8)
        first = index << rest  # the first hash at height 8*level under it
        t = self.tile(level, first // TILE)
        hashes = [t[32 * i:32 * i + 32] for i in range(first % TILE, first % TILE + (1 << rest))]
        assert all(len(h) == 32 for h in hashes), "tile too short for subtree"
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def mth(self, start, n):
        """RFC 6962 MTH(D[start:start+n]), from complete subtrees."""
        if n & (n - 1) == 0 and start % n == 0:
            return self.hash_at(n.bit_length() - 1, start // n)
        k = 1 << ((n - 1).bit_length() - 1)
        return node_hash(self.mth(start, k), self.mth(start + k, n - k))

    def inclusion_path(self, m, start, n):
        """RFC 6962 PATH(m, D[start:start+n])."""
        if n == 1:
            return []
        k = 1 << ((n - 1).bit_length() - 1)
        if m < k:
            return self.inclusion_path(m, start, k) + [self.mth(start + k, n - k)]
        return self.inclusion_path(m - k, start + k, n - k) + [self.mth(start, k)]

    def bundle(self, index):
        width = self.tile_width(0, index)
        data = self.fetch(tile_path(None, index, width))
        entries, pos = [], 0
        while pos < len(data):
            n = int.from_bytes(data[pos:pos + 2], "big")
            entries.append(data[pos + 2:pos + 2 + n])
            pos += 2 + n
        assert pos == len(data), "bundle does not end on an entry"
        assert len(entries) == width, "bundle has %d entries, expected %d" % (len(entries), width)
        return entries


# ---- RFC 9162 2.1.3.2 and 2.1.4.2 ----
def verify_inclusion(index, size, leaf, proof, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, root1, root2, proof):
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0 or size1 > size2 or not proof:
        return False
    if size1 & (size1 - 1) == 0:
        proof = [root1] + proof
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# ---- the served ledger ----
def write_lines(path, start, count):
    with open(path, "w") as f:
        for i in range(start, start + count):
            f.write(json.dumps({
                "origin": "agent.%d" % (i % 5), "kind": "agent.action",
                "timestamp": 1800000000000000000 + i,
                "payload": {"i": i, "pad": "x" * (i * 37 % 900)}}) + "\n")


class Served:
    def __init__(self, ledger):
        self.proc = subprocess.Popen(
            [WITNESS, "serve", "--ledger", ledger, "--listen", "127.0.0.1:0", "--access-log", "off"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://"), line + self.proc.stderr.read()
        self.base = line.split(" ")[2].strip().rstrip("/")

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return r.read()

    def json(self, path):
        return json.loads(self.get(path))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=10) == 0


@pytest.fixture(scope="module")
def ledger():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ledger")
        subprocess.run([WITNESS, "init", "--ledger", path], check=True, capture_output=True)
        lines = os.path.join(d, "a.jsonl")
        write_lines(lines, 0, 700)  # 2 full bundles and a partial one of 188
        subprocess.run([WITNESS, "append", "--ledger", path, lines], check=True,
                       capture_output=True)
        yield path, d


def test_checkpoint_tiles_bundles_and_proofs(ledger):
    path, d = ledger
    served = Served(path)
    try:
        vkey = served.json("/v1/stats")["verifier_key"]
        note1 = served.get("/checkpoint")
        origin, size1, root1 = verify_checkpoint(note1, vkey)
        assert size1 == 700
        log = TiledLog(served.base, size1)
        assert log.mth(0, size1) == root1, "root rebuilt from the tiles differs"
        # Every entry of every bundle hashes to its level-0 tile hash.
        for b in range((size1 + TILE - 1) // TILE):
            for i, e in enumerate(log.bundle(b)):
                assert leaf_hash(e) == log.hash_at(0, b * TILE + i)
        # Inclusion of random entries: our path verifies, and equals the server's proof.
        rng = random.Random(7)
        for m in rng.sample(range(size1), 25):
            proof = log.inclusion_path(m, 0, size1)
            assert verify_inclusion(m, size1, log.hash_at(0, m), proof, root1)
            served_proof = served.json("/v1/proofs/inclusion?seq=%d" % m)
            assert [base64.b64decode(h) for h in served_proof["proof"]] == proof
            assert base64.b64decode(served_proof["root"]) == root1
        # A tampered proof does not verify.
        proof = log.inclusion_path(5, 0, size1)
        proof[0] = bytes(32)
        assert not verify_inclusion(5, size1, log.hash_at(0, 5), proof, root1)

        # The log grows while served (another process appends; the server follows it); a
        # second checkpoint must be consistent with the first.
        lines = os.path.join(d, "b.jsonl")
        write_lines(lines, 700, 70000 - 700)
        subprocess.run([WITNESS, "append", "--ledger", path, lines], check=True,
                       capture_output=True)
        for _ in range(200):
            if served.json("/v1/stats")["size"] == 70000:
                break
            time.sleep(0.05)
        note2 = served.get("/checkpoint")
        _, size2, root2 = verify_checkpoint(note2, vkey)
        assert size2 == 70000
        log2 = TiledLog(served.base, size2)
        assert log2.mth(0, size2) == root2
        # The spec's example: 273 full level-0 tiles, a partial of 112, one full level-1 tile, a
        # partial level-1 tile of 17 and a partial level-2 tile of 1.
        assert log2.tile_width(0, 273) == 112 and log2.tile_width(1, 1) == 17
        assert log2.tile_width(2, 0) == 1
        assert len(log2.tile(2, 0)) == 32
        # The old size's partial tiles are still served: the old root rebuilds from them.
        assert TiledLog(served.base, size1).mth(0, size1) == root1
        c = served.json("/v1/proofs/consistency?size1=%d&size2=%d" % (size1, size2))
        proof = [base64.b64decode(h) for h in c["proof"]]
        assert verify_consistency(size1, size2, root1, root2, proof)
        assert not verify_consistency(size1, size2, root1, root2, proof[:-1])
    finally:
        served.stop()


def test_paths_and_errors(ledger):
    path, _ = ledger
    served = Served(path)
    try:
        def status(p):
            try:
                with urllib.request.urlopen(served.base + p, timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                body = json.loads(e.read())
                assert body["error"]["message"], p
                return e.code
        size = served.json("/v1/stats")["size"]
        full = size // TILE
        assert status("/" + tile_path(0, full - 1, TILE)) == 200
        assert status("/" + tile_path(0, full, TILE)) == 404  # not full yet
        assert status("/" + tile_path(0, full, size % TILE)) == 200
        assert status("/" + tile_path(0, full, size % TILE + 1)) == 404  # beyond the tree
        assert status("/tile/0/0") == 400  # not 3 digits
        assert status("/tile/0/x000/001") == 400  # a second spelling of index 1
        assert status("/tile/00/000") == 400  # leading zero in the level
        assert status("/tile/64/000") == 400
        assert status("/tile/0/000.p/0") == 400
        assert status("/tile/0/000.p/256") == 400
        assert status("/tile/0/000?x=1") == 400
        assert status("/tile/entries/000.p/01") == 400
        assert status("/nothing") == 404
    finally:
        served.stop()
