#include "cli.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <pthread.h>
#include <unistd.h>

#include "witness/covenant/appender.hpp"
#include "witness/ledger/jsonl.hpp"

namespace witness::tools {

void add_common_options(CLI::App& cmd, CommonOptions& opts) {
  // Not CLI11's envname(): with one variable shared by every subcommand's --ledger, CLI11 2.1
  // lets the environment override an explicit --ledger. resolve_ledger_dir() applies it instead.
  cmd.add_option("--ledger", opts.ledger_dir, "ledger directory (default: $WITNESS_LEDGER)");
  cmd.add_flag("--json", opts.json, "machine-readable JSON output");
  cmd.add_option("--wait", opts.wait_seconds,
                 "when another process is writing to the ledger, wait up to this many seconds "
                 "for it (default 0: exit 3 at once)")
      ->check(CLI::Range(0.0, 86400.0));
}

int exit_code_for(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kFailedPrecondition:
      return kExitUsage;
    case ErrorCode::kUnavailable:
      return kExitBusy;
    default:
      return kExitCheckFailed;
  }
}

int report(const Error& error) {
  std::fprintf(stderr, "witness: %s\n", error.message.c_str());  // NOLINT
  return exit_code_for(error);
}

std::string resolve_ledger_dir(const CommonOptions& opts) {
  if (!opts.ledger_dir.empty()) return opts.ledger_dir;
  const char* env = std::getenv("WITNESS_LEDGER");  // NOLINT(concurrency-mt-unsafe): at startup
  return env == nullptr ? std::string() : std::string(env);
}

namespace {
Result<ledger::Ledger> open_with(const CommonOptions& opts, const ledger::OpenOptions& options) {
  const std::string dir = resolve_ledger_dir(opts);
  if (dir.empty()) {
    return invalid_argument("no ledger given: pass --ledger DIR or set WITNESS_LEDGER");
  }
  auto opened = ledger::Ledger::open(dir, options);
  if (!opened && opened.error().code == ErrorCode::kUnavailable && opts.wait_seconds == 0) {
    return unavailable(opened.error().message + " (witness --wait SECONDS waits for it)");
  }
  if (!opened && opened.error().code == ErrorCode::kNotFound &&
      opened.error().message.starts_with("no ledger at")) {
    // The library's hint names its option; a CLI user creates a ledger with `witness init`.
    return not_found("no ledger at " + dir + " (create one with `witness init`)");
  }
  return opened;
}
}  // namespace

Result<ledger::Ledger> open_ledger(const CommonOptions& opts, bool read_only,
                                   ledger::Durability durability) {
  // Read-only opens take no lock, so queries work while another process appends.
  return open_with(opts, {.read_only = read_only,
                          .durability = durability,
                          .lock_wait = std::chrono::milliseconds(
                              static_cast<std::int64_t>(opts.wait_seconds * 1000))});
}

Result<ledger::Ledger> open_following(const CommonOptions& opts) {
  return open_with(opts, {.read_only = true, .follow = true});
}

Result<ledger::Timestamp> parse_time_arg(const std::string& text, const std::string& option) {
  auto t = ledger::parse_time(text);
  if (!t) return t.error().with_context(option);
  return *t;
}

const CLI::Validator& non_negative_integer() {
  static const CLI::Validator kValidator(
      [](std::string& text) -> std::string {
        std::uint64_t n = 0;
        const auto* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, n);
        if (text.empty() || ptr != end || text.front() == '-' || text.front() == '+') {
          return "expected a non-negative integer, got \"" + text + "\"";
        }
        if (ec == std::errc::result_out_of_range) {
          return "\"" + text + "\" is larger than 18446744073709551615";
        }
        if (ec != std::errc()) return "expected a non-negative integer, got \"" + text + "\"";
        return "";
      },
      "UINT");
  return kValidator;
}

Result<std::string> read_text(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open " + path);
  text << in.rdbuf();
  return text.str();
}

Result<std::string> read_verifier_key(const std::string& arg) {
  if (arg.find('+') != std::string::npos || !std::filesystem::exists(arg)) return arg;
  WITNESS_ASSIGN_OR_RETURN(std::string key, read_text(arg));
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

Result<ledger::Durability> parse_durability(const std::string& text) {
  if (text == "buffered") return ledger::Durability::kBuffered;
  if (text == "sync") return ledger::Durability::kSync;
  return invalid_argument("--durability: expected buffered or sync, got \"" + text + "\"");
}

std::string entry_json(const ledger::Entry& entry) { return ledger::to_entry_json(entry); }

std::string entry_line(const ledger::Entry& entry) {
  const auto& n = entry.node;
  std::string payload = n.payload_json();
  if (payload.size() > 80) payload = payload.substr(0, 77) + "...";
  std::string line = std::to_string(entry.seq) + "  " + ledger::format_rfc3339(n.timestamp()) +
                     "  " + n.origin() + "  " + n.kind() + "  " + n.id().to_hex().substr(0, 12);
  if (n.walk()) line += "  walk=" + *n.walk();
  if (!n.tags().empty()) {
    line += "  tags=";
    for (std::size_t i = 0; i < n.tags().size(); ++i) line += (i != 0U ? "," : "") + n.tags()[i];
  }
  for (const auto& l : n.links()) {
    line += "  " + std::string(ledger::relation_name(l.relation)) + "<-" +
            l.target.to_hex().substr(0, 12);
  }
  return line + "  " + payload;
}

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) != 0 && total >= 10000),
      last_draw_ns_(now_ns()) {}

Progress::~Progress() { finish(); }

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");  // NOLINT: clear the bar's line
  drawn_ = false;
  enabled_ = false;
}

void Progress::update(std::uint64_t done) {
  if (!enabled_) return;
  const auto now = now_ns();
  if (now - last_draw_ns_ < 100'000'000 && done < total_) return;  // redraw at most 10/s
  last_draw_ns_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  const double frac = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<std::size_t>(std::min(filled, kWidth)), '#');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu", label_.c_str(), bar.c_str(),  // NOLINT
               static_cast<int>(frac * 100), static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total_));
  std::fflush(stderr);
}

std::string invoking_user() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, nothing sets the environment
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  return "uid:" + std::to_string(getuid());
}

void report_bypass(const covenant::PolicyAppender& appender) {
  if (auto b = appender.bypass()) {
    std::cerr << "witness: gate bypassed; recorded as covenant.bypass at seq " << b->seq << "\n";
  }
}

Result<std::istream*> open_input(const std::string& path, std::ifstream& storage) {
  if (path == "-") return &std::cin;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return invalid_argument(path + " is a directory, not an input file");
  }
  storage.open(path);
  if (!storage) {
    const int err = errno;
    return not_found("cannot open " + path + ": " + std::generic_category().message(err));
  }
  return static_cast<std::istream*>(&storage);
}

StopSignals::StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void StopSignals::on_signal(std::function<void()> stop) {
  waiter_ = std::thread([this, stop = std::move(stop)] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    const timespec tick{0, 200'000'000};
    while (!done_) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        std::cerr << "witness: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping\n";
        stop();
        return;
      }
    }
  });
}

StopSignals::~StopSignals() {
  done_ = true;
  if (waiter_.joinable()) waiter_.join();
}

}  // namespace witness::tools
