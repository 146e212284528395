// libFuzzer target: the small parsers every front end feeds user arguments to (the CLI's and
// Python's ids, cursors, relations, verifier keys, seqs and node timestamps; HTTP's later).
// The first byte picks the parser. Invariants: no crash, and what parses prints back to itself.
#include <cstdint>
#include <string>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/digest.hpp"
#include "witness/ledger/query.hpp"
#include "witness/ledger/trace_node.hpp"

namespace wl = witness::ledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);  // NOLINT
  switch (data[0] % 5) {
    case 0: {  // a node id, as `witness show`, walk targets and Python's find() take it
      auto d = wl::Digest::from_hex(text);
      if (d) WITNESS_CHECK(wl::Digest::from_hex(d->to_hex()).value() == *d);
      break;
    }
    case 1: {  // a query cursor
      auto c = wl::Cursor::parse(text);
      if (c) WITNESS_CHECK(wl::Cursor::parse(c->to_string()).value() == *c);
      break;
    }
    case 2: {  // a link relation
      auto r = wl::parse_relation(text);
      if (r) WITNESS_CHECK(wl::parse_relation(wl::relation_name(*r)).value() == *r);
      break;
    }
    case 3: {  // a checkpoint verifier key (verify --public-key, Python verify(public_key=))
      auto k = wl::parse_verifier_key(text);
      if (k) WITNESS_CHECK(wl::verifier_key(k->name, k->key) == text);
      break;
    }
    default: {  // a node timestamp from Python's int or str: within the node range or refused
      auto t = wl::parse_rfc3339(text);
      if (t) {
        const auto ns = t->time_since_epoch().count();
        WITNESS_CHECK(ns >= wl::kMinTimestampNs && ns <= wl::kMaxTimestampNs);
        auto node = wl::TraceNode::create({.origin = "fuzz.args", .kind = "k", .timestamp = *t});
        WITNESS_CHECK(node.has_value());
      }
      break;
    }
  }
  return 0;
}
