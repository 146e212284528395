// Covenants in the ledger (SPEC 5.4): a grant is a `covenant.grant` node and a revocation a
// `covenant.revoke` node, both from origin `witness.covenant`; the gate's state is rebuilt by
// replaying them, so covenants are audited like everything else. Payload formats are in
// docs/covenants.md.
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

// Extra, descriptive fields recorded with a grant (not part of the rights).
struct GrantInfo {
  std::string version;
  std::string description;
};

// The covenant.grant payload, canonical JSON-ready text.
[[nodiscard]] std::string grant_payload(const Covenant& covenant, const GrantInfo& info);
// Parses a covenant.grant payload. Errors: kInvalidArgument naming the bad field.
[[nodiscard]] Result<Covenant> parse_grant_payload(std::string_view json);

// The gate rebuilt from a ledger, and the covenant records it could not apply (a duplicate id
// from two racing registrations, a grant whose parent was revoked first), as "seq N: reason".
struct LoadedGate {
  Gate gate;
  std::vector<std::string> skipped;
};

// Replays every covenant node in seq order into a new gate. Errors: kCorruption for a grant
// payload that does not parse; the ledger's read errors.
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

}  // namespace witness::covenant
