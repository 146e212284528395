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
inline constexpr char kHashRecord = 'e';    // 'e' seq                       -> leaf(32) chain(32)
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

// Sizes as named sums (leveldb's log_format.h style), pinned below.
inline constexpr std::size_t kPrefixSize = 1;
inline constexpr std::size_t kSeqSize = 8;        // u64 BE
inline constexpr std::size_t kTimestampSize = 8;  // i64 with the sign bit flipped, BE
inline constexpr std::size_t kHashSize = 32;      // SHA-256
inline constexpr std::size_t kLedgerIdSize = 16;
inline constexpr std::size_t kSeqKeySize = kPrefixSize + kSeqSize;        // 'n' / 'e' seq
inline constexpr std::size_t kEntryValueSize = kHashSize + kHashSize;     // leaf, chain
inline constexpr std::size_t kByIdValueSize = kSeqSize + kTimestampSize;  // seq, ts
inline constexpr std::size_t kByIdKeySize = kPrefixSize + kHashSize;      // 'i' id
static_assert(kSeqKeySize == 9);
static_assert(kEntryValueSize == 64);
static_assert(kByIdValueSize == 16);
static_assert(kByIdKeySize == 33);

}  // namespace witness::ledger::format
