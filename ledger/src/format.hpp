// On-disk format constants, shared by every writer and reader. Spec: docs/ledger_format.md.
// Changing any of these changes kFormatVersion, in the same commit as the doc.
#pragma once

#include <cstdint>
#include <string_view>

namespace witness::ledger::format {

inline constexpr std::uint32_t kFormatVersion = 1;

// Key prefixes (first byte of every key) in the default column family.
inline constexpr char kMeta = '#';          // '#' name                      -> meta value
inline constexpr char kNode = 'n';          // 'n' seq                       -> stored node bytes
inline constexpr char kEntry = 'e';         // 'e' seq                       -> leaf(32) chain(32)
inline constexpr char kById = 'i';          // 'i' id(32)                    -> seq(8) ts(8)
inline constexpr char kByOrigin = 'o';      // 'o' len(2) origin seq        -> ""
inline constexpr char kByKind = 'k';        // 'k' len(2) kind seq          -> ""
inline constexpr char kByWalk = 'w';        // 'w' len(2) walk seq          -> ""
inline constexpr char kByTag = 'g';         // 'g' len(2) tag seq           -> ""
inline constexpr char kByTime = 't';        // 't' ts(8, sign bit flipped) seq -> ""
inline constexpr char kByLinkTarget = 'l';  // 'l' target(32) seq relation(1) -> ""
inline constexpr char kMerkle = 'm';        // 'm' level(1) index(8)         -> hash(32), level >= 1
inline constexpr char kCheckpoint = 'c';    // 'c' size(8)                   -> signed note text

// The signing key's file name inside the ledger directory (outside RocksDB's keys).
inline constexpr std::string_view kSigningKeyFile = "witness-signing.key";

inline constexpr std::string_view kMetaFormatVersion = "#format_version";  // -> u32 BE
inline constexpr std::string_view kMetaLedgerId = "#ledger_id";            // -> 16 random bytes

inline constexpr std::size_t kEntryValueSize = 64;
inline constexpr std::size_t kByIdValueSize = 16;

}  // namespace witness::ledger::format
