// Entry: a TraceNode together with the position the ledger gave it.
#pragma once

#include "witness/ledger/options.hpp"
#include "witness/ledger/trace_node.hpp"

namespace witness::ledger {

// One ledger entry. Thread safety: a plain value; const methods may be called concurrently.
struct Entry {
  SequenceNumber seq = 0;
  TraceNode node;
};

}  // namespace witness::ledger
