// libFuzzer target: signed checkpoint notes and verifier keys (witness checkpoint verify).
// The input is split at its first 0xff byte into a note and a verifier key.
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/ledger/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto cut = input.find('\xff');
  const std::string_view note = input.substr(0, cut);
  const std::string_view key = cut == std::string_view::npos ? "" : input.substr(cut + 1);
  auto parsed = witness::ledger::parse_checkpoint(note);
  if (parsed) {
    // A parsed body formats back to the note's own first three lines.
    WITNESS_CHECK(note.starts_with(witness::ledger::checkpoint_text(*parsed)));
  }
  std::ignore = witness::ledger::verify_checkpoint(note, key);  // any verdict; never a crash
  return 0;
}
