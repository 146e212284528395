// Ledger::migrate: format 1 to format 2.
//
// Format 1 is read here and nowhere else: its 'n' seq (stored node bytes) and 'e' seq (leaf
// hash, chain hash) records are walked together, each leaf and chain recomputed and compared,
// and the nodes appended to a new ledger that has the old one's id and signing key. Format 2
// stores the same node bytes, so every leaf, root and proof is the same; the stored
// checkpoints are copied as they are and verify against the new ledger. Nothing is written
// into the source: it is opened read-only, default column family only.
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "witness/base/endian.hpp"

#include "format.hpp"
#include "key_codec.hpp"
#include "ledger_impl.hpp"
#include "node_codec.hpp"
#include "rocksdb_error.hpp"
#include "sha256.hpp"

namespace witness::ledger {
namespace {

constexpr std::size_t kMigrateBatch = 4096;

Result<std::unique_ptr<rocksdb::DB>> open_source(const std::filesystem::path& src) {
  std::error_code ec;
  if (!std::filesystem::exists(src / "CURRENT", ec)) {
    return not_found("no ledger at " + src.string());
  }
  WITNESS_ASSIGN_OR_RETURN(const bool format2, has_keyed_family(src));
  if (format2) {
    return failed_precondition(src.string() + " is a format " +
                               std::to_string(format::kFormatVersion) +
                               " ledger already: nothing to migrate");
  }
  WITNESS_ASSIGN_OR_RETURN(LegacyDb legacy, open_legacy(src));
  if (legacy.version != format::v1::kFormatVersion) {
    return failed_precondition(src.string() + " has format version " +
                               std::to_string(legacy.version) + "; migrate reads version " +
                               std::to_string(format::v1::kFormatVersion));
  }
  return std::move(legacy.db);
}

Status check_destination(const std::filesystem::path& dst) {
  std::error_code ec;
  if (!std::filesystem::exists(dst, ec)) return ok_status();
  if (!std::filesystem::is_directory(dst, ec) || !std::filesystem::is_empty(dst, ec)) {
    return failed_precondition(dst.string() +
                               " exists: migrate writes a new ledger into a new (or empty) "
                               "directory");
  }
  return ok_status();
}

}  // namespace

Result<MigrateReport> Ledger::migrate(const std::filesystem::path& src,
                                      const std::filesystem::path& dst,
                                      const MigrateOptions& options) {
  WITNESS_ASSIGN_OR_RETURN(const auto source, open_source(src));
  WITNESS_RETURN_IF_ERROR(check_destination(dst));
  const rocksdb::ReadOptions ro;
  std::string ledger_id;
  WITNESS_RETURN_IF_ERROR(detail::to_status(source->Get(ro, format::kMetaLedgerId, &ledger_id),
                                            "read the ledger id of " + src.string()));
  if (ledger_id.size() != format::kLedgerIdSize) return corruption("ledger id: malformed value");

  // The size: the last 'e' record.
  std::uint64_t size = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(source->NewIterator(ro));
    it->SeekForPrev(detail::seq_key(format::v1::kHashRecord, ~SequenceNumber{0}));
    if (it->Valid() && it->key().size() == format::kSeqKeySize &&
        it->key()[0] == format::v1::kHashRecord) {
      size = get_be64(it->key().ToStringView().substr(1)) + 1;
    }
    WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "read " + src.string()));
  }

  // The new ledger: same id, same signing key, no checkpoints of its own making. A failed
  // migration removes what it wrote (dst was absent or empty).
  std::error_code ec;
  std::filesystem::create_directories(dst, ec);
  if (ec) return io_error("cannot create " + dst.string() + ": " + ec.message());
  auto result = [&]() -> Result<MigrateReport> {
    const auto key_file = src / std::string(format::kSigningKeyFile);
    if (std::filesystem::exists(key_file, ec)) {
      const auto to = dst / std::string(format::kSigningKeyFile);
      std::filesystem::copy_file(key_file, to, ec);
      if (ec) return io_error("cannot copy " + key_file.string() + ": " + ec.message());
      std::filesystem::permissions(
          to, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    }
    WITNESS_ASSIGN_OR_RETURN(auto impl, open_impl(dst,
                                                  OpenOptions{.create_if_missing = true,
                                                              .create_signing_key = false,
                                                              .checkpoint_interval = 0},
                                                  ledger_id));
    Ledger target(std::move(impl));

    MigrateReport report;
    report.from_version = format::v1::kFormatVersion;
    std::unique_ptr<rocksdb::Iterator> nodes(source->NewIterator(ro));
    std::unique_ptr<rocksdb::Iterator> hashes(source->NewIterator(ro));
    nodes->Seek(detail::seq_key(format::v1::kNode, 0));
    hashes->Seek(detail::seq_key(format::v1::kHashRecord, 0));
    Digest chain;
    MerkleFrontier tree;
    std::vector<CompletedSubtree> completed;
    std::vector<TraceNode> batch;
    std::string reencoded;
    const auto flush = [&]() -> Status {
      if (batch.empty()) return ok_status();
      WITNESS_ASSIGN_OR_RETURN(
          const auto results,
          target.append_batch(batch, AppendOptions{.allow_reserved_origin = true}));
      for (std::size_t i = 0; i < results.size(); ++i) {
        if (!results[i].inserted || results[i].seq != report.entries + i) {
          return corruption("seq " + std::to_string(report.entries + i) + ": a duplicate of seq " +
                            std::to_string(results[i].seq));
        }
      }
      report.entries += batch.size();
      batch.clear();
      if (options.progress) options.progress(report.entries, size);
      return ok_status();
    };
    for (SequenceNumber seq = 0; seq < size; ++seq) {
      const std::string where = "seq " + std::to_string(seq);
      if (!nodes->Valid() ||
          nodes->key().ToStringView() != detail::seq_key(format::v1::kNode, seq)) {
        WITNESS_RETURN_IF_ERROR(detail::to_status(nodes->status(), "read " + src.string()));
        return corruption(where + ": node record missing in " + src.string());
      }
      if (!hashes->Valid() ||
          hashes->key().ToStringView() != detail::seq_key(format::v1::kHashRecord, seq) ||
          hashes->value().size() != format::kV1EntryValueSize) {
        WITNESS_RETURN_IF_ERROR(detail::to_status(hashes->status(), "read " + src.string()));
        return corruption(where + ": hash record missing or malformed in " + src.string());
      }
      const std::string_view bytes = nodes->value().ToStringView();
      const std::string_view stored = hashes->value().ToStringView();
      const Digest leaf = detail::leaf_hash(bytes);
      chain = detail::chain_next(chain, leaf);
      if (std::memcmp(leaf.bytes.data(), stored.data(), Digest::kSize) != 0) {
        return corruption(where + ": node bytes do not match the leaf hash in " + src.string());
      }
      if (std::memcmp(chain.bytes.data(), stored.data() + Digest::kSize, Digest::kSize) != 0) {
        return corruption(where + ": chain hash does not recompute in " + src.string());
      }
      auto node = detail::decode_stored_node(bytes);
      if (!node) return node.error().with_context(where);
      reencoded.clear();
      detail::encode_stored_node(*node, reencoded);
      if (reencoded != bytes) {
        return corruption(where +
                          ": stored bytes do not re-encode identically (leaf would change)");
      }
      completed.clear();
      tree.append(leaf, completed);
      batch.push_back(std::move(*node));
      if (batch.size() == kMigrateBatch) WITNESS_RETURN_IF_ERROR(flush());
      nodes->Next();
      hashes->Next();
    }
    WITNESS_RETURN_IF_ERROR(flush());
    report.source_root = tree.root();
    report.source_chain_head = chain;

    // Checkpoints, as signed.
    {
      const std::string prefix(1, format::kCheckpoint);
      std::unique_ptr<rocksdb::Iterator> it(source->NewIterator(ro));
      rocksdb::WriteBatch copy;
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        copy.Put(it->key(), it->value());
        ++report.checkpoints;
      }
      WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "read " + src.string()));
      rocksdb::WriteOptions wo;
      wo.sync = true;
      WITNESS_RETURN_IF_ERROR(
          detail::to_status(target.impl_->db->Write(wo, &copy), "copy checkpoints"));
    }

    const TreeHead head = target.impl_->current_head();
    if (head.size != size || head.root != report.source_root) {
      return internal_error("migrated ledger's root " + head.root.to_hex() + " at size " +
                            std::to_string(head.size) + " differs from the source's " +
                            report.source_root.to_hex());
    }
    WITNESS_ASSIGN_OR_RETURN(report.verify, target.verify());
    if (!report.verify.ok()) {
      const auto& p = *report.verify.problem;
      return internal_error("the migrated ledger does not verify: " +
                            (p.seq ? "seq " + std::to_string(*p.seq) + ": " : std::string()) +
                            p.what);
    }
    // Into tables now: a new ledger should not start as one large write-ahead log.
    {
      rocksdb::FlushOptions fo;
      fo.wait = true;
      std::vector<rocksdb::ColumnFamilyHandle*> families = {target.impl_->default_cf.get(),
                                                            target.impl_->keyed_cf.get()};
      WITNESS_RETURN_IF_ERROR(
          detail::to_status(target.impl_->db->Flush(fo, families), "flush " + dst.string()));
    }
    WITNESS_RETURN_IF_ERROR(target.close());
    return report;
  }();
  if (!result) {
    std::error_code ignored;
    std::filesystem::remove_all(dst, ignored);
  }
  return result;
}

}  // namespace witness::ledger
