#include "info_log.hpp"

#include <array>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include <rocksdb/env.h>

namespace witness::ledger::detail {
namespace {

// Past this LOG stops growing (RocksDB writes a few KiB per flush or compaction
// and a statistics dump every ten minutes, so a ledger open for weeks stays well under it).
constexpr std::size_t kMaxLogBytes = 32U << 20U;

class FileInfoLog final : public rocksdb::Logger {
 public:
  explicit FileInfoLog(const std::filesystem::path& path)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {
    // Appended to, not replaced: an open that then fails (another writer holds the lock) must
    // not take that writer's log away. Past half the cap, LOG becomes LOG.old first.
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxLogBytes / 2) {
      std::filesystem::rename(path, std::filesystem::path(path).concat(".old"), ec);
    } else if (!ec) {
      written_ = size;
    }
    file_ = std::fopen(path.c_str(), "a");  // NOLINT(cppcoreguidelines-owning-memory)
  }
  FileInfoLog(const FileInfoLog&) = delete;
  FileInfoLog& operator=(const FileInfoLog&) = delete;
  FileInfoLog(FileInfoLog&&) = delete;
  FileInfoLog& operator=(FileInfoLog&&) = delete;
  ~FileInfoLog() override { close_file(); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    std::array<char, 1024> line{};
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
        1'000'000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::size_t n = std::strftime(line.data(), line.size(), "%Y/%m/%d-%H:%M:%S", &tm);
    const int m =
        std::snprintf(line.data() + n, line.size() - n, ".%06lld ", static_cast<long long>(micros));
    n += m > 0 ? static_cast<std::size_t>(m) : 0;
    va_list copy;
    va_copy(copy, ap);
    const int body = std::vsnprintf(line.data() + n, line.size() - n, format, copy);
    va_end(copy);
    if (body < 0) return;
    n = std::min(n + static_cast<std::size_t>(body), line.size() - 2);
    line[n++] = '\n';

    const std::lock_guard lock(mu_);
    if (file_ == nullptr || written_ + n > kMaxLogBytes) return;
    if (std::fwrite(line.data(), 1, n, file_) != n || std::fflush(file_) != 0) {
      close_file();  // a full or failing disk: stop logging, never fail the database for it
      return;
    }
    written_ += n;
  }

  std::size_t GetLogFileSize() const override {
    const std::lock_guard lock(mu_);
    return written_;
  }

 private:
  void close_file() {
    if (file_ != nullptr) std::fclose(file_);  // NOLINT(cppcoreguidelines-owning-memory)
    file_ = nullptr;
  }

  mutable std::mutex mu_;
  std::FILE* file_ = nullptr;
  std::size_t written_ = 0;
};

class NullInfoLog final : public rocksdb::Logger {
 public:
  NullInfoLog() : rocksdb::Logger(rocksdb::InfoLogLevel::HEADER_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_info_log(const std::filesystem::path& dir) {
  return std::make_shared<FileInfoLog>(dir / "LOG");
}

std::shared_ptr<rocksdb::Logger> make_null_info_log() { return std::make_shared<NullInfoLog>(); }

}  // namespace witness::ledger::detail
