// libFuzzer target: the covenant.lease / covenant.settle payloads the gate reads back from the
// ledger to rebuild its budgets. Invariant: an accepted payload re-encodes to one that parses
// to the same leases.
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/covenant/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  namespace cv = witness::covenant;
  if (auto leases = cv::parse_lease_payload(input)) {
    const auto back = cv::parse_lease_payload(cv::lease_payload(*leases));
    WITNESS_CHECK(back.has_value() && *back == *leases);
  }
  return 0;
}
