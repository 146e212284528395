// Query planning and execution. Every filter term that has an index ('o', 'k', 'w', 'g')
// becomes a stream of seqs in query order, read from its posting-list segments; several streams are
// intersected by leapfrogging (each seeks to the largest candidate), so the work grows with the
// smallest stream and the result, not with the ledger. A time range alone is answered from the time
// index; combined with terms it is checked on the candidates.
#include "witness/ledger/query.hpp"

#include <algorithm>
#include <charconv>

#include <rocksdb/iterator.h>

#include "format.hpp"
#include "key_codec.hpp"
#include "ledger_impl.hpp"
#include "node_codec.hpp"
#include "rocksdb_error.hpp"
#include "segments.hpp"

namespace witness::ledger {
namespace {

// A stream of seqs in the query's order within [lo, hi].
class SeqStream {
 public:
  SeqStream() = default;
  SeqStream(const SeqStream&) = delete;
  SeqStream& operator=(const SeqStream&) = delete;
  virtual ~SeqStream() = default;
  // Returns the first seq at or after `target` in stream order (>= forward, <= reverse).
  virtual std::optional<SequenceNumber> seek(SequenceNumber target) = 0;
  [[nodiscard]] virtual Status status() const = 0;
};

// Seqs from one index term: posting segments keyed prefix || first_seq(8), each holding its
// first seq and the gaps after it. The segment last decoded is kept: a query that pages
// through one term decodes each segment once.
class TermStream final : public SeqStream {
 public:
  TermStream(rocksdb::DB* db, rocksdb::ReadOptions ro, std::string prefix, Order order)
      : prefix_(std::move(prefix)), upper_(prefix_), order_(order) {
    upper_.append(8, '\xff');
    upper_.push_back('\xff');
    lower_slice_ = prefix_;
    upper_slice_ = upper_;
    ro.iterate_lower_bound = &lower_slice_;
    ro.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(ro));
  }

  std::optional<SequenceNumber> seek(SequenceNumber target) override {
    const bool forward = order_ == Order::kOldestFirst;
    if (!in_cache(target)) {
      std::string key = prefix_;
      put_be64(target, key);
      it_->SeekForPrev(key);  // the segment that would hold target
      if (!load()) {
        if (!forward || !status_) return std::nullopt;
        it_->Seek(key);  // target precedes every segment: the first one
        if (!load()) return std::nullopt;
      }
    }
    if (forward) {
      const auto pos = std::lower_bound(seqs_.begin(), seqs_.end(), target);
      if (pos != seqs_.end()) return *pos;
      it_->Next();  // every seq here is below target: the next segment starts above it
      if (!load()) return std::nullopt;
      return seqs_.front();
    }
    const auto pos = std::upper_bound(seqs_.begin(), seqs_.end(), target);
    if (pos == seqs_.begin()) return std::nullopt;  // cannot happen: first <= target
    return *std::prev(pos);
  }

  [[nodiscard]] Status status() const override {
    if (!status_) return status_;
    return detail::to_status(it_->status(), "index scan");
  }

 private:
  // Whether the cached segment answers a seek to `target` without reading.
  [[nodiscard]] bool in_cache(SequenceNumber target) const {
    return !seqs_.empty() && target >= seqs_.front() && target <= seqs_.back();
  }
  // Decodes the segment under the iterator into seqs_; false at the end or on error.
  bool load() {
    seqs_.clear();
    if (!it_->Valid()) return false;
    const auto k = it_->key().ToStringView();
    if (k.size() != prefix_.size() + 8 || !k.starts_with(prefix_)) return false;
    if (auto s = detail::parse_posting(detail::trailing_seq(k), it_->value().ToStringView(), seqs_);
        !s) {
      status_ = s.error().with_context("index term segment");
      seqs_.clear();
      return false;
    }
    return true;
  }

  std::string prefix_;
  std::string upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  Order order_;
  std::unique_ptr<rocksdb::Iterator> it_;
  std::vector<SequenceNumber> seqs_;
  Status status_;
};

// Every seq below the snapshot's size: the query without filters.
class AllStream final : public SeqStream {
 public:
  AllStream(std::uint64_t size, Order order) : size_(size), order_(order) {}
  std::optional<SequenceNumber> seek(SequenceNumber target) override {
    if (size_ == 0) return std::nullopt;
    if (order_ == Order::kOldestFirst) {
      return target < size_ ? std::optional(target) : std::nullopt;
    }
    return std::min(target, size_ - 1);
  }
  [[nodiscard]] Status status() const override { return ok_status(); }

