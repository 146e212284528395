// Ledger::tlog_tile and Ledger::tlog_entry_bundle: the ledger as a C2SP tlog-tiles log.
//
// Format 2 stores hash tiles at every tree height; tlog-tiles level L is height 8L, byte for
// byte (docs/ledger_format.md section 6), so a served tile is stored bytes: a full tile is one
// key, the right edge's partial tile at level 0 is the concatenation of its segments (read
// through TileReader, which also serves them from the shared tile cache). Entry bundles are
// the stored node bytes of the bundle segments, re-framed with 16-bit lengths.
#include "witness/base/endian.hpp"
#include "witness/ledger/ledger.hpp"

#include "format.hpp"
#include "ledger_impl.hpp"
#include "segments.hpp"

namespace witness::ledger {
namespace {

Status check_width(unsigned width) {
  if (width == 0 || width > Ledger::kTlogTileWidth) {
    return invalid_argument("tile width " + std::to_string(width) + " is not in 1..256");
  }
  return ok_status();
}

}  // namespace

Result<std::string> Ledger::tlog_tile(unsigned level, std::uint64_t index, unsigned width) const {
  if (!impl_) return closed_error();
  if (level > kTlogMaxLevel) {
    return invalid_argument("tile level " + std::to_string(level) + " is above 63");
  }
  WITNESS_RETURN_IF_ERROR(check_width(width));
  const unsigned height = level * format::kTileLevelHeights;
  const auto what = [&] {
    return "tile " + std::to_string(level) + "/" + std::to_string(index) +
           (width < kTlogTileWidth ? ".p/" + std::to_string(width) : std::string());
  };
  // The hashes first .. first + width - 1 at `height` exist when the tree has
  // (first + width) << height entries; the index must not overflow on the way.
  const TreeHead head = impl_->current_head();  // before the snapshot: see tree_head
  const std::uint64_t hashes_in_tree = height >= 64 ? 0 : head.size >> height;
  if (index > (hashes_in_tree / kTlogTileWidth) ||
      index * kTlogTileWidth + width > hashes_in_tree) {
    return not_found(what() + ": the tree of " + std::to_string(head.size) +
                     " entries does not have it");
  }
  const SnapshotGuard snap = impl_->snapshot();
  detail::TileReader reader(impl_->db.get(), snap.read_options(), &impl_->tile_cache);
  const std::uint64_t first = index * kTlogTileWidth;
  std::string out;
  out.reserve(std::size_t{width} * Digest::kSize);
  for (std::uint64_t i = first; i < first + width; ++i) {
    auto hash = reader.hash(height, i);
    if (!hash) return hash.error().with_context(what());
    out.append(reinterpret_cast<const char*>(hash->bytes.data()),  // NOLINT: bytes as chars
               Digest::kSize);
  }
  return out;
}

Result<std::string> Ledger::tlog_entry_bundle(std::uint64_t index, unsigned width) const {
  if (!impl_) return closed_error();
  WITNESS_RETURN_IF_ERROR(check_width(width));
  const auto what = [&] {
    return "entry bundle " + std::to_string(index) +
           (width < kTlogTileWidth ? ".p/" + std::to_string(width) : std::string());
  };
  const TreeHead head = impl_->current_head();
  if (index > head.size / kTlogTileWidth || index * kTlogTileWidth + width > head.size) {
    return not_found(what() + ": the ledger has " + std::to_string(head.size) + " entries");
  }
  const SnapshotGuard snap = impl_->snapshot();
  detail::BundleReader reader(impl_->db.get(), snap.read_options());
  const SequenceNumber first = index * kTlogTileWidth;
  std::string out;
  for (SequenceNumber seq = first; seq < first + width; ++seq) {
    auto stored = reader.stored(seq);
    if (!stored) return stored.error().with_context(what());
    if (stored->size() > kTlogMaxEntryBytes) {
      return failed_precondition(what() + ": entry " + std::to_string(seq) + " is " +
                                 std::to_string(stored->size()) +
                                 " bytes; an entry bundle frames at most 65,535");
    }
    put_be16(static_cast<std::uint16_t>(stored->size()), out);
    out.append(*stored);
  }
  return out;
}

}  // namespace witness::ledger
