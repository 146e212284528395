// Routes: GET /checkpoint, /tile/..., /v1/... (docs/serve.md lists each with its parameters).
//
// Every parameter is checked before the ledger is asked: an unknown or repeated parameter, a
// malformed number, time or id is a 400 naming it. Entries are written as the CLI's --json
// writes them (ledger::to_entry_json), and embedded as that text, never re-serialised.
#include "router.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "witness/covenant/gated_ledger.hpp"
#include "witness/covenant/registry.hpp"
#include "witness/detect/detector_run.hpp"
#include "witness/ledger/append_jsonl.hpp"
#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/proof_json.hpp"
#include "witness/ledger/query.hpp"

#include "tlog_path.hpp"
#include "web_assets.hpp"

namespace witness::serve::detail {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
// The checkpoint changes with every append: clients may keep it a few seconds (tlog-tiles).
constexpr std::string_view kCheckpointCache = "public, max-age=2";
constexpr unsigned kMaxLineageDepth = 64;
constexpr std::string_view kExplorerPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

Response json_response(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

std::string json_text(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The query parameters of one route: only those named are allowed, each at most once unless
// it is a list.
class Params {
 public:
  static Result<Params> check(const std::multimap<std::string, std::string>& params,
                              std::initializer_list<std::string_view> allowed,
                              std::initializer_list<std::string_view> lists = {}) {
    for (auto it = params.begin(); it != params.end(); it = params.upper_bound(it->first)) {
      const std::string& name = it->first;
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string names;
        for (const auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
        return invalid_argument("unknown parameter \"" + name + "\"" +
                                (names.empty() ? std::string("; this resource takes none")
                                               : "; this resource takes " + names));
      }
      if (params.count(name) > 1 && std::find(lists.begin(), lists.end(), name) == lists.end()) {
        return invalid_argument("parameter \"" + name + "\" is given more than once");
      }
    }
    return Params(params);
  }

  [[nodiscard]] std::optional<std::string> text(const std::string& name) const {
    const auto it = params_.find(name);
    if (it == params_.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] std::vector<std::string> list(const std::string& name) const {
    std::vector<std::string> out;
    const auto [lo, hi] = params_.equal_range(name);
    for (auto it = lo; it != hi; ++it) out.push_back(it->second);
    return out;
  }
  [[nodiscard]] Result<std::optional<std::uint64_t>> number(const std::string& name) const {
    const auto t = text(name);
    if (!t) return std::optional<std::uint64_t>();
    WITNESS_ASSIGN_OR_RETURN(const auto v, parse_u64(*t, name));
    return std::optional<std::uint64_t>(v);
  }
  [[nodiscard]] Result<std::optional<ledger::Timestamp>> time(const std::string& name) const {
    const auto t = text(name);
    if (!t) return std::optional<ledger::Timestamp>();
    auto ts = ledger::parse_time(*t);
    if (!ts) return ts.error().with_context("parameter \"" + name + "\"");
    return std::optional<ledger::Timestamp>(*ts);
  }

  static Result<std::uint64_t> parse_u64(std::string_view text, std::string_view name) {
    const auto bad = [&] {
      return invalid_argument("parameter \"" + std::string(name) +
                              "\": expected a non-negative integer, got \"" + std::string(text) +
                              "\"");
    };
    std::uint64_t v = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc() || ptr != end) return bad();
    return v;
  }

 private:
  explicit Params(const std::multimap<std::string, std::string>& params) : params_(params) {}
  const std::multimap<std::string, std::string>& params_;
};

Result<ledger::NodeId> parse_id(std::string_view text) {
  auto id = ledger::NodeId::from_hex(text);
  if (!id) return invalid_argument("id \"" + std::string(text) + "\": expected 64 hex digits");
  return *id;
}

Result<Response> stats(const ledger::Ledger& ledger, const Request& req) {
  WITNESS_RETURN_IF_ERROR(Params::check(req.params, {}));
  const auto s = ledger.stats();
  Json j{{"size", s.size},
         {"merkle_root", s.merkle_root.to_hex()},
         {"chain_head", s.chain_head.to_hex()},
         {"format_version", s.format_version},
         {"ledger_id", s.ledger_id},
         {"origin", ledger.origin()}};
  const auto key = ledger.verifier_key();
  j["verifier_key"] = key ? Json(*key) : Json(nullptr);
  return json_response(json_text(j));
}

// A page's "limit" (1 to max_page, default 100 or max_page if less) and "cursor" into `q`.
Status page_of(const Params& p, std::size_t max_page, ledger::Query& q) {
  WITNESS_ASSIGN_OR_RETURN(const auto limit, p.number("limit"));
  if (limit && (*limit == 0 || *limit > max_page)) {
    return invalid_argument("parameter \"limit\": expected 1 to " + std::to_string(max_page) +
                            ", got " + std::to_string(*limit));
  }
  q.limit = static_cast<std::size_t>(limit.value_or(std::min<std::size_t>(100, max_page)));
  if (const auto cursor = p.text("cursor")) {
    auto c = ledger::Cursor::parse(*cursor);
    if (!c) return c.error().with_context("parameter \"cursor\"");
    q.cursor = *c;
  }
  return ok_status();
}

// `head`, the entries `q` finds (as the CLI's --json writes them), then "],\"next_cursor\":..}".
Result<std::string> entries_json(const ledger::Ledger& ledger, const ledger::Query& q,
                                 std::string head) {
  WITNESS_ASSIGN_OR_RETURN(auto result, ledger.query(q));
  std::string body = std::move(head);
  bool first = true;
  for (const ledger::Entry& e : result) {
    if (!first) body += ',';
    first = false;
    body += ledger::to_entry_json(e);
  }
  WITNESS_RETURN_IF_ERROR(result.status());
  body += "],\"next_cursor\":";
  const auto next = result.next_cursor();
  body += next ? ledger::quote_json_string(next->to_string()) : "null";
  body += '}';
  return body;
}

Result<Response> entries(const ledger::Ledger& ledger, const Request& req, std::size_t max_page) {
  WITNESS_ASSIGN_OR_RETURN(
      const auto p, Params::check(req.params,
                                  {"origin", "kind", "walk", "tag", "since", "until", "from_seq",
                                   "to_seq", "order", "limit", "cursor"},
                                  {"tag"}));
  ledger::Query q;
  q.origin = p.text("origin");
  q.kind = p.text("kind");
  q.walk = p.text("walk");
  q.tags = p.list("tag");
  WITNESS_ASSIGN_OR_RETURN(q.since, p.time("since"));
  WITNESS_ASSIGN_OR_RETURN(q.until, p.time("until"));
  WITNESS_ASSIGN_OR_RETURN(q.from_seq, p.number("from_seq"));
  WITNESS_ASSIGN_OR_RETURN(q.to_seq, p.number("to_seq"));
  if (const auto order = p.text("order")) {
    if (*order == "newest") {
      q.order = ledger::Order::kNewestFirst;
    } else if (*order != "oldest") {
      return invalid_argument(R"(parameter "order": expected oldest or newest, got ")" + *order +
                              "\"");
    }
  }
  WITNESS_RETURN_IF_ERROR(page_of(p, max_page, q));
  if (q.since && q.until && *q.since > *q.until) {
    return invalid_argument(R"(parameter "since" is later than "until")");
  }
  WITNESS_ASSIGN_OR_RETURN(auto body, entries_json(ledger, q, "{\"entries\":["));
  return json_response(std::move(body));
}

// The detector's recorded runs, newest first (GET /v1/detector/runs).
Result<Response> detector_runs(const ledger::Ledger& ledger, const Request& req,
                               std::size_t max_page) {
  WITNESS_ASSIGN_OR_RETURN(const auto p, Params::check(req.params, {"limit", "cursor"}));
  ledger::Query q{.origin = detect::kDetectorOrigin,
                  .kind = "detector.run",
                  .order = ledger::Order::kNewestFirst};
  WITNESS_RETURN_IF_ERROR(page_of(p, max_page, q));
  WITNESS_ASSIGN_OR_RETURN(auto body, entries_json(ledger, q, "{\"runs\":["));
  return json_response(std::move(body));
}

// One run and a page of its alerts, oldest first (GET /v1/detector/runs/<id>).
Result<Response> detector_run(const ledger::Ledger& ledger, const Request& req,
                              std::string_view hex, std::size_t max_page) {
  WITNESS_ASSIGN_OR_RETURN(const auto p, Params::check(req.params, {"limit", "cursor"}));
  WITNESS_ASSIGN_OR_RETURN(const auto id, parse_id(hex));
  WITNESS_ASSIGN_OR_RETURN(const auto run, ledger.find(id));
  if (run.node.kind() != "detector.run" || run.node.origin() != detect::kDetectorOrigin ||
      !run.node.walk()) {
    return invalid_argument("entry " + std::string(hex) + " is a " + run.node.kind() + " of " +
                            run.node.origin() + ", not a detector run");
  }
  ledger::Query q{
      .origin = detect::kDetectorOrigin, .kind = "detector.alert", .walk = *run.node.walk()};
  WITNESS_RETURN_IF_ERROR(page_of(p, max_page, q));
  WITNESS_ASSIGN_OR_RETURN(
      auto body,
      entries_json(ledger, q, "{\"run\":" + ledger::to_entry_json(run) + ",\"alerts\":["));
  return json_response(std::move(body));
}

Result<Response> one_entry(const ledger::Ledger& ledger, const Request& req,
                           std::string_view seq_text) {
  WITNESS_RETURN_IF_ERROR(Params::check(req.params, {}));
  WITNESS_ASSIGN_OR_RETURN(const auto seq, Params::parse_u64(seq_text, "seq"));
  WITNESS_ASSIGN_OR_RETURN(const auto e, ledger.get(seq));
  return json_response(ledger::to_entry_json(e));
}

Result<Response> by_id(const ledger::Ledger& ledger, const Request& req, std::string_view hex) {
  WITNESS_RETURN_IF_ERROR(Params::check(req.params, {}));
  WITNESS_ASSIGN_OR_RETURN(const auto id, parse_id(hex));
  WITNESS_ASSIGN_OR_RETURN(const auto e, ledger.find(id));
  return json_response(ledger::to_entry_json(e));
}

Result<Response> lineage(const ledger::Ledger& ledger, const Request& req, std::string_view hex) {
  WITNESS_ASSIGN_OR_RETURN(const auto p, Params::check(req.params, {"direction", "depth"}));
  WITNESS_ASSIGN_OR_RETURN(const auto id, parse_id(hex));
  auto direction = ledger::Direction::kAncestors;
  if (const auto d = p.text("direction")) {
    if (*d == "descendants") {
      direction = ledger::Direction::kDescendants;
    } else if (*d != "ancestors") {
      return invalid_argument(R"(parameter "direction": expected ancestors or descendants, got ")" +
                              *d + "\"");
    }
  }
  WITNESS_ASSIGN_OR_RETURN(const auto depth, p.number("depth"));
  if (depth && (*depth == 0 || *depth > kMaxLineageDepth)) {
    return invalid_argument("parameter \"depth\": expected 1 to " +
                            std::to_string(kMaxLineageDepth));
  }
  WITNESS_ASSIGN_OR_RETURN(const auto start, ledger.find(id));
  WITNESS_ASSIGN_OR_RETURN(const auto steps,
                           ledger.lineage(id, direction, static_cast<unsigned>(depth.value_or(1))));
  std::string body = "{\"start\":" + ledger::to_entry_json(start) + ",\"steps\":[";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    if (i != 0) body += ',';
    body += R"({"depth":)" + std::to_string(s.depth) + R"(,"relation":)" +
            ledger::quote_json_string(ledger::relation_name(s.relation)) + R"(,"from":")" +
            s.from.to_hex() + R"(","entry":)" + ledger::to_entry_json(s.entry) + "}";
  }
  body += "]}";
  return json_response(std::move(body));
}

