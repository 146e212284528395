// The worked example of docs/ledger_format.md section 1 (canonical encoding, id 4731cac4...),
// which section 4a stores byte for byte. One definition for the tests of both.
#pragma once

#include <chrono>

#include "witness/ledger/trace_node.hpp"

namespace witness::testing {

inline ledger::NodeDraft example_draft() {
  ledger::NodeDraft d;
  d.origin = "gaming.banterpacks";
  d.kind = "agent.action";
  d.timestamp = ledger::Timestamp(std::chrono::nanoseconds(1'763'808'000'000'000'001));
  d.walk = "session-42";
  d.tags = {"urgent", "prod"};
  d.payload_json = R"({"action":"mute", "user":"u-17","score":0.75})";
  return d;
}

}  // namespace witness::testing
