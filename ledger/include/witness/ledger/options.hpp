// Settings for opening a ledger and for individual appends.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace witness::ledger {

// Position of an entry in the ledger: 0, 1, 2, ... without gaps, assigned at commit.
using SequenceNumber = std::uint64_t;

// When an append counts as done.
enum class Durability {
  kBuffered,  // written to RocksDB's WAL, not fsynced: survives a process crash, not power loss
  kSync,      // fsynced before append returns: survives power loss
};

// How to open a ledger. Use designated initializers: `OpenOptions{.create_if_missing = true}`.
struct OpenOptions {
  bool create_if_missing = false;  // create an empty ledger when `dir` has none
  bool read_only = false;          // open without write access (no appends)
  // With read_only: follow a writer in another process. The ledger is opened as a RocksDB
  // secondary instance, and Ledger::catch_up() brings it up to what the writer has written.
  // Without it, a read-only Ledger shows the ledger as it was when opened.
  bool follow = false;
  Durability durability = Durability::kBuffered;  // default for appends that don't say
  // Ed25519 key that signs checkpoints. Default: `<dir>/witness-signing.key`, created (mode
  // 0600) with a new ledger when create_signing_key is set. Without a key, no checkpoints.
  std::optional<std::filesystem::path> signing_key;
  bool create_signing_key = true;
  // A signed checkpoint is stored every this many entries (0: never automatically).
  std::uint64_t checkpoint_interval = 100000;
  // A writable open of a ledger that another process writes to (it holds RocksDB's LOCK) fails
  // with kUnavailable naming that process; with a wait, it retries until then.
  std::chrono::milliseconds lock_wait{0};
  std::size_t block_cache_bytes = 64U << 20U;
  std::size_t write_buffer_bytes = 64U << 20U;
};

// Per-call append settings.
struct AppendOptions {
  // Overrides OpenOptions::durability for this call when set.
  std::optional<Durability> durability;
  // Origins under "witness." (in any letter case: is_reserved_origin) are witness's own
  // records: covenant grants, leases and bypasses, gate denials, law verdicts, detector runs. A
  // forged one would grant rights or rewrite the audit, so append refuses them unless this is
  // set. Only witness's own writers set it (the covenant registry and gate, the law and detector
  // recorders, and `witness import` restoring an export); no front end sets it for user input.
  bool allow_reserved_origin = false;

  [[nodiscard]] static AppendOptions with(Durability d) { return AppendOptions{.durability = d}; }
};

// The prefix of reserved origins, and whether `origin` is one: "witness." compared without
// regard to ASCII case, so "Witness.gate" is reserved too.
inline constexpr std::string_view kReservedOriginPrefix = "witness.";
[[nodiscard]] bool is_reserved_origin(std::string_view origin);

}  // namespace witness::ledger