Result<Response> inclusion(const ledger::Ledger& ledger, const Request& req) {
  WITNESS_ASSIGN_OR_RETURN(const auto p, Params::check(req.params, {"seq", "size"}));
  WITNESS_ASSIGN_OR_RETURN(const auto seq, p.number("seq"));
  if (!seq) return invalid_argument("parameter \"seq\" is required");
  WITNESS_ASSIGN_OR_RETURN(const auto size, p.number("size"));
  WITNESS_ASSIGN_OR_RETURN(const auto claim, ledger.inclusion_proof(*seq, size));
  return json_response(ledger::to_proof_json(claim));
}

Result<Response> consistency(const ledger::Ledger& ledger, const Request& req) {
  WITNESS_ASSIGN_OR_RETURN(const auto p, Params::check(req.params, {"size1", "size2"}));
  WITNESS_ASSIGN_OR_RETURN(const auto size1, p.number("size1"));
  WITNESS_ASSIGN_OR_RETURN(const auto size2, p.number("size2"));
  if (!size1) return invalid_argument("parameter \"size1\" is required");
  const auto to = size2 ? *size2 : ledger.size();
  WITNESS_ASSIGN_OR_RETURN(const auto claim, ledger.consistency_proof(*size1, to));
  return json_response(ledger::to_proof_json(claim));
}

