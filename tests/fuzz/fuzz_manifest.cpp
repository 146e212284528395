// libFuzzer target: agent manifests (YAML, `witness agents register`) and the covenant.grant
// payload they become in the ledger. Invariant: an accepted manifest's covenant survives
// grant_payload -> parse_grant_payload unchanged, and a parsed grant payload re-encodes to a
// payload that parses to the same covenant.
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/covenant/manifest.hpp"
#include "witness/covenant/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  namespace cv = witness::covenant;
  if (auto m = cv::parse_manifest(input)) {
    const cv::Covenant c = cv::covenant_from(*m, "fuzz.issuer");
    const auto back = cv::parse_grant_payload(cv::grant_payload(c, {m->version, m->description}));
    WITNESS_CHECK(back.has_value() && *back == c);
  }
  // The same bytes as a stored grant payload (JSON).
  if (auto c = cv::parse_grant_payload(input)) {
    const auto back = cv::parse_grant_payload(cv::grant_payload(*c, {"1", "fuzz"}));
    WITNESS_CHECK(back.has_value() && *back == *c);
  }
  return 0;
}
