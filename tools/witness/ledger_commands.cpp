// witness init | stats | show | query | lineage | replay | export | import | append.
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "witness/covenant/appender.hpp"
#include "witness/ledger/append_jsonl.hpp"
#include "witness/ledger/jsonl.hpp"

#include "cli.hpp"
#include "json_out.hpp"

namespace witness::tools {
namespace {

using ledger::Entry;
using ledger::Ledger;
using ledger::SequenceNumber;

// Resolves "SEQ" (decimal) or a 64-digit hex id to an entry.
Result<Entry> find_entry(const Ledger& l, const std::string& ref) {
  if (!ref.empty() && ref.size() < 20 && ref.find_first_not_of("0123456789") == std::string::npos) {
    return l.get(std::stoull(ref));
  }
  auto id = ledger::Digest::from_hex(ref);
  if (!id) {
    return invalid_argument("\"" + ref + "\": expected a seq number or a 64-digit hex id (" +
                            id.error().message + ")");
  }
  return l.find(*id);
}

// Time and seq range options shared by query, replay and export.
struct RangeOptions {
  std::optional<SequenceNumber> from_seq;
  std::optional<SequenceNumber> to_seq;
  std::string since;
  std::string until;

  void add_to(CLI::App& cmd) {
    cmd.add_option("--from-seq", from_seq, "first seq (inclusive)")->check(non_negative_integer());
    cmd.add_option("--to-seq", to_seq, "last seq (inclusive)")->check(non_negative_integer());
    cmd.add_option("--since", since, "earliest timestamp: ns since epoch or RFC 3339");
    cmd.add_option("--until", until, "latest timestamp: ns since epoch or RFC 3339");
  }

  Result<ledger::ReplayOptions> to_replay() const {
    ledger::ReplayOptions r;
    r.from_seq = from_seq;
    r.to_seq = to_seq;
    if (!since.empty()) {
      WITNESS_ASSIGN_OR_RETURN(r.since, parse_time_arg(since, "--since"));
    }
    if (!until.empty()) {
      WITNESS_ASSIGN_OR_RETURN(r.until, parse_time_arg(until, "--until"));
    }
    if (r.since && r.until && *r.since > *r.until) {
      return invalid_argument("--since is later than --until");
    }
    return r;
  }
};

int run_init(const CommonOptions& opts) {
  const std::string dir = resolve_ledger_dir(opts);
  if (dir.empty()) return report(invalid_argument("init: pass --ledger DIR or set WITNESS_LEDGER"));
  std::error_code exists_error;
  if (std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", exists_error)) {
    return report(failed_precondition("a ledger already exists at " + dir));
  }
  // A ledger owns its directory: never scatter RocksDB files among someone else's.
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec) && !std::filesystem::is_empty(dir, ec)) {
    return report(failed_precondition(dir + " exists and is not empty; give a new directory"));
  }
  auto l = Ledger::open(dir, ledger::OpenOptions{.create_if_missing = true});
  if (!l) return report(l.error());
  const auto s = l->stats();
  if (opts.json) {
    print_json({{"ledger", dir}, {"ledger_id", s.ledger_id}, {"format_version", s.format_version}});
  } else {
    std::cout << "initialised ledger " << s.ledger_id << " at " << dir << " (format version "
              << s.format_version << ")\n";
    if (const auto key = l->verifier_key()) std::cout << "checkpoint key: " << *key << "\n";
  }
  return kExitOk;
}

int run_stats(const CommonOptions& opts) {
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  const auto s = l->stats();
  std::uintmax_t bytes = 0;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(resolve_ledger_dir(opts), ec)) {
    if (f.is_regular_file(ec)) bytes += f.file_size(ec);
  }
  if (opts.json) {
    print_json({{"size", s.size},
                {"chain_head", s.chain_head.to_hex()},
                {"merkle_root", s.merkle_root.to_hex()},
                {"format_version", s.format_version},
                {"ledger_id", s.ledger_id},
                {"disk_bytes", bytes}});
  } else {
    std::cout << "entries:        " << s.size << "\n"
              << "chain head:     " << s.chain_head.to_hex() << "\n"
              << "merkle root:    " << s.merkle_root.to_hex() << "\n"
              << "format version: " << s.format_version << "\n"
              << "ledger id:      " << s.ledger_id << "\n"
              << "disk bytes:     " << bytes << "\n";
  }
  return kExitOk;
}

