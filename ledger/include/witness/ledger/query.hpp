// Query: which entries to read, and QueryResult: the lazy, snapshot-consistent range of them.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/entry.hpp"
#include "witness/ledger/options.hpp"
#include "witness/ledger/trace_node.hpp"

namespace witness::ledger {

enum class Order { kOldestFirst, kNewestFirst };

// Where a previous page stopped: the next page starts after `last_seq` in the query's order.
// Its text form ("s42") is what the CLI prints and accepts.
struct Cursor {
  SequenceNumber last_seq = 0;
  [[nodiscard]] std::string to_string() const;
  // Errors: kInvalidArgument when `text` is not a cursor printed by to_string().
  [[nodiscard]] static Result<Cursor> parse(std::string_view text);
  friend bool operator==(const Cursor&, const Cursor&) = default;
};

// A conjunction of filters; an unset filter matches everything. Results come in seq order.
// Example: newest 10 alerts of one detector:
//   Query{.origin = "detector.ddos", .kind = "detector.alert", .order = Order::kNewestFirst,
//         .limit = 10}
struct Query {
  std::optional<std::string> origin;
  std::optional<std::string> kind;
  std::optional<std::string> walk;
  std::vector<std::string> tags;           // the entry must carry every one
  std::optional<Timestamp> since;          // timestamp >= since
  std::optional<Timestamp> until;          // timestamp <= until
  std::optional<SequenceNumber> from_seq;  // seq >= from_seq
  std::optional<SequenceNumber> to_seq;    // seq <= to_seq
  Order order = Order::kOldestFirst;
  std::optional<std::size_t> limit;
  std::optional<Cursor> cursor;
};

// The entries matching a Query, read lazily from one RocksDB snapshot taken when the query
// started; appends made later are not seen. An input range: iterate it once.
// REQUIRES: the Ledger that made it outlives it.
// After iteration, check status(): iteration stops early at a read or decode error.
// Thread safety: not thread-safe; use one QueryResult per thread.
class QueryResult {
 public:
  class Impl;
  // Input iterator over the matching entries.
  class iterator {
   public:
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;
    iterator() = default;
    const Entry& operator*() const;
    const Entry* operator->() const { return &**this; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class QueryResult;
    explicit iterator(Impl* impl) : impl_(impl) {}
    [[nodiscard]] bool at_end() const;
    Impl* impl_ = nullptr;
  };

  explicit QueryResult(std::unique_ptr<Impl> impl);
  QueryResult(QueryResult&&) noexcept;
  QueryResult& operator=(QueryResult&&) noexcept;
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;
  ~QueryResult();

  // Starts the iteration (call once).
  iterator begin();
  [[nodiscard]] static std::default_sentinel_t end() { return {}; }

  // Ok, or the error that stopped the iteration early.
  [[nodiscard]] Status status() const;
  // Set once the iteration stopped because the limit was reached and more entries may follow:
  // pass it as Query::cursor to get the next page.
  [[nodiscard]] std::optional<Cursor> next_cursor() const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::ledger
