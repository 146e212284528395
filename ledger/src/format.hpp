// On-disk format constants, shared by every writer and reader. Spec: docs/ledger_format.md.
// Changing any of these changes kFormatVersion, in the same commit as the doc.
#pragma once

#include <cstdint>
#include <string_view>

namespace witness::ledger::format {

inline constexpr std::uint32_t kFormatVersion = 2;

// Column families. The default one holds what is keyed by seq or tree position (bundles,
// tiles, posting lists, checkpoints): few, large values, read with Get and SeekForPrev.
// "keyed" holds the small keys ordered by something else (an id, a link target, a time), one
// or more per node, so their inserts and lookups stay out of the default one's memtable.
inline constexpr std::string_view kKeyedColumnFamily = "keyed";

// Key prefixes (first byte of every key), default column family.
inline constexpr char kMeta = '#';        // '#' name                        -> meta value
inline constexpr char kBundle = 'b';      // 'b' first_seq(8)                -> entry* chain(32)
inline constexpr char kTile = 'h';        // 'h' height(1) first_index(8)    -> hash(32)*
inline constexpr char kByOrigin = 'o';    // 'o' len(2) origin first_seq(8)  -> posting rest
inline constexpr char kByKind = 'k';      // 'k' len(2) kind first_seq(8)    -> posting rest
inline constexpr char kByWalk = 'w';      // 'w' len(2) walk first_seq(8)    -> posting rest
inline constexpr char kByTag = 'g';       // 'g' len(2) tag first_seq(8)     -> posting rest
inline constexpr char kCheckpoint = 'c';  // 'c' size(8)                     -> signed note text
// Key prefixes, "keyed" column family.
inline constexpr char kById = 'i';          // 'i' id(32)                    -> seq(8) ts(8)
inline constexpr char kByLinkTarget = 'l';  // 'l' target(32) seq relation(1) -> ""
inline constexpr char kByTime = 't';        // 't' ts(8, sign bit flipped) seq -> ""
// Whether keys with this prefix live in the "keyed" column family.
[[nodiscard]] constexpr bool is_keyed_prefix(char prefix) {
  return prefix == kById || prefix == kByLinkTarget || prefix == kByTime;
}

// Version 1 keys that version 2 no longer writes; `witness migrate` reads them.
namespace v1 {
inline constexpr char kNode = 'n';        // 'n' seq           -> stored node bytes
inline constexpr char kHashRecord = 'e';  // 'e' seq           -> leaf(32) chain(32)
inline constexpr char kMerkle = 'm';      // 'm' level(1) index -> hash(32)
inline constexpr std::uint32_t kFormatVersion = 1;
}  // namespace v1

// The signing key's file name inside the ledger directory (outside RocksDB's keys).
inline constexpr std::string_view kSigningKeyFile = "witness-signing.key";

inline constexpr std::string_view kMetaFormatVersion = "#format_version";  // -> u32 BE
inline constexpr std::string_view kMetaLedgerId = "#ledger_id";            // -> 16 random bytes

// Entry bundles and hash tiles are C2SP tlog-tiles' 256 wide: a bundle segment or a tile
// segment never crosses a multiple of kTileWidth, so each full bundle or tile is the
// concatenation of the segments under its index range.
inline constexpr std::uint64_t kTileWidth = 256;
// Tiles are stored for every height 0..63 (tlog-tiles level L is height 8L).
inline constexpr unsigned kMaxHeight = 63;
inline constexpr unsigned kTileLevelHeights = 8;

// Sizes as named sums (leveldb's log_format.h style), pinned below.
inline constexpr std::size_t kPrefixSize = 1;
inline constexpr std::size_t kSeqSize = 8;        // u64 BE
inline constexpr std::size_t kTimestampSize = 8;  // i64 with the sign bit flipped, BE
inline constexpr std::size_t kHashSize = 32;      // SHA-256
inline constexpr std::size_t kLedgerIdSize = 16;
inline constexpr std::size_t kEntryLengthSize = 4;                        // u32 BE per entry
inline constexpr std::size_t kSeqKeySize = kPrefixSize + kSeqSize;        // 'b' / 'c' seq
inline constexpr std::size_t kTileKeySize = kPrefixSize + 1 + kSeqSize;   // 'h' height index
inline constexpr std::size_t kByIdValueSize = kSeqSize + kTimestampSize;  // seq, ts
inline constexpr std::size_t kByIdKeySize = kPrefixSize + kHashSize;      // 'i' id
inline constexpr std::size_t kTimeKeySize = kPrefixSize + kTimestampSize + kSeqSize;
inline constexpr std::size_t kLinkKeySize = kPrefixSize + kHashSize + kSeqSize + 1;
inline constexpr std::size_t kFullTileBytes = kTileWidth * kHashSize;
inline constexpr std::size_t kV1EntryValueSize = kHashSize + kHashSize;  // v1 'e': leaf, chain
static_assert(kSeqKeySize == 9);
static_assert(kTileKeySize == 10);
static_assert(kByIdValueSize == 16);
static_assert(kByIdKeySize == 33);
static_assert(kTimeKeySize == 17);
static_assert(kLinkKeySize == 42);
static_assert(kFullTileBytes == 8192);  // tlog-tiles: "a full tile is 8,192 bytes"

}  // namespace witness::ledger::format