const char* outcome_name(const ledger::Appended& a) {
  switch (a.outcome) {
    case ledger::AppendOutcome::kAppended:
      return a.result.inserted ? "appended" : "present";
    case ledger::AppendOutcome::kRefused:
      return "refused";
    case ledger::AppendOutcome::kWithheld:
      return "withheld";
  }
  return "withheld";
}

// POST /v1/append: the body is JSON Lines, appended as one atomic batch through the gate, as
// `witness append FILE` does. 200 when every node is in the ledger, 403 when the gate refused
// any (their denials recorded; nothing else written), 400 for a bad line (nothing written).
// The route takes no parameters, and does not look at the Content-Type: a client that sends
// JSON Lines as a form (curl -d, Python's urllib) has httplib parse the body into parameters
// as well, so those are not checked here.
Result<Response> append(ledger::Appender& out, const Request& req) {
  std::istringstream in(req.body);
  Json results = Json::array();
  ledger::JsonlEvents events;
  events.on_line = [&](std::uint64_t line, const ledger::TraceNode& node,
                       const ledger::Appended& a) {
    Json r{{"line", line}, {"id", node.id().to_hex()}, {"outcome", outcome_name(a)}};
    if (a.appended()) r["seq"] = a.result.seq;
    if (a.refused()) r["refusal"] = a.refusal_message();
    results.push_back(std::move(r));
  };
  WITNESS_ASSIGN_OR_RETURN(const auto summary, ledger::append_jsonl(out, in, {}, events));
  Response r = json_response(json_text(Json{{"lines", summary.lines},
                                            {"appended", summary.inserted},
                                            {"present", summary.present},
                                            {"refused", summary.refused},
                                            {"withheld", summary.withheld},
                                            {"results", std::move(results)}}));
  if (summary.refused > 0) r.status = 403;
  return r;
}

