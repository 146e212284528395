// Shared pieces of the `witness` subcommands: common options, exit codes, output, progress.
#pragma once

#include <atomic>
#include <cstdint>
#include <fstream>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/ledger.hpp"

#include "cli11.hpp"

namespace witness::covenant {
class PolicyAppender;
}  // namespace witness::covenant

namespace witness::tools {

// For every option and argument that takes a count, a seq or a size: digits only, at most
// 2^64-1. CLI11's own conversion read "-1" as 2^64-1 and wrapped larger numbers.
[[nodiscard]] const CLI::Validator& non_negative_integer();

// Exit codes (SPEC 7).
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBusy = 3;  // the ledger is open for writing elsewhere (see --wait)

// Options every ledger subcommand takes.
struct CommonOptions {
  std::string ledger_dir;   // --ledger; empty: $WITNESS_LEDGER (resolve_ledger_dir)
  bool json = false;        // --json: machine-readable output
  double wait_seconds = 0;  // --wait: how long a writable open waits for another writer
};

// Adds --ledger (required unless $WITNESS_LEDGER is set), --json and --wait to `cmd`.
void add_common_options(CLI::App& cmd, CommonOptions& opts);

// Maps an error to an exit code: bad input or usage 2, everything else (corruption, I/O) 1.
[[nodiscard]] int exit_code_for(const Error& error);
// Prints "witness: <message>" on stderr and returns exit_code_for(error).
int report(const Error& error);

// Returns --ledger, else $WITNESS_LEDGER, else "".
[[nodiscard]] std::string resolve_ledger_dir(const CommonOptions& opts);

// Opens the ledger named by `opts` (--ledger, else $WITNESS_LEDGER).
[[nodiscard]] Result<ledger::Ledger> open_ledger(
    const CommonOptions& opts, bool read_only,
    ledger::Durability durability = ledger::Durability::kBuffered);

// Opens the ledger named by `opts` read-only, following its writers (OpenOptions::follow:
// Ledger::catch_up reads what they appended since).
[[nodiscard]] Result<ledger::Ledger> open_following(const CommonOptions& opts);

// Opens an input file, or stdin for "-". The returned stream borrows `storage`.
[[nodiscard]] Result<std::istream*> open_input(const std::string& path, std::ifstream& storage);

// Who runs the command, for covenant records (issuer, bypass): $USER, else "uid:N".
[[nodiscard]] std::string invoking_user();
// Says on stderr where the appender recorded its covenant.bypass, if it did.
void report_bypass(const covenant::PolicyAppender& appender);

// Parses a time given as integer nanoseconds since the epoch or as RFC 3339.
[[nodiscard]] Result<ledger::Timestamp> parse_time_arg(const std::string& text,
                                                       const std::string& option);
// The whole of a file, or of stdin for "-". Errors: kNotFound "cannot open PATH".
[[nodiscard]] Result<std::string> read_text(const std::string& path);
// A checkpoint verifier key given inline ("name+id+base64") or as a file holding that line.
[[nodiscard]] Result<std::string> read_verifier_key(const std::string& arg);

// Parses "buffered" or "sync".
[[nodiscard]] Result<ledger::Durability> parse_durability(const std::string& text);

// One entry as a JSON object line: {"seq":N, ...the node's exported fields...}
// (ledger::to_entry_json, which the HTTP API writes too).
[[nodiscard]] std::string entry_json(const ledger::Entry& entry);
// One entry as a human-readable line.
[[nodiscard]] std::string entry_line(const ledger::Entry& entry);

// A progress bar on stderr, drawn only when stderr is a terminal and the work is long.
// Thread safety: not thread-safe.
class Progress {
 public:
  Progress(std::string label, std::uint64_t total);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();
  void update(std::uint64_t done);
  // Clears the bar (if drawn) so that what follows starts on a clean line; no more drawing.
  void finish();

 private:
  std::string label_;
  std::uint64_t total_;
  bool enabled_;
  std::int64_t last_draw_ns_ = 0;
  bool drawn_ = false;
};

// SIGINT and SIGTERM for a long-running command: the constructor blocks them in this thread,
// so that the threads it starts later (RocksDB's, a server's) inherit the mask; on_signal()
// starts one thread that takes them with sigtimedwait and calls `stop` once. The destructor
// ends that thread.
class StopSignals {
 public:
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  ~StopSignals();
  void on_signal(std::function<void()> stop);

 private:
  std::atomic<bool> done_{false};
  std::thread waiter_;
};

// Registers the subcommands of each area; each stores its action in `action`.
using Action = std::function<int()>;
void register_ledger_commands(CLI::App& app, Action& action);
void register_append_command(CLI::App& app, Action& action);
void register_proof_commands(CLI::App& app, Action& action);
void register_checkpoint_commands(CLI::App& app, Action& action);
void register_laws_command(CLI::App& app, Action& action);
void register_covenant_commands(CLI::App& app, Action& action);
void register_detect_commands(CLI::App& app, Action& action);
void register_serve_command(CLI::App& app, Action& action);
void register_cluster_commands(CLI::App& app, Action& action);
// Where a command appends through a cluster (docs/cluster.md): --nats, --nats-stream, --quorum,
// --timeout-ms.
struct ClusterTarget {
  std::string nats;  // comma-separated servers; empty: not through a cluster
  std::string stream = "witness";
  std::size_t quorum = 2;
  unsigned timeout_ms = 30000;
};
void add_cluster_target_options(CLI::App& cmd, ClusterTarget& target);
// Publishes `nodes` and prints one {"seq","id","outcome"} line each once a quorum of replicas
// applied it. Exit 0 when all were appended, 1 when any was denied or rejected, 3 when the
// quorum did not answer in time.
int publish_nodes(const ClusterTarget& target, std::span<const ledger::TraceNode> nodes, bool json);
// `witness append --nats URL`: the nodes of `in` through the cluster's stream.
int run_cluster_append(const ClusterTarget& target, std::istream& in, bool json);

// `witness replay --rerun RUN_ID`: re-executes a recorded detector run from its recorded
// inputs; exit 0 when every alert matches the record, 1 where they diverge.
int run_rerun(const CommonOptions& opts, const std::string& run_hex);

}  // namespace witness::tools