 private:
  std::uint64_t size_;
  Order order_;
};

// Seqs whose timestamps fall in [since, until], from the time index, sorted into query order.
class TimeStream final : public SeqStream {
 public:
  TimeStream(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* keyed, const rocksdb::ReadOptions& ro,
             Timestamp since, Timestamp until, SequenceNumber lo, SequenceNumber hi, Order order)
      : order_(order) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, keyed));
    const std::string start = detail::time_key(since, 0);
    const std::string stop = detail::time_key(until, ~SequenceNumber{0});
    for (it->Seek(start); it->Valid(); it->Next()) {
      const auto k = it->key().ToStringView();
      if (k.empty() || k[0] != format::kByTime || k > std::string_view(stop)) break;
      if (k.size() != 17) {
        status_ = corruption("time index: malformed key");
        return;
      }
      const SequenceNumber seq = detail::trailing_seq(k);
      if (seq >= lo && seq <= hi) seqs_.push_back(seq);
    }
    status_ = detail::to_status(it->status(), "time index scan");
    std::sort(seqs_.begin(), seqs_.end());
  }

  std::optional<SequenceNumber> seek(SequenceNumber target) override {
    if (order_ == Order::kOldestFirst) {
      const auto pos = std::lower_bound(seqs_.begin(), seqs_.end(), target);
      if (pos == seqs_.end()) return std::nullopt;
      return *pos;
    }
    const auto pos = std::upper_bound(seqs_.begin(), seqs_.end(), target);
    if (pos == seqs_.begin()) return std::nullopt;
    return *std::prev(pos);
  }
  [[nodiscard]] Status status() const override { return status_; }

 private:
  Order order_;
  std::vector<SequenceNumber> seqs_;
  Status status_;
};

}  // namespace

class QueryResult::Impl {
 public:
  Impl(rocksdb::DB* db, const Ledger::Impl* ledger, Query query)
      : db_(db),
        ledger_(ledger),
        snapshot_(ledger->snapshot()),
        reader_(db, snapshot_.read_options()),
        query_(std::move(query)) {}

  Status plan() {
    const auto ro = snapshot_.read_options();
    lo_ = query_.from_seq.value_or(0);
    hi_ = query_.to_seq.value_or(~SequenceNumber{0});
    const bool forward = query_.order == Order::kOldestFirst;
    if (query_.cursor) {
      const SequenceNumber c = query_.cursor->last_seq;
      if (forward) {
        if (c == ~SequenceNumber{0}) exhausted_ = true;
        lo_ = std::max(lo_, c + 1);
      } else {
        if (c == 0) exhausted_ = true;
        hi_ = std::min(hi_, c - 1);
      }
    }
    if (lo_ > hi_) exhausted_ = true;
    const auto add_term = [&](char prefix, const std::string& term) {
      streams_.push_back(
          std::make_unique<TermStream>(db_, ro, detail::term_prefix(prefix, term), query_.order));
    };
    if (query_.origin) add_term(format::kByOrigin, *query_.origin);
    if (query_.kind) add_term(format::kByKind, *query_.kind);
    if (query_.walk) add_term(format::kByWalk, *query_.walk);
    for (const auto& tag : query_.tags) add_term(format::kByTag, tag);
    const bool timed = query_.since || query_.until;
    if (streams_.empty() && timed) {
      streams_.push_back(std::make_unique<TimeStream>(
          db_, ledger_->keyed_cf.get(), ro, query_.since.value_or(Timestamp::min()),
          query_.until.value_or(Timestamp::max()), lo_, hi_, query_.order));
      time_checked_by_index_ = true;
    }
    if (streams_.empty()) {  // no filter: every entry
      WITNESS_ASSIGN_OR_RETURN(const std::uint64_t size, ledger_->snapshot_size(ro));
      streams_.push_back(std::make_unique<AllStream>(size, query_.order));
    }
    for (const auto& s : streams_) WITNESS_RETURN_IF_ERROR(s->status());
    next_target_ = forward ? lo_ : hi_;
    return ok_status();
  }

  // Advances to the next matching entry; false at the end or on error.
  bool advance() {
    current_.reset();
    if (exhausted_ || !status_) return false;
    if (query_.limit && emitted_ >= *query_.limit) {
      // Probe whether more exist, so the cursor is only offered when a next page has entries.
      if (find_next()) next_cursor_ = Cursor{last_seq_};
      exhausted_ = true;
      current_.reset();
      return false;
    }
    if (!find_next()) {
      exhausted_ = true;
      return false;
    }
    ++emitted_;
    last_seq_ = current_->seq;
    return true;
  }

  [[nodiscard]] const std::optional<Entry>& current() const { return current_; }
  [[nodiscard]] const Status& status() const { return status_; }
  [[nodiscard]] const std::optional<Cursor>& next_cursor() const { return next_cursor_; }