Result<Response> checkpoints(const ledger::Ledger& ledger, const Request& req) {
  WITNESS_RETURN_IF_ERROR(Params::check(req.params, {}));
  WITNESS_ASSIGN_OR_RETURN(const auto notes, ledger.checkpoints());
  Json j{{"checkpoints", notes}};
  return json_response(json_text(j));
}

// Server-Sent Events: one "entry" event per entry appended, from the seq asked for on, each
// with its seq as the event id (so a reconnecting EventSource resumes after the last it saw),
// and a comment line every 15 s so that proxies keep the connection.
class EntryStream {
 public:
  EntryStream(const ledger::Ledger& ledger, ledger::SequenceNumber next,
              const std::atomic<bool>& stopping, std::shared_ptr<std::atomic<std::size_t>> open)
      : ledger_(ledger), next_(next), stopping_(stopping), open_(std::move(open)) {}
  EntryStream(const EntryStream&) = delete;
  EntryStream& operator=(const EntryStream&) = delete;
  ~EntryStream() { --*open_; }

  bool next(std::string& chunk) {
    using Clock = std::chrono::steady_clock;
    const auto until = Clock::now() + kWait;
    while (!stopping_ && ledger_.size() <= next_ && Clock::now() < until) {
      std::this_thread::sleep_for(kPoll);
    }
    if (stopping_) return false;
    const ledger::SequenceNumber end =
        std::min<ledger::SequenceNumber>(ledger_.size(), next_ + kBatch);
    for (; next_ < end; ++next_) {
      auto e = ledger_.get(next_);
      if (!e) return false;  // the client reconnects, with Last-Event-ID
      chunk += "id: " + std::to_string(next_) +
               "\nevent: entry\ndata: " + ledger::to_entry_json(*e) + "\n\n";
    }
    if (chunk.empty() && Clock::now() - last_sent_ >= kHeartbeat) chunk = ": keep-alive\n\n";
    if (!chunk.empty()) last_sent_ = Clock::now();
    return true;
  }

