#include "witness/ledger/merkle.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "witness/ledger/proof_json.hpp"

#include "json.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// An in-memory tree: leaves plus every completed subtree, as the ledger stores them.
struct MemoryTree {
  MerkleFrontier frontier;
  std::map<std::pair<unsigned, std::uint64_t>, Digest> stored;

  void add(const Digest& leaf) {
    stored[{0, frontier.size()}] = leaf;
    std::vector<CompletedSubtree> done;
    frontier.append(leaf, done);
    for (const auto& c : done) stored[{c.level, c.index}] = c.hash;
  }
  [[nodiscard]] SubtreeHashFn fn() const {
    return [this](unsigned level, std::uint64_t index) -> witness::Result<Digest> {
      auto it = stored.find({level, index});
      if (it == stored.end()) return witness::not_found("no subtree");
      return it->second;
    };
  }
};

// The tree the vectors were made from (tests/data/merkle/README.md).
MemoryTree reference_tree() {
  MemoryTree t;
  for (const char* hex : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"}) {
    t.add(merkle_leaf_hash(unhex(hex)));
  }
  return t;
}

}  // namespace

TEST_CASE("the verifier accepts exactly the RFC 6962 vectors without wantErr", "[ledger][merkle]") {
  const std::filesystem::path dir = WITNESS_TEST_DATA_DIR "/merkle";
  REQUIRE(std::filesystem::is_directory(dir));
  int files = 0;
  int accepted = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (f.path().extension() != ".json") continue;
    const std::string text = read_file(f.path());
    auto raw = witness::ledger::json::parse(text);
    REQUIRE(raw);
    const auto* want_err = raw->find("wantErr");
    REQUIRE(want_err != nullptr);
    const bool should_accept = !std::get<bool>(want_err->v);
    auto claim = parse_proof_json(text);
    const bool ok = claim.has_value() && verify_claim(*claim).has_value();
    INFO(f.path().string());
    CHECK(ok == should_accept);
    ++files;
    accepted += ok ? 1 : 0;
  }
  CHECK(files == 196);    // every inclusion and consistency vector of transparency-dev/merkle
  CHECK(accepted == 12);  // the files with "wantErr": false
}

TEST_CASE("roots and proofs of the reference tree match the vectors", "[ledger][merkle]") {
  const std::vector<std::string> roots = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  const MemoryTree t = reference_tree();
  for (std::uint64_t n = 1; n <= 8; ++n) CHECK(merkle_root(n, t.fn())->to_hex() == roots[n - 1]);
  CHECK(t.frontier.root().to_hex() == roots[7]);
  CHECK(*merkle_root(0, t.fn()) == merkle_empty_root());

  // Our generated proofs are byte-for-byte the vectors' happy paths.
  const std::filesystem::path dir = WITNESS_TEST_DATA_DIR "/merkle";
  int compared = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (f.path().filename() != "happy-path.json") continue;
    auto claim = parse_proof_json(read_file(f.path()));
    REQUIRE(claim);
    INFO(f.path().string());
    if (const auto* inc = std::get_if<InclusionClaim>(&*claim)) {
      CHECK(*make_inclusion_proof(inc->proof.leaf_index, inc->proof.tree_size, t.fn()) ==
            inc->proof);
    } else {
      const auto& c = std::get<ConsistencyClaim>(*claim);
      CHECK(*make_consistency_proof(c.proof.size1, c.proof.size2, t.fn()) == c.proof);
    }
    ++compared;
  }
  CHECK(compared >= 8);
}

TEST_CASE("proofs over any tree verify, and altered ones do not", "[ledger][merkle]") {
  rc::prop("inclusion and consistency proofs round-trip through the verifier", [] {
    const auto size = *rc::gen::inRange<std::uint64_t>(1, 300);
    MemoryTree t;
    for (std::uint64_t i = 0; i < size; ++i) t.add(merkle_leaf_hash(std::to_string(i)));
    const Digest root = *merkle_root(size, t.fn());
    RC_ASSERT(root == t.frontier.root());
    RC_ASSERT(MerkleFrontier::load(size, t.fn())->root() == root);

    const auto leaf = *rc::gen::inRange<std::uint64_t>(0, size);
    auto inc = make_inclusion_proof(leaf, size, t.fn());
    RC_ASSERT(inc.has_value());
    RC_ASSERT(inc->hashes.size() <= 64U);
    const Digest leaf_hash = merkle_leaf_hash(std::to_string(leaf));
    RC_ASSERT(verify_inclusion(*inc, leaf_hash, root).has_value());
    RC_ASSERT_FALSE(verify_inclusion(*inc, merkle_leaf_hash("other"), root).has_value());
    if (!inc->hashes.empty()) {
      auto bad = *inc;
      bad.hashes[*rc::gen::inRange<std::size_t>(0, bad.hashes.size())].bytes[0] ^= 1;
      RC_ASSERT_FALSE(verify_inclusion(bad, leaf_hash, root).has_value());
    }
    // The proof also round-trips through its JSON form.
    const ProofClaim claim = InclusionClaim{*inc, leaf_hash, root};
    RC_ASSERT(verify_claim(*parse_proof_json(to_proof_json(claim))).has_value());

    const auto size1 = *rc::gen::inRange<std::uint64_t>(1, size + 1);
    auto cons = make_consistency_proof(size1, size, t.fn());
    RC_ASSERT(cons.has_value());
    const Digest root1 = *merkle_root(size1, t.fn());
    RC_ASSERT(verify_consistency(*cons, root1, root).has_value());
    if (size1 < size) {
      RC_ASSERT_FALSE(verify_consistency(*cons, merkle_leaf_hash("x"), root).has_value());
      auto bad = *cons;
      bad.hashes[*rc::gen::inRange<std::size_t>(0, bad.hashes.size())].bytes[31] ^= 0x80;
      RC_ASSERT_FALSE(verify_consistency(bad, root1, root).has_value());
    }
  });
  CHECK(make_inclusion_proof(5, 5, reference_tree().fn()).error().code ==
        witness::ErrorCode::kInvalidArgument);
  CHECK(make_consistency_proof(6, 5, reference_tree().fn()).error().code ==
        witness::ErrorCode::kInvalidArgument);
}

TEST_CASE("proof files with bad fields are rejected, naming the field", "[ledger][merkle]") {
  const auto err = [](std::string_view text) { return parse_proof_json(text).error().message; };
  CHECK(err("[]") == "expected a JSON object");
  CHECK(err(R"({"a":1})").starts_with("not a proof"));
  CHECK(err(R"({"leafIdx":0})") == "treeSize: missing");
  CHECK(err(R"({"leafIdx":-1,"treeSize":1})")
            .starts_with("leafIdx: expected a non-negative integer"));
  CHECK(err(R"({"leafIdx":0,"treeSize":1,"leafHash":"AA==","root":""})") ==
        "leafHash: expected a 32-byte hash, got 1 bytes");
  CHECK(err(R"({"size1":0,"size2":1,"root1":"!!!!","root2":""})") ==
        "root1: base64: invalid character");
  CHECK(
      err(R"({"size1":1,"size2":2,"root1":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","root2":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","proof":[1]})") ==
      "proof[0]: expected a base64 string");
}