 private:
  [[nodiscard]] bool in_range(SequenceNumber s) const { return s >= lo_ && s <= hi_; }

  // Finds the next seq present in every stream, starting at next_target_, and loads it.
  bool find_next() {
    const bool forward = query_.order == Order::kOldestFirst;
    while (true) {
      if (!in_range(next_target_)) return false;
      std::optional<SequenceNumber> candidate = streams_[0]->seek(next_target_);
      std::size_t agreed = 1;
      std::size_t i = 1 % streams_.size();
      while (candidate && in_range(*candidate) && agreed < streams_.size()) {
        const auto got = streams_[i]->seek(*candidate);
        if (!got) {
          candidate.reset();
          break;
        }
        if (*got == *candidate) {
          ++agreed;
        } else {
          candidate = got;
          agreed = 1;
        }
        i = (i + 1) % streams_.size();
      }
      for (const auto& s : streams_) {
        if (auto st = s->status(); !st) {
          status_ = st;
          return false;
        }
      }
      if (!candidate || !in_range(*candidate)) return false;
      const SequenceNumber seq = *candidate;
      if (forward) {
        if (seq == ~SequenceNumber{0}) {
          hi_ = seq - 1;  // nothing can follow the largest seq
        } else {
          next_target_ = seq + 1;
        }
      } else {
        if (seq == 0) {
          lo_ = 1;  // nothing precedes seq 0; makes the range empty for the next call
          hi_ = 0;
        } else {
          next_target_ = seq - 1;
        }
      }
      auto entry = reader_.entry(seq);
      if (!entry) {
        status_ = std::move(entry).error();
        return false;
      }
      if (!time_checked_by_index_) {
        const Timestamp ts = entry->node.timestamp();
        if ((query_.since && ts < *query_.since) || (query_.until && ts > *query_.until)) continue;
      }
      current_ = std::move(*entry);
      return true;
    }
  }

  rocksdb::DB* db_;
  const Ledger::Impl* ledger_;
  SnapshotGuard snapshot_;
  detail::BundleReader reader_;  // reads through snapshot_
  Query query_;
  std::vector<std::unique_ptr<SeqStream>> streams_;
  SequenceNumber lo_ = 0;
  SequenceNumber hi_ = 0;
  SequenceNumber next_target_ = 0;
  SequenceNumber last_seq_ = 0;
  std::size_t emitted_ = 0;
  bool exhausted_ = false;
  bool time_checked_by_index_ = false;
  std::optional<Entry> current_;
  Status status_;
  std::optional<Cursor> next_cursor_;
};

const Entry& QueryResult::iterator::operator*() const { return *impl_->current(); }

QueryResult::iterator& QueryResult::iterator::operator++() {
  impl_->advance();
  return *this;
}

bool QueryResult::iterator::at_end() const {
  return impl_ == nullptr || !impl_->current().has_value();
}

QueryResult::QueryResult(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueryResult::QueryResult(QueryResult&&) noexcept = default;
QueryResult& QueryResult::operator=(QueryResult&&) noexcept = default;
QueryResult::~QueryResult() = default;

QueryResult::iterator QueryResult::begin() {
  impl_->advance();
  return iterator(impl_.get());
}

Status QueryResult::status() const { return impl_->status(); }
std::optional<Cursor> QueryResult::next_cursor() const { return impl_->next_cursor(); }

std::string Cursor::to_string() const { return "s" + std::to_string(last_seq); }

Result<Cursor> Cursor::parse(std::string_view text) {
  Cursor c;
  if (text.size() < 2 || text[0] != 's') {
    return invalid_argument("cursor \"" + std::string(text) + "\": expected s<seq>");
  }
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data() + 1, end, c.last_seq);
  if (ec != std::errc() || ptr != end) {
    return invalid_argument("cursor \"" + std::string(text) + "\": expected s<seq>");
  }
  return c;
}

Result<QueryResult> Ledger::query(const Query& query) const {
  if (!impl_) return closed_error();
  if (query.since && query.until && *query.since > *query.until) {
    return invalid_argument("query: since is later than until");
  }
  if (query.from_seq && query.to_seq && *query.from_seq > *query.to_seq) {
    return invalid_argument("query: from_seq is greater than to_seq");
  }
  if (query.limit && *query.limit == 0) {
    return invalid_argument("query: limit must be at least 1 (leave it unset for no limit)");
  }
  auto impl = std::make_unique<QueryResult::Impl>(impl_->db.get(), impl_.get(), query);
  WITNESS_RETURN_IF_ERROR(impl->plan());
  return QueryResult(std::move(impl));
}

}  // namespace witness::ledger