int run_show(const CommonOptions& opts, const std::string& ref) {
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  auto e = find_entry(*l, ref);
  if (!e) return report(e.error());
  if (opts.json) {
    std::cout << entry_json(*e) << "\n";
    return kExitOk;
  }
  const auto& n = e->node;
  std::cout << "seq:       " << e->seq << "\n"
            << "id:        " << n.id().to_hex() << "\n"
            << "origin:    " << n.origin() << "\n"
            << "kind:      " << n.kind() << "\n"
            << "timestamp: " << ledger::format_rfc3339(n.timestamp()) << " ("
            << n.timestamp().time_since_epoch().count() << " ns)\n";
  if (n.walk()) std::cout << "walk:      " << *n.walk() << "\n";
  if (!n.tags().empty()) {
    std::cout << "tags:     ";
    for (const auto& t : n.tags()) std::cout << " " << t;
    std::cout << "\n";
  }
  for (const auto& link : n.links()) {
    auto target = l->seq_of(link.target);
    std::cout << "link:      " << ledger::relation_name(link.relation) << " "
              << link.target.to_hex();
    if (target && *target) std::cout << " (seq " << **target << ")";
    std::cout << "\n";
  }
  std::cout << "payload:   " << n.payload_json() << "\n";
  std::cout << "signature: " << (n.signature() ? "present" : "none") << "\n";
  return kExitOk;
}

struct QueryArgs {
  std::string origin;
  std::string kind;
  std::string walk;
  std::vector<std::string> tags;
  RangeOptions range;
  std::optional<std::size_t> limit;
  bool newest_first = false;
  std::string cursor;
};

int run_query(const CommonOptions& opts, const QueryArgs& a) {
  ledger::Query q;
  if (!a.origin.empty()) q.origin = a.origin;
  if (!a.kind.empty()) q.kind = a.kind;
  if (!a.walk.empty()) q.walk = a.walk;
  q.tags = a.tags;
  auto range = a.range.to_replay();
  if (!range) return report(range.error());
  q.from_seq = range->from_seq;
  q.to_seq = range->to_seq;
  q.since = range->since;
  q.until = range->until;
  q.order = a.newest_first ? ledger::Order::kNewestFirst : ledger::Order::kOldestFirst;
  q.limit = a.limit;
  if (!a.cursor.empty()) {
    auto c = ledger::Cursor::parse(a.cursor);
    if (!c) return report(c.error().with_context("--cursor"));
    q.cursor = *c;
  }
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  auto result = l->query(q);
  if (!result) return report(result.error());
  std::size_t n = 0;
  for (const Entry& e : *result) {
    std::cout << (opts.json ? entry_json(e) : entry_line(e)) << "\n";
    ++n;
  }
  if (auto st = result->status(); !st) return report(st.error());
  if (auto next = result->next_cursor()) {
    if (opts.json) {
      print_json({{"next_cursor", next->to_string()}});
    } else {
      std::cerr << n << " entries; more with --cursor " << next->to_string() << "\n";
    }
  }
  return kExitOk;
}

int run_lineage(const CommonOptions& opts, const std::string& ref, bool descendants,
                unsigned depth) {
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  auto start = find_entry(*l, ref);
  if (!start) return report(start.error());
  const auto dir = descendants ? ledger::Direction::kDescendants : ledger::Direction::kAncestors;
  auto steps = l->lineage(start->node.id(), dir, depth);
  if (!steps) return report(steps.error());
  if (opts.json) {
    for (const auto& s : *steps) {
      print_json({{"depth", s.depth},
                  {"relation", ledger::relation_name(s.relation)},
                  {"from", s.from.to_hex()},
                  {"entry", json_value(entry_json(s.entry))}});
    }
    return kExitOk;
  }
  std::cout << entry_line(*start) << "\n";
  for (const auto& s : *steps) {
    const std::string arrow = descendants ? " <-" : " ->";
    std::cout << std::string(std::size_t{2} * s.depth, ' ') << arrow
              << ledger::relation_name(s.relation) << " " << entry_line(s.entry) << "\n";
  }
  std::cerr << steps->size() << (descendants ? " descendants" : " ancestors") << " within depth "
            << depth << "\n";
  return kExitOk;
}

