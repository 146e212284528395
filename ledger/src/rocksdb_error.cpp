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
  std::string message = std::string(context) + ": " + s.ToString();
  if (s.IsNoSpace()) {
    message += " (the disk is full: free space and retry; what was acknowledged is kept)";
  } else if (s.IsIOError() && s.ToString().find("Read-only file system") != std::string::npos) {
    message += " (the ledger is on a read-only file system: read commands still work)";
  } else if (s.IsIOError() && s.ToString().find("Permission denied") != std::string::npos) {
    message += " (check the owner and mode of the ledger directory and its files)";
  }
  return Error{code, std::move(message)};
}

Status to_status(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return ok_status();
  return to_error(s, context);
}

}  // namespace witness::ledger::detail
