// Covenants in the ledger (SPEC 5.4): a grant is a `covenant.grant` node, a revocation a
// `covenant.revoke` node, budget taken ahead of spending a `covenant.lease` node and unspent
// budget given back a `covenant.settle` node, all from origin `witness.covenant`; the gate's
// state is rebuilt by replaying them, so covenants and their spending are audited like
// everything else. Payload formats are in docs/covenants.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/covenant/covenant.hpp"
#include "witness/covenant/gate.hpp"
#include "witness/ledger/ledger.hpp"

namespace witness::covenant {

inline constexpr std::string_view kCovenantOrigin = "witness.covenant";
inline constexpr std::string_view kGrantKind = "covenant.grant";
inline constexpr std::string_view kRevokeKind = "covenant.revoke";
inline constexpr std::string_view kLeaseKind = "covenant.lease";
inline constexpr std::string_view kSettleKind = "covenant.settle";

// Extra, descriptive fields recorded with a grant (not part of the rights).
struct GrantInfo {
  std::string version;
  std::string description;
};

// The covenant.grant payload, canonical JSON-ready text.
[[nodiscard]] std::string grant_payload(const Covenant& covenant, const GrantInfo& info);
// Parses a covenant.grant payload. Errors: kInvalidArgument naming the bad field.
[[nodiscard]] Result<Covenant> parse_grant_payload(std::string_view text);

// The covenant.lease / covenant.settle payload: {"leases":[{"covenant":ID,"amount":{DIM:N}}]},
// and in a settlement the rate buckets the session used:
// "buckets":[{"covenant":ID,"tokens":X,"at":"<ns since the epoch>"}].
[[nodiscard]] std::string lease_payload(const std::vector<Lease>& leases,
                                        const std::vector<BucketState>& buckets = {});
// Errors: kInvalidArgument naming the bad field.
[[nodiscard]] Result<std::vector<Lease>> parse_lease_payload(std::string_view text);
// The "buckets" of a settlement payload (none when absent). Errors: kInvalidArgument.
[[nodiscard]] Result<std::vector<BucketState>> parse_bucket_payload(std::string_view text);

// The gate rebuilt from a ledger, and the covenant records it could not apply (a duplicate id
// from two racing registrations, a grant whose parent was revoked first), as "seq N: reason".
struct LoadedGate {
  Gate gate;
  std::vector<std::string> skipped;
};

// Replays every covenant node in seq order into a new gate made with `options`: grants,
// revocations, leases (counted as spent) and settlements (given back). Errors: kCorruption for
// a payload that does not parse; the ledger's read errors.
[[nodiscard]] Result<LoadedGate> load_gate(const ledger::Ledger& ledger, GateOptions options = {});

// Grants `covenant` in `gate` and, if the gate accepts it, appends its covenant.grant node
// (synced). Errors: the gate's grant errors (nothing appended); the ledger's append errors.
[[nodiscard]] Result<ledger::AppendResult> record_grant(ledger::Ledger& ledger, Gate& gate,
                                                        const Covenant& covenant,
                                                        const GrantInfo& info);

// Revokes covenant `id` in `gate` and appends a covenant.revoke node (synced) naming it and
// `reason`. Errors: kNotFound (nothing appended); the ledger's append errors.
[[nodiscard]] Result<ledger::AppendResult> record_revoke(ledger::Ledger& ledger, Gate& gate,
                                                         std::string_view id,
                                                         std::string_view reason);

// The covenant.grant and covenant.revoke nodes that record_grant and record_revoke append,
// for writers that append them elsewhere (a cluster's stream, signed by its administrator).
// `subject` is the revoked covenant's subject (its tag).
[[nodiscard]] Result<ledger::TraceNode> grant_node(const Covenant& covenant, const GrantInfo& info);
[[nodiscard]] Result<ledger::TraceNode> revoke_node(std::string_view id, std::string_view subject,
                                                    std::string_view reason);
// The covenant a covenant.revoke payload names. Errors: kInvalidArgument.
[[nodiscard]] Result<std::string> parse_revoke_payload(std::string_view text);
// Applies a covenant.grant or covenant.revoke node to `gate`, as load_gate replays it. Errors:
// kInvalidArgument for another kind or a payload that does not parse (naming the field); the
// gate's grant and revoke errors.
[[nodiscard]] Status apply_covenant_record(Gate& gate, const ledger::TraceNode& node);

// Appends a node from witness.covenant (synced). Shared by the record_* functions.
[[nodiscard]] Result<ledger::AppendResult> append_covenant_record(ledger::Ledger& ledger,
                                                                  std::string_view kind,
                                                                  std::vector<std::string> tags,
                                                                  std::string payload);

}  // namespace witness::covenant
