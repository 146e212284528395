// libFuzzer target: the VSA JSON encoder (Encoder::encode_json). Invariants: an accepted
// object encodes to the same vector twice (deterministic, no hidden state), its vector has the
// atom memory's dimension, and the same object re-serialised by nlohmann::json (other spacing
// and escapes) encodes to the same vector.
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "witness/base/result.hpp"
#include "witness/vsa/atoms.hpp"
#include "witness/vsa/encoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  static const witness::vsa::AtomMemory atoms(7, 512);
  static const witness::vsa::Encoder encoder(atoms);
  auto v = encoder.encode_json(input);
  if (!v) return 0;
  WITNESS_CHECK(v->dim() == atoms.dim());
  auto again = encoder.encode_json(input);
  WITNESS_CHECK(again.has_value() && *again == *v);
  // nlohmann keeps the last of duplicate keys and reads big integers differently; compare only
  // where it reads the same object without loss.
  const auto parsed = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return 0;
  const std::string pretty = parsed.dump(2, ' ', /*ensure_ascii=*/true);
  if (nlohmann::json::parse(pretty) != parsed) return 0;
  auto reformatted = encoder.encode_json(pretty);
  WITNESS_CHECK(reformatted.has_value() && *reformatted == *v);
  return 0;
}
