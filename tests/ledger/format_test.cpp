// The worked example of docs/ledger_format.md, section 4a: the keys and values one append of
// section 1's example node writes, byte for byte.
#include <catch2/catch.hpp>

#include "witness/ledger/ledger.hpp"

#include "example_node.hpp"
#include "hex.hpp"
#include "key_codec.hpp"
#include "node_codec.hpp"
#include "raw_db.hpp"
#include "segments.hpp"
#include "sha256.hpp"
#include "temp_dir.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
using witness::testing::RawDb;
using witness::testing::TempDir;

namespace {

TraceNode example_node() { return *TraceNode::create(witness::testing::example_draft()); }

std::string hex(const std::string& s) { return detail::hex_encode(s); }

// The ledger's root, as the tree of one leaf: the leaf hash itself.
bool l_root_is(const std::filesystem::path& dir, const std::string& hex_root) {
  auto l = Ledger::open(dir, OpenOptions{.read_only = true});
  return l && l->tree_head()->root.to_hex() == hex_root;
}

}  // namespace

TEST_CASE("format 2 worked example: the keys of one append, byte for byte", "[ledger][format]") {
  TempDir dir;
  const TraceNode node = example_node();
  REQUIRE(node.id().to_hex() == "4731cac4f96934f70af3b0094832b2315307464a20ffe35748a903459333e1f1");
  {
    auto l = Ledger::open(dir / "l", OpenOptions{.create_if_missing = true});
    REQUIRE(l);
    REQUIRE(l->append(node));
  }
  const RawDb db(dir / "l");
  const std::string bundle = db.get(detail::bundle_key(0));
  const std::string tile = db.get(detail::tile_key(0, 0));
  const std::string id = db.get(detail::id_key(node.id()));
  const std::string origin = db.get(detail::term_key('o', "gaming.banterpacks", 0));
  const std::string tag = db.get(detail::term_key('g', "prod", 0));
  const std::string time = db.get(detail::time_key(node.timestamp(), 0));
  // 'b' 0: count 1, length 205, the stored node (section 5), the chain after it.
  const std::string stored =
      "01"
      "01000000"
      "4731cac4f96934f70af3b0094832b2315307464a20ffe35748a903459333e1f1"
      "1200000000000000"
      "67616d696e672e62616e7465727061636b73"
      "0c00000000000000"
      "6167656e742e616374696f6e"
      "0100feeb074e7a18"
      "01"
      "0a00000000000000"
      "73657373696f6e2d3432"
      "0000000000000000"
      "0200000000000000"
      "0400000000000000"
      "70726f64"
      "0600000000000000"
      "757267656e74"
      "2c00000000000000"
      "7b22616374696f6e223a226d757465222c2273636f7265223a302e37352c2275736572223a22752d3137227d"
      "00";
  const std::string leaf = "fca2da5cc6ebfdbc9474bde79b3cac54d050b623a3672fb471dc766ef46f4444";
  const std::string chain = "fcb7d15c1bbc82ca74f76dccfc20361e0944b1744c19027decfe31ae942e225a";
  CHECK(stored.size() / 2 == 0xcd);
  CHECK(hex(bundle) ==
        "0001"
        "000000cd" +
            stored + chain);
  CHECK(detail::leaf_hash(detail::encode_stored_node(node)).to_hex() == leaf);
  // 'h' 00 0: the level-0 tile, one leaf hash so far.
  CHECK(hex(tile) == leaf);
  CHECK(l_root_is(dir / "l", leaf));
  // "keyed" 'i' id: seq 0, the timestamp with its sign bit flipped.
  CHECK(hex(id) ==
        "0000000000000000"
        "987a4e07ebfe0001");
  // Postings of one seq: the key holds it, the value (the gaps after it) is empty.
  CHECK(hex(detail::term_key('o', "gaming.banterpacks", 0)) ==
        "6f"
        "0012"
        "67616d696e672e62616e7465727061636b73"
        "0000000000000000");
  CHECK(origin.empty());
  CHECK(tag.empty());
  CHECK(time.empty());
  CHECK(hex(detail::time_key(node.timestamp(), 0)) ==
        "74"
        "987a4e07ebfe0001"
        "0000000000000000");
}

TEST_CASE("format 2 worked example: a posting list of one group", "[ledger][format]") {
  // Seqs 5, 6, 9 and 300 of one term, written by one group: the key holds 5, the value the
  // gaps 1, 3 and 291 as LEB128 (291 = 0x123: 0xa3 0x02).
  std::string value;
  for (const std::uint64_t gap : {1U, 3U, 291U}) detail::append_varint(gap, value);
  CHECK(hex(value) == "0103a302");
  std::vector<SequenceNumber> seqs;
  REQUIRE(detail::parse_posting(5, value, seqs));
  CHECK(seqs == std::vector<SequenceNumber>{5, 6, 9, 300});
}