int run_replay(const CommonOptions& opts, const RangeOptions& range, bool verify, bool quiet) {
  auto r = range.to_replay();
  if (!r) return report(r.error());
  r->verify_chain = verify;
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  const auto size = l->size();
  Progress progress("replay", size);
  auto summary = l->replay(*r, [&](const Entry& e) -> Status {
    if (!quiet) std::cout << (opts.json ? entry_json(e) : entry_line(e)) << "\n";
    progress.update(e.seq + 1);
    return ok_status();
  });
  progress.finish();
  if (!summary) {
    if (summary.error().code == ErrorCode::kCorruption) {
      std::cerr << "witness: verification failed: " << summary.error().message << "\n";
      return kExitCheckFailed;
    }
    return report(summary.error());
  }
  if (opts.json) {
    print_json({{"replayed", summary->visited},
                {"read", summary->read},
                {"chain_verified", summary->chain_verified}});
  } else {
    std::cerr << "replayed " << summary->visited << " entries"
              << (summary->chain_verified ? "; hash chain verified" : "") << "\n";
  }
  return kExitOk;
}

int run_verify(const CommonOptions& opts, const std::string& key_arg) {
  ledger::VerifyOptions options;
  if (!key_arg.empty()) {
    auto key = read_verifier_key(key_arg);
    if (!key) return report(key.error().with_context("--public-key"));
    if (auto parsed = ledger::parse_verifier_key(*key); !parsed) {
      return report(parsed.error().with_context("--public-key"));
    }
    options.public_key = *key;
  }
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  Progress progress("verify", l->size());
  options.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); };
  auto r = l->verify(options);
  progress.finish();
  if (!r) return report(r.error());
  if (opts.json) {
    JsonOut out{{"ok", r->ok()},
                {"entries", r->entries},
                {"index_entries", r->index_entries},
                {"merkle_nodes", r->merkle_nodes},
                {"checkpoints", r->checkpoints},
                {"signatures_checked", r->signatures_checked},
                {"chain_head", r->chain_head.to_hex()},
                {"merkle_root", r->merkle_root.to_hex()}};
    if (r->problem) {
      JsonOut problem;
      if (r->problem->seq) problem["seq"] = *r->problem->seq;
      problem["what"] = r->problem->what;
      out["problem"] = problem;
    }
    print_json(out);
  } else if (r->ok()) {
    std::cout << "verified " << r->entries << " entries, " << r->index_entries << " index entries, "
              << r->merkle_nodes << " merkle subtrees, " << r->checkpoints
              << (r->signatures_checked || r->checkpoints == 0
                      ? " signed checkpoints"
                      : " checkpoints (signatures NOT checked: no key at hand; pass "
                        "--public-key)")
              << "\n"
              << "chain head:  " << r->chain_head.to_hex() << "\n"
              << "merkle root: " << r->merkle_root.to_hex() << "\n";
  } else {
    std::cout << "verification FAILED: "
              << (r->problem->seq ? "seq " + std::to_string(*r->problem->seq) + ": "
                                  : std::string())
              << r->problem->what << "\n";
  }
  return r->ok() ? kExitOk : kExitCheckFailed;
}

int run_migrate(const CommonOptions& opts, const std::string& src, const std::string& dst) {
  Progress progress("migrate", 0);
  auto r = ledger::Ledger::migrate(
      src, dst, {.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); }});
  progress.finish();
  if (!r) return report(r.error());
  const auto& v = r->verify;
  if (opts.json) {
    print_json(JsonOut{{"entries", r->entries},
                       {"checkpoints", r->checkpoints},
                       {"from_version", r->from_version},
                       {"to_version", ledger::Ledger::kFormatVersion},
                       {"source_root", r->source_root.to_hex()},
                       {"merkle_root", v.merkle_root.to_hex()},
                       {"chain_head", v.chain_head.to_hex()},
                       {"verified", v.ok()},
                       {"index_entries", v.index_entries}});
    return kExitOk;
  }
  std::cout << "migrated " << r->entries << " entries and " << r->checkpoints
            << " checkpoints from format " << r->from_version << " (" << src
            << ", left as it was) to format " << ledger::Ledger::kFormatVersion << " (" << dst
            << ")\n"
            << "merkle root, format " << r->from_version << ": " << r->source_root.to_hex() << "\n"
            << "merkle root, format " << ledger::Ledger::kFormatVersion << ": "
            << v.merkle_root.to_hex() << " (equal)\n"
            << "chain head:            " << v.chain_head.to_hex() << "\n"
            << "verified " << v.entries << " entries, " << v.index_entries << " index entries, "
            << v.merkle_nodes << " merkle subtrees, " << v.checkpoints << " checkpoints\n";
  return kExitOk;
}

