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

// TraceNode::create for a draft whose payload_json is already canonical JSON text of an object
// (written by json::write_canonical, as parse_node_line does): the payload is not parsed again.
// REQUIRES: draft.payload_json is canonical; anything else gives a node whose id is not the
// one create() would give.
[[nodiscard]] Result<TraceNode> create_with_canonical_payload(NodeDraft draft);

// Appends the canonical encoding of `d` (all fields but id and signature) to `out`.
void append_canonical_encoding(const TraceNode::Data& d, std::string& out);

}  // namespace detail
}  // namespace witness::ledger