 private:
  static constexpr auto kWait = std::chrono::seconds(1);
  static constexpr auto kPoll = std::chrono::milliseconds(50);
  static constexpr auto kHeartbeat = std::chrono::seconds(15);
  static constexpr ledger::SequenceNumber kBatch = 256;
  const ledger::Ledger& ledger_;
  ledger::SequenceNumber next_;
  const std::atomic<bool>& stopping_;
  std::shared_ptr<std::atomic<std::size_t>> open_;
  std::chrono::steady_clock::time_point last_sent_ = std::chrono::steady_clock::now();
};

}  // namespace

namespace {

std::string now_rfc3339() {
  return ledger::format_rfc3339(
      std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()));
}

Json report_json(const ledger::VerifyReport& r) {
  Json j{{"ok", r.ok()},
         {"entries", r.entries},
         {"index_entries", r.index_entries},
         {"merkle_nodes", r.merkle_nodes},
         {"checkpoints", r.checkpoints},
         {"signatures_checked", r.signatures_checked},
         {"chain_head", r.chain_head.to_hex()},
         {"merkle_root", r.merkle_root.to_hex()}};
  if (r.problem) {
    j["problem"] = {{"seq", r.problem->seq ? Json(*r.problem->seq) : Json(nullptr)},
                    {"what", r.problem->what}};
  } else {
    j["problem"] = nullptr;
  }
  return j;
}

}  // namespace

// GET /v1/agents: every covenant, its state, its budget per dimension (limit and spent, for
// the explorer's bars), its rate and expiry, and the denials of its subject: how many, and the
// newest few. The gate is rebuilt from the ledger's covenant records for each request.
// `live`: the gate appends go through in this server (its exact counts), else null: the gate
// is rebuilt from the ledger, whose spending is what covenant leases took less what settles
// gave back (what a restarted gate counts: at least what was spent).
Result<Response> agents(const ledger::Ledger& ledger, covenant::Gate* live, const Request& req) {
  WITNESS_RETURN_IF_ERROR(Params::check(req.params, {}));
  std::optional<covenant::LoadedGate> loaded;
  if (live == nullptr) {
    WITNESS_ASSIGN_OR_RETURN(auto rebuilt, covenant::load_gate(ledger));
    loaded.emplace(std::move(rebuilt));
  }
  const covenant::Gate& gate = live != nullptr ? *live : loaded->gate;
  constexpr std::size_t kRecentDenials = 5;
  constexpr std::size_t kMaxCounted = 100000;
  Json list = Json::array();
  for (const auto& item : gate.covenants()) {
    const covenant::Covenant& c = item.covenant;
    Json budget = Json::object();
    const auto spent = gate.spent(c.id);
    for (std::size_t d = 0; d < covenant::kDimensions; ++d) {
      const auto dim = static_cast<covenant::Dimension>(d);
      const auto& limit = c.rights.budget[dim];
      const std::uint64_t used = spent ? (*spent)[dim] : 0;
      if (!limit && used == 0) continue;
      budget[std::string(covenant::dimension_name(dim))] = {
          {"limit", limit ? Json(*limit) : Json(nullptr)}, {"spent", used}};
    }
    // The subject's denials, newest first (the gate tags each with its subject).
    auto denials = ledger.query({.kind = std::string(covenant::kDenialKind),
                                 .tags = {"subject:" + c.subject},
                                 .order = ledger::Order::kNewestFirst,
                                 .limit = kMaxCounted});
    if (!denials) return denials.error();
    std::size_t count = 0;
    Json recent = Json::array();
    for (const ledger::Entry& e : *denials) {
      if (count++ < kRecentDenials) {
        const Json p = Json::parse(e.node.payload_json(), nullptr, false);
        recent.push_back({{"seq", e.seq},
                          {"timestamp", ledger::format_rfc3339(e.node.timestamp())},
                          {"reason", p.is_object() ? p.value("reason", "") : ""},
                          {"explanation", p.is_object() ? p.value("explanation", "") : ""}});
      }
    }
    WITNESS_RETURN_IF_ERROR(denials->status());
    Json rate = nullptr;
    if (c.rights.rate) {
      rate = {{"per_second", c.rights.rate->per_second}, {"burst", c.rights.rate->burst}};
    }
    list.push_back({{"covenant", c.id},
                    {"subject", c.subject},
                    {"issuer", c.issuer},
                    {"parent", c.parent ? Json(*c.parent) : Json(nullptr)},
                    {"state", item.revoked    ? "revoked"
                              : item.in_force ? "in force"
                                              : "superseded"},
                    {"signed", c.public_key.has_value()},
                    {"expires", c.rights.expires ? Json(ledger::format_rfc3339(*c.rights.expires))
                                                 : Json(nullptr)},
                    {"rate", std::move(rate)},
                    {"budget", std::move(budget)},
                    {"denials", count},
                    {"denials_counted_to", kMaxCounted},
                    {"recent_denials", std::move(recent)}});
  }
  return json_response(json_text(
      Json{{"agents", std::move(list)}, {"spending", live != nullptr ? "live" : "leased"}}));
}