int run_export(const CommonOptions& opts, const RangeOptions& range, const std::string& out) {
  auto r = range.to_replay();
  if (!r) return report(r.error());
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  std::ofstream file;
  std::ostream* os = &std::cout;
  if (!out.empty() && out != "-") {
    file.open(out, std::ios::binary | std::ios::trunc);
    if (!file) return report(io_error("cannot write " + out));
    os = &file;
  }
  Progress progress("export", l->size());
  auto n = ledger::export_jsonl(*l, *r, *os, [&](SequenceNumber s) { progress.update(s + 1); });
  progress.finish();
  if (!n) return report(n.error());
  if (opts.json) {
    print_json({{"exported", *n}}, std::cerr);
  } else {
    std::cerr << "exported " << *n << " entries\n";
  }
  return kExitOk;
}

int run_import(const CommonOptions& opts, const std::string& path, bool no_gate, bool restore,
               const std::string& note) {
  std::ifstream storage;
  auto in = open_input(path, storage);
  if (!in) return report(in.error());
  auto l = open_ledger(opts, false);
  if (!l) return report(l.error());
  // Import appends exported nodes as they are: into a gated ledger that would be a way around
  // the gate, so it takes --no-gate there (recorded as covenant.bypass before the first
  // write). witness's own records (reserved origins) come in only with --restore, recorded as
  // a bypass too: a forged covenant.grant in an import file would otherwise grant rights unseen.
  auto out = covenant::PolicyAppender::open(
      *l, {.gate = no_gate ? covenant::GateMode::kOff : covenant::GateMode::kAuto,
           .who = invoking_user(),
           .command = "witness import " + path + (no_gate ? " --no-gate" : "") +
                      (restore ? " --restore" : ""),
           .bypass_note = note,
           .can_gate = false,
           .append = {.allow_reserved_origin = restore}});
  if (!out) return report(out.error());
  // The total is unknown while reading a stream; for a file, its size in bytes over an average
  // line gives a usable bar.
  std::uint64_t estimate = 0;
  if (path != "-") {
    std::error_code ec;
    estimate = std::filesystem::file_size(path, ec) / 400;
  }
  Progress progress("import", estimate);
  ledger::JsonlEvents events;
  events.on_progress = [&](std::uint64_t lines) { progress.update(std::min(lines, estimate)); };
  auto summary = ledger::append_jsonl(**out, **in, {.require_ids = true}, events);
  progress.finish();
  report_bypass(**out);
  if (!summary &&
      summary.error().message.find("is reserved for witness's own records") != std::string::npos) {
    return report(summary.error().with_context(
        "witness's own records are restored only with --restore (recorded as covenant.bypass)"));
  }
  if (!summary) return report(summary.error());
  if (auto closed = (*out)->close(); !closed) return report(closed.error());
  if (opts.json) {
    print_json({{"imported", summary->inserted}, {"already_present", summary->present}});
  } else {
    std::cout << "imported " << summary->inserted << " entries (" << summary->present
              << " already present); ledger size " << l->size() << "\n";
  }
  return kExitOk;
}

}  // namespace

