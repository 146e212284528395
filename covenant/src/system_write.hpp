// How the covenant module appends: its own records (origins witness.covenant and witness.gate,
// reserved: ledger::is_reserved_origin) with allow_reserved_origin set, a caller's nodes never.
#pragma once

#include "witness/ledger/options.hpp"

namespace witness::covenant::detail {

// Grants, revocations, leases, settlements and bypasses: synced, reserved origins allowed.
[[nodiscard]] inline ledger::AppendOptions system_write() {
  return {.durability = ledger::Durability::kSync, .allow_reserved_origin = true};
}
// A record of the module's own (a denial) under the caller's durability.
[[nodiscard]] inline ledger::AppendOptions as_system(ledger::AppendOptions options) {
  options.allow_reserved_origin = true;
  return options;
}
// A caller's node: the reserved origins stay refused, whatever options the caller passed.
[[nodiscard]] inline ledger::AppendOptions as_user(ledger::AppendOptions options) {
  options.allow_reserved_origin = false;
  return options;
}

}  // namespace witness::covenant::detail
