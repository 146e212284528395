// Settings for opening a ledger and for individual appends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>

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
  bool create_if_missing = false;                 // create an empty ledger when `dir` has none
  bool read_only = false;                         // open without write access (no appends)
  Durability durability = Durability::kBuffered;  // default for appends that don't say
  // Ed25519 key that signs checkpoints. Default: `<dir>/witness-signing.key`, created (mode
  // 0600) with a new ledger when create_signing_key is set. Without a key, no checkpoints.
  std::optional<std::filesystem::path> signing_key;
  bool create_signing_key = true;
  // A signed checkpoint is stored every this many entries (0: never automatically).
  std::uint64_t checkpoint_interval = 100000;
  std::size_t block_cache_bytes = 64U << 20U;
  std::size_t write_buffer_bytes = 64U << 20U;
};

// Per-call append settings.
struct AppendOptions {
  // Overrides OpenOptions::durability for this call when set.
  bool use_default_durability = true;
  Durability durability = Durability::kBuffered;

  [[nodiscard]] static AppendOptions with(Durability d) {
    return AppendOptions{.use_default_durability = false, .durability = d};
  }
};

}  // namespace witness::ledger
