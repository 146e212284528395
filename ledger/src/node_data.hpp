// The fields behind a TraceNode, shared by trace_node.cpp and the codecs.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "witness/ledger/trace_node.hpp"

namespace witness::ledger {

struct TraceNode::Data {
  NodeId id;
  std::string origin;
  std::string kind;
  Timestamp timestamp;
  std::optional<std::string> walk;
  std::vector<Link> links;        // sorted, unique
  std::vector<std::string> tags;  // sorted, unique
  std::string payload;            // canonical JSON object
  std::optional<Signature> signature;
};

namespace detail {

// Builds TraceNodes from already-validated parts (stored bytes), bypassing create().
struct NodeAccess {
  static TraceNode make(std::shared_ptr<const TraceNode::Data> data) {
    return TraceNode(std::move(data));
  }
  static const TraceNode::Data& data(const TraceNode& node) { return *node.data_; }
};

// Appends the canonical encoding of `d` (all fields but id and signature) to `out`.
void append_canonical_encoding(const TraceNode::Data& d, std::string& out);

}  // namespace detail
}  // namespace witness::ledger