// GET /v1/verify: the job's state; POST /v1/verify: start one (202), unless one is running
// (409). The full check of Ledger::verify, with its progress in entries.
Result<Response> Router::verify(const Request& req) {
  WITNESS_RETURN_IF_ERROR(Params::check(req.params, {}));
  VerifyJob& job = verify_job_;
  std::lock_guard lock(job.mu);
  if (req.method == "POST") {
    if (job.state == "running") {
      return failed_precondition("a verification is running already (GET /v1/verify)");
    }
    if (stopping_) return unavailable("the server is stopping");
    if (job.thread.joinable()) job.thread.join();  // the last one, finished
    job.state = "running";
    job.done = 0;
    job.total = ledger_.size();
    job.started = now_rfc3339();
    job.finished.clear();
    job.result.clear();
    job.thread = std::thread([this, &job] {
      auto report = ledger_.verify([&job](std::uint64_t done, std::uint64_t total) {
        std::lock_guard progress_lock(job.mu);
        job.done = done;
        job.total = total;
      });
      std::lock_guard done_lock(job.mu);
      job.finished = now_rfc3339();
      if (report) {
        job.state = "done";
        job.result = json_text(report_json(*report));
      } else {
        job.state = "failed";
        job.result = json_text(Json{{"code", error_code_name(report.error().code)},
                                    {"message", report.error().message}});
      }
    });
  }
  std::string body = json_text(Json{{"state", job.state},
                                    {"done", job.done},
                                    {"total", job.total},
                                    {"started", job.started},
                                    {"finished", job.finished}});
  body.pop_back();  // the closing brace: the report is JSON text already
  body += std::string(",\"") + (job.state == "failed" ? "error" : "report") +
          "\":" + (job.result.empty() ? "null" : job.result) + "}";
  Response r = json_response(std::move(body));
  if (req.method == "POST") r.status = 202;
  return r;
}

void Router::stop() {
  stopping_ = true;
  std::thread running;
  {
    std::lock_guard lock(verify_job_.mu);
    running = std::move(verify_job_.thread);
  }
  if (running.joinable()) running.join();
}

Router::~Router() { stop(); }

