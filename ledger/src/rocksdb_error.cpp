#include "rocksdb_error.hpp"

#include <string>

namespace witness::ledger::detail {

Error to_error(const rocksdb::Status& s, std::string_view context) {
  ErrorCode code = ErrorCode::kInternal;
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      code = ErrorCode::kNotFound;
      break;
    case rocksdb::Status::kCorruption:
      code = ErrorCode::kCorruption;
      break;
    case rocksdb::Status::kInvalidArgument:
      code = ErrorCode::kInvalidArgument;
      break;
    case rocksdb::Status::kIOError:
      code = ErrorCode::kIOError;
      break;
    case rocksdb::Status::kNotSupported:
      code = ErrorCode::kFailedPrecondition;
      break;
    default:
      code = ErrorCode::kInternal;
  }
  return Error{code, std::string(context) + ": " + s.ToString()};
}

Status to_status(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::ok();
  return to_error(s, context);
}

}  // namespace witness::ledger::detail