void register_ledger_commands(CLI::App& app, Action& action) {
  // Option storage lives as long as the app (static: one app per process).
  static CommonOptions common;
  static QueryArgs query;
  static RangeOptions range;
  static std::string ref;
  static std::string path = "-";
  static std::string out;
  static bool verify = false;
  static bool quiet = false;
  static bool ancestors = false;
  static bool descendants = false;
  static unsigned depth = 16;

  auto* init = app.add_subcommand("init", "create an empty ledger");
  add_common_options(*init, common);
  init->callback([&] { action = [] { return run_init(common); }; });

  auto* stats = app.add_subcommand("stats", "print the ledger's size, head and format");
  add_common_options(*stats, common);
  stats->callback([&] { action = [] { return run_stats(common); }; });

  auto* show = app.add_subcommand("show", "print one entry by seq or id");
  add_common_options(*show, common);
  show->add_option("ref", ref, "seq number or 64-digit hex id")->required();
  show->callback([&] { action = [] { return run_show(common, ref); }; });

  auto* q = app.add_subcommand("query", "list entries matching all given filters");
  add_common_options(*q, common);
  q->add_option("--origin", query.origin, "emitter, e.g. detector.ddos");
  q->add_option("--kind", query.kind, "node kind, e.g. detector.alert");
  q->add_option("--walk", query.walk, "walk (run/session) id");
  q->add_option("--tag", query.tags, "tag the entry must carry (repeatable)");
  query.range.add_to(*q);
  q->add_option("--limit", query.limit, "at most this many entries (then a --cursor is printed)")
      ->check(non_negative_integer());
  q->add_flag("--newest-first", query.newest_first, "newest entries first");
  q->add_option("--cursor", query.cursor, "resume after a previous page (as printed)");
  q->callback([&] { action = [] { return run_query(common, query); }; });

  auto* w = app.add_subcommand(
      "lineage", "follow causal links from one entry: what led to it, or what it led to");
  add_common_options(*w, common);
  w->add_option("ref", ref, "seq number or 64-digit hex id")->required();
  auto* anc = w->add_flag("--ancestors", ancestors, "what led to it (default)");
  w->add_flag("--descendants", descendants, "what it led to")->excludes(anc);
  w->add_option("--depth", depth, "how many links to follow (default 16)")
      ->check(CLI::Range(1U, 1000U));
  w->callback([&] { action = [] { return run_lineage(common, ref, descendants, depth); }; });

  auto* rp = app.add_subcommand("replay", "visit entries in seq order, optionally verifying");
  add_common_options(*rp, common);
  range.add_to(*rp);
  rp->add_flag("--verify", verify, "recompute every leaf and chain hash; exit 1 on a mismatch");
  rp->add_flag("--quiet", quiet, "print only the summary");
  static std::string rerun;
  rp->add_option("--rerun", rerun,
                 "re-execute the detector run RUN_ID (a detector.run node id) from its recorded "
                 "inputs; exit 0 when its alerts match the record exactly, 1 where they diverge");
  rp->callback([&] {
    action = [] {
      if (!rerun.empty()) return run_rerun(common, rerun);
      return run_replay(common, range, verify, quiet);
    };
  });

  auto* vf = app.add_subcommand("verify",
                                "full check: ids, hash chain, Merkle tree, every index entry; exit "
                                "1 naming the first bad seq");
  add_common_options(*vf, common);
  static std::string verify_key;
  vf->add_option("--public-key", verify_key,
                 "check every stored checkpoint's signature with this verifier key (or a file "
                 "holding it), as `witness checkpoint --public-key` prints; default: the "
                 "ledger's own key, when readable");
  vf->callback([&] { action = [] { return run_verify(common, verify_key); }; });

  auto* mg = app.add_subcommand(
      "migrate",
      "convert a format 1 ledger into a new format 2 ledger (same entries, id, key, "
      "checkpoints and roots), verify it, and print both roots; SRC is left as it is");
  static std::string migrate_src;
  static std::string migrate_dst;
  static bool migrate_json = false;
  mg->add_option("src", migrate_src, "the format 1 ledger directory")->required();
  mg->add_option("dst", migrate_dst, "a new directory for the format 2 ledger")->required();
  mg->add_flag("--json", migrate_json, "machine-readable output");
  mg->callback([&] {
    action = [] {
      return run_migrate(CommonOptions{.json = migrate_json}, migrate_src, migrate_dst);
    };
  });

  auto* ex = app.add_subcommand("export", "write entries as canonical JSON Lines");
  add_common_options(*ex, common);
  range.add_to(*ex);
  ex->add_option("--out", out, "output file (default: stdout)");
  ex->callback([&] { action = [] { return run_export(common, range, out); }; });

  auto* im = app.add_subcommand("import", "append exported JSON Lines atomically, checking ids");
  add_common_options(*im, common);
  im->add_option("file", path, "input file, or - for stdin")->required();
  static bool no_gate = false;
  static bool restore = false;
  static std::string bypass_note;
  im->add_flag("--no-gate", no_gate,
               "import into a ledger with covenants anyway; recorded first as covenant.bypass");
  im->add_flag("--restore", restore,
               "also restore witness's own records (witness.* origins: covenants, denials, "
               "verdicts, detector runs) from a whole export; recorded first as covenant.bypass");
  im->add_option("--bypass-note", bypass_note, "why (with --no-gate or --restore)");
  im->callback(
      [&] { action = [] { return run_import(common, path, no_gate, restore, bypass_note); }; });
}

}  // namespace witness::tools