Result<Response> Router::events(const Request& req) {
  WITNESS_ASSIGN_OR_RETURN(const auto p, Params::check(req.params, {"from_seq"}));
  WITNESS_ASSIGN_OR_RETURN(auto from, p.number("from_seq"));
  if (!from && !req.last_event_id.empty()) {
    WITNESS_ASSIGN_OR_RETURN(const auto last,
                             Params::parse_u64(req.last_event_id, "Last-Event-ID"));
    from = last + 1;
  }
  if (stopping_) return unavailable("the server is stopping");
  if (++*streams_ > max_streams_) {
    --*streams_;
    return unavailable("too many event streams open (" + std::to_string(max_streams_) +
                       "); try again later");
  }
  auto stream =
      std::make_shared<EntryStream>(ledger_, from.value_or(ledger_.size()), stopping_, streams_);
  Response r;
  r.content_type = "text/event-stream";
  r.stream = [stream](std::string& chunk) { return stream->next(chunk); };
  return r;
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

Response error_response(const Error& error) {
  Response r;
  r.status = http_status(error.code);
  r.body = json_text(
      Json{{"error", {{"code", error_code_name(error.code)}, {"message", error.message}}}});
  return r;
}

Router::Router(ledger::Ledger& ledger, const ServeOptions& options, ledger::Appender* appender,
               covenant::Gate* live_gate)
    : ledger_(ledger),
      appender_(appender),
      live_gate_(live_gate),
      max_page_(options.max_page),
      bearer_token_(options.bearer_token),
      cors_origin_(options.cors_origin),
      max_streams_(options.max_streams) {}

bool Router::authorized(std::string_view given) const {
  if (bearer_token_.empty()) return true;
  constexpr std::string_view kScheme = "Bearer ";
  if (!given.starts_with(kScheme)) return false;
  const std::string_view token = given.substr(kScheme.size());
  // In time independent of where the first difference is.
  unsigned diff = token.size() == bearer_token_.size() ? 0U : 1U;
  for (std::size_t i = 0; i < bearer_token_.size(); ++i) {
    const char other = i < token.size() ? token[i] : '\0';
    diff |= static_cast<unsigned>(static_cast<unsigned char>(bearer_token_[i]) ^
                                  static_cast<unsigned char>(other));
  }
  return diff == 0;
}

Response Router::handle(const Request& request) {
  // CORS, when configured: the configured origin (or any, for "*") may read the answers; a
  // preflight is answered here, before the token (browsers send it without credentials).
  const bool cors = !cors_origin_.empty() && !request.origin.empty() &&
                    (cors_origin_ == "*" || request.origin == cors_origin_);
  if (cors && request.method == "OPTIONS") {
    Response r;
    r.status = 204;
    r.headers = {{"Access-Control-Allow-Origin", cors_origin_ == "*" ? "*" : request.origin},
                 {"Access-Control-Allow-Methods", "GET, HEAD, POST"},
                 {"Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID"},
                 {"Access-Control-Max-Age", "600"},
                 {"Vary", "Origin"}};
    return r;
  }
  Response r = route(request);
  if (cors) {
    r.headers.emplace_back("Access-Control-Allow-Origin",
                           cors_origin_ == "*" ? "*" : request.origin);
    r.headers.emplace_back("Vary", "Origin");
  }
  return r;
}

Response Router::route(const Request& request) {
  if (!authorized(request.authorization)) {
    Response r = error_response(invalid_argument(
        request.authorization.empty() ? "this server takes requests with a bearer token only "
                                        "(Authorization: Bearer <token>)"
                                      : "the bearer token is not this server's"));
    r.status = 401;
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (request.method == "POST" && request.path == "/v1/append") {
    if (appender_ == nullptr) {
      Response r = error_response(invalid_argument(
          "POST /v1/append: this server is read-only (start it with --allow-append)"));
      r.status = 405;
      return r;
    }
    auto appended = append(*appender_, request);
    if (!appended) return error_response(appended.error());
    return std::move(*appended);
  }
  if (request.path == "/v1/verify" && (request.method == "POST" || request.method == "GET")) {
    auto answered = verify(request);
    if (!answered) return error_response(answered.error());
    return std::move(*answered);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    Response r = error_response(invalid_argument(request.method + " " + request.path +
                                                 ": this resource is read-only (GET only)"));
    r.status = 405;
    return r;
  }
  Result<Response> r = [&]() -> Result<Response> {
    const std::string_view path = request.path;
    if (path == "/checkpoint") {
      WITNESS_RETURN_IF_ERROR(Params::check(request.params, {}));
      return checkpoint();
    }
    if (path.starts_with("/tile/")) {
      WITNESS_RETURN_IF_ERROR(Params::check(request.params, {}));
      return tile(path.substr(1));
    }
    if (path.starts_with("/v1/")) return api(request);
    for (const WebAsset& asset : web_assets()) {
      if (asset.path != path) continue;
      WITNESS_RETURN_IF_ERROR(Params::check(request.params, {}));
      Response page;
      page.content_type = std::string(asset.content_type);
      page.body = std::string(asset.body);
      page.cache_control = "no-cache";
      // The page loads nothing but this origin's own files and API.
      page.headers.emplace_back("Content-Security-Policy", std::string(kExplorerPolicy));
      page.headers.emplace_back("Referrer-Policy", "no-referrer");
      return page;
    }
    return not_found("no resource at " + std::string(path) +
                     " (the explorer is at /, the API under /v1/, the tiled log at "
                     "/checkpoint and /tile/)");
  }();
  if (!r) return error_response(r.error());
  return std::move(*r);
}

Result<Response> Router::checkpoint() {
  // One signature per tree size: the note is kept until the ledger grows.
  const std::uint64_t size = ledger_.size();
  std::lock_guard lock(checkpoint_mu_);
  if (!checkpoint_ || checkpoint_->first != size) {
    if (!ledger_.verifier_key()) {
      return not_found("this ledger has no signing key, so no checkpoint to serve");
    }
    WITNESS_ASSIGN_OR_RETURN(auto note, ledger_.checkpoint());
    WITNESS_ASSIGN_OR_RETURN(const auto cp, ledger::parse_checkpoint(note));
    checkpoint_.emplace(cp.size, std::move(note));
  }
  Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = checkpoint_->second;
  r.cache_control = std::string(kCheckpointCache);
  return r;
}

Result<Response> Router::tile(std::string_view path) {
  WITNESS_ASSIGN_OR_RETURN(const TilePath t, parse_tile_path(path));
  Response r;
  r.content_type = "application/octet-stream";
  r.cache_control = std::string(kImmutable);
  if (t.entries) {
    WITNESS_ASSIGN_OR_RETURN(r.body, ledger_.tlog_entry_bundle(t.index, t.width));
  } else {
    WITNESS_ASSIGN_OR_RETURN(r.body, ledger_.tlog_tile(t.level, t.index, t.width));
  }
  return r;
}

Result<Response> Router::api(const Request& req) {
  const std::string_view path = std::string_view(req.path).substr(4);  // after "/v1/"
  const auto under = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (!path.starts_with(prefix) || path.size() == prefix.size()) return std::nullopt;
    const auto rest = path.substr(prefix.size());
    if (rest.find('/') != std::string_view::npos) return std::nullopt;
    return rest;
  };
  if (path == "stats") return stats(ledger_, req);
  if (path == "entries") return entries(ledger_, req, max_page_);
  if (path == "checkpoints") return checkpoints(ledger_, req);
  if (path == "events") return events(req);
  if (path == "agents") return agents(ledger_, live_gate_, req);
  if (path == "proofs/inclusion") return inclusion(ledger_, req);
  if (path == "proofs/consistency") return consistency(ledger_, req);
  if (const auto seq = under("entries/")) return one_entry(ledger_, req, *seq);
  if (const auto id = under("ids/")) return by_id(ledger_, req, *id);
  if (const auto id = under("lineage/")) return lineage(ledger_, req, *id);
  if (path == "detector/runs") return detector_runs(ledger_, req, max_page_);
  if (const auto id = under("detector/runs/")) return detector_run(ledger_, req, *id, max_page_);
  return not_found("no resource at " + req.path +
                   " (see docs/serve.md: /v1/stats, /v1/entries, /v1/entries/<seq>, "
                   "/v1/ids/<id>, /v1/lineage/<id>, /v1/proofs/inclusion, "
                   "/v1/proofs/consistency, /v1/checkpoints, /v1/events, /v1/agents, /v1/verify, "
                   "/v1/detector/runs, /v1/detector/runs/<id>)");
}

}  // namespace witness::serve::detail
