// RocksDB's diagnostic log (the LOG file in a ledger directory), written by witness.
//
// Why not RocksDB's own: (1) it renames LOG to LOG.old.<time> on every open, read-only ones
// included, so each `witness stats` left a file behind (up to a thousand); (2) Debian's RocksDB
// is built with assertions, and its log writer asserts (aborts the process) on the write after
// a failed one, which a full disk turns into a crash of any command. This one appends to LOG
// (one previous generation, LOG.old, past 16 MiB), stops logging at the first failed write,
// and never fails the database because of a diagnostic line.
#pragma once
#include <filesystem>
#include <memory>

namespace rocksdb {
class Logger;
}

namespace witness::ledger::detail {

// A logger for a writable ledger: appends to LOG in `dir`. When the file cannot be written
// (read-only or full disk), lines are dropped.
[[nodiscard]] std::shared_ptr<rocksdb::Logger> make_info_log(const std::filesystem::path& dir);

// A logger that drops every line: read-only opens write nothing into the ledger directory.
[[nodiscard]] std::shared_ptr<rocksdb::Logger> make_null_info_log();

}  // namespace witness::ledger::detail
