// The one place where rocksdb::Status becomes a witness Error (STYLE 4).
#pragma once

#include <string_view>

#include <rocksdb/status.h>

#include "witness/base/result.hpp"

namespace witness::ledger::detail {

// Maps `s` (not ok) to an Error whose message is "`context`: <rocksdb message>".
[[nodiscard]] Error to_error(const rocksdb::Status& s, std::string_view context);

// Ok for an ok status, else to_error().
[[nodiscard]] Status to_status(const rocksdb::Status& s, std::string_view context);

}  // namespace witness::ledger::detail
