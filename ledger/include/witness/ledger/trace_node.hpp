// TraceNode: the immutable, content-addressed record that agents and detectors emit (SPEC 2).
// The canonical encoding hashed into the id is specified in docs/ledger_format.md.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/digest.hpp"

namespace witness::ledger {

// Nanoseconds since the Unix epoch, UTC.
using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

// Formats `t` as RFC 3339 UTC with nanoseconds, e.g. "2026-11-22T10:48:00.000000001Z".
[[nodiscard]] std::string format_rfc3339(Timestamp t);
// Parses an RFC 3339 date-time ("2026-11-22T10:48:00Z", fraction up to 9 digits, offset Z or
// +hh:mm). Errors: kInvalidArgument naming what is wrong.
[[nodiscard]] Result<Timestamp> parse_rfc3339(std::string_view text);
// A time as the CLI, Python and HTTP take it: nanoseconds since the epoch (an integer, possibly
// negative) or RFC 3339. Errors: kInvalidArgument quoting the text.
[[nodiscard]] Result<Timestamp> parse_time(std::string_view text);

// How a node relates to the node a link points at. The numeric values are persisted.
enum class LinkRelation : std::uint8_t {
  kCauses = 1,     // the target caused this node
  kContinues = 2,  // this node continues the target's work
  kBranches = 3,   // this node branches off the target
  kFulfills = 4,   // this node fulfils a request made by the target
};

// Returns "causes", "continues", "branches" or "fulfills".
[[nodiscard]] std::string_view relation_name(LinkRelation relation);
// Parses a relation name. Errors: kInvalidArgument listing the accepted names.
[[nodiscard]] Result<LinkRelation> parse_relation(std::string_view name);

// A causal edge from the node that holds it to `target`.
struct Link {
  LinkRelation relation = LinkRelation::kCauses;
  NodeId target;
  friend auto operator<=>(const Link&, const Link&) = default;
};

// An Ed25519 signature of a node's id by its origin's key (SPEC 5).
using Signature = std::array<std::uint8_t, 64>;

// Limits enforced by TraceNode::create.
inline constexpr std::size_t kMaxNameBytes = 256;  // origin, kind, walk, each tag
inline constexpr std::size_t kMaxPayloadBytes = std::size_t{1} << 20U;  // canonical payload JSON
inline constexpr std::size_t kMaxTags = 256;
inline constexpr std::size_t kMaxLinks = 1024;
// The timestamps a node may carry: 1678-01-01T00:00:00Z to 2261-12-31T23:59:59.999999999Z, the
// whole years that int64 nanoseconds hold. Every node the ledger accepts then exports as RFC 3339
// and imports back (int64's own ends, in 1677 and 2262, fall mid-year).
inline constexpr std::int64_t kMinTimestampNs = -9'214'560'000'000'000'000;
inline constexpr std::int64_t kMaxTimestampNs = 9'214'646'399'999'999'999;

// The name rule of origins and kinds (and of agent ids, versions and model names in manifests):
// [A-Za-z0-9._:-]{1,256}. Errors: kInvalidArgument "empty", "longer than 256 bytes (N)", or
// "invalid character 'c' at byte N (allowed: letters, digits and . _ : -)".
[[nodiscard]] Status check_name(std::string_view name);

// The fields a TraceNode is built from. Plain data; TraceNode::create validates it.
struct NodeDraft {
  std::string origin;                  // [A-Za-z0-9._:-]{1,256}
  std::string kind;                    // [A-Za-z0-9._:-]{1,256}
  std::optional<Timestamp> timestamp;  // stamped with the current time when absent; within
                                       // kMinTimestampNs..kMaxTimestampNs
  std::optional<std::string> walk;     // 1..256 bytes of printable UTF-8
  std::vector<Link> links;             // any order; stored sorted, duplicates rejected
  std::vector<std::string> tags;       // any order; stored sorted, duplicates rejected
  std::string payload_json = "{}";     // a JSON object; canonicalised (RFC 8785)
  std::optional<Signature> signature;  // not part of the id
};

namespace detail {
struct NodeAccess;  // Lets ledger/src rebuild a node from stored bytes without re-hashing.
}  // namespace detail

// An immutable trace record. Its id is the SHA-256 of its canonical encoding, so equal content
// gives an equal id on every machine and in every language binding. Copies are cheap (shared).
// Thread safety: immutable; all methods may be called concurrently.
class TraceNode {
 public:
  // Validates `draft`, canonicalises the payload, stamps a missing timestamp and computes the
  // id. Errors: kInvalidArgument whose message starts with the field name, e.g.
  // "origin: empty", "payload: expected a JSON object".
  [[nodiscard]] static Result<TraceNode> create(NodeDraft draft);

  [[nodiscard]] const NodeId& id() const;
  [[nodiscard]] const std::string& origin() const;
  [[nodiscard]] const std::string& kind() const;
  [[nodiscard]] Timestamp timestamp() const;
  [[nodiscard]] const std::optional<std::string>& walk() const;
  [[nodiscard]] std::span<const Link> links() const;        // sorted by (relation, target)
  [[nodiscard]] std::span<const std::string> tags() const;  // sorted bytewise, unique
  // The payload as RFC 8785 canonical JSON text.
  [[nodiscard]] const std::string& payload_json() const;
  [[nodiscard]] const std::optional<Signature>& signature() const;

  // Returns the bytes whose SHA-256 is id() (docs/ledger_format.md, "canonical encoding").
  [[nodiscard]] std::string canonical_encoding() const;
  // Returns a copy of this node carrying `signature` (the id does not change).
  [[nodiscard]] TraceNode with_signature(const Signature& signature) const;

  // Nodes are equal when their ids and signatures are equal.
  friend bool operator==(const TraceNode& a, const TraceNode& b);

  // The representation: opaque here, defined in ledger/src so the codecs can build nodes.
  struct Data;

 private:
  friend struct detail::NodeAccess;
  explicit TraceNode(std::shared_ptr<const Data> data);
  std::shared_ptr<const Data> data_;
};

}  // namespace witness::ledger
