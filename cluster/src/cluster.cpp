// The stream, the replica loop and the appending client over NATS JetStream (libnats, Debian
// libnats-dev 3.4). libnats stays in this file: the public header names none of it.
//
// Replica: an ordered push consumer from the ledger's size + 1 (libnats re-creates it after a
// gap or a lost server, from the last sequence it delivered); messages are taken in batches
// (what is pending, up to max_batch), applied in one synced ledger write, then reported on the
// applied subject with the ledger's size, root and head and the outcome of each message of the
// batch that was not appended. A heartbeat repeats the report when idle, so that a client that
// subscribed late still hears of entries applied before it looked.
//
// Client: subscribes to the reports first, publishes asynchronously (Nats-Msg-Id = node id),
// resends what JetStream did not acknowledge, then waits until `quorum` distinct replicas
// report a size that covers every sequence it got; outcomes not seen in a report are asked of
// the replicas (the outcome subject; any replica answers, from its ledger).
#include "witness/cluster/cluster.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <variant>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/merkle.hpp"
#include "witness/ledger/proof_json.hpp"

#include "json_fields.hpp"

namespace witness::cluster {
namespace {

using Json = nlohmann::json;
using detail::number_of;
using detail::text_of;

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p != nullptr) F(p);
  }
};
using ConnPtr = std::unique_ptr<natsConnection, Deleter<natsConnection, natsConnection_Destroy>>;
using JsPtr = std::unique_ptr<jsCtx, Deleter<jsCtx, jsCtx_Destroy>>;
using SubPtr =
    std::unique_ptr<natsSubscription, Deleter<natsSubscription, natsSubscription_Destroy>>;
using MsgPtr = std::unique_ptr<natsMsg, Deleter<natsMsg, natsMsg_Destroy>>;
using OptsPtr = std::unique_ptr<natsOptions, Deleter<natsOptions, natsOptions_Destroy>>;

Error nats_error(const std::string& what, natsStatus s,
                 jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string msg = what + ": " + natsStatus_GetText(s);
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0') {
    msg += " (" + std::string(last) + ")";
  }
  if (jerr != 0) msg += " [JetStream error " + std::to_string(static_cast<int>(jerr)) + "]";
  switch (s) {
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_STALE_CONNECTION:
    case NATS_NOT_YET_CONNECTED:
      return unavailable(msg);
    default:
      return internal_error(msg);
  }
}

Status check_name(const std::string& stream) {
  if (stream.empty() || stream.size() > 64 ||
      stream.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
          std::string::npos) {
    return invalid_argument("stream name \"" + stream +
                            "\": expected 1 to 64 of A-Z, a-z, 0-9, _ and -");
  }
  return ok_status();
}

struct Connection {
  ConnPtr nc;
  JsPtr js;
};

// Connects with endless reconnects (a cluster outlives any one server) and a JetStream context.
// `js_options` may set the asynchronous publish handlers.
Result<Connection> connect(const NatsOptions& o, const std::string& name,
                           jsOptions* js_options = nullptr) {
  WITNESS_RETURN_IF_ERROR(check_name(o.stream));
  if (o.servers.empty()) return invalid_argument("no NATS server given (--nats nats://host:port)");
  natsOptions* raw = nullptr;
  if (auto s = natsOptions_Create(&raw); s != NATS_OK) return nats_error("NATS options", s);
  OptsPtr opts(raw);
  std::vector<const char*> urls;
  urls.reserve(o.servers.size());
  for (const auto& u : o.servers) urls.push_back(u.c_str());
  natsStatus s = natsOptions_SetServers(opts.get(), urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts.get(), o.timeout.count());
  if (s == NATS_OK) s = natsOptions_SetName(opts.get(), name.c_str());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts.get(), true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts.get(), -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts.get(), 100);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts.get(), 1000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts.get(), 3);
  if (s != NATS_OK) return nats_error("NATS options", s);
  Connection c;
  natsConnection* nc = nullptr;
  if (s = natsConnection_Connect(&nc, opts.get()); s != NATS_OK) {
    std::string list;
    for (const auto& u : o.servers) list += (list.empty() ? "" : ",") + u;
    return nats_error("connecting to " + list, s);
  }
  c.nc.reset(nc);
  jsOptions jo;
  if (js_options == nullptr) {
    jsOptions_Init(&jo);
    js_options = &jo;
  }
  js_options->Wait = o.timeout.count();
  jsCtx* js = nullptr;
  if (s = natsConnection_JetStream(&js, c.nc.get(), js_options); s != NATS_OK) {
    return nats_error("JetStream", s);
  }
  c.js.reset(js);
  return c;
}

std::string_view data_of(natsMsg* m) {
  return {natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))};
}

// An outcome as a report or an answer carries it, and back.
Applied outcome_from(const Json& o) {
  const auto seq = number_of(o, "stream_seq");
  Applied a{.stream_seq = seq, .seq = seq - 1};
  const auto name = text_of(o, "outcome");
  a.outcome = name == "denied"     ? Outcome::kDenied
              : name == "rejected" ? Outcome::kRejected
                                   : Outcome::kAppended;
  a.reason = text_of(o, "reason");
  a.detail = text_of(o, "detail");
  return a;
}

// Publishes `request` on `subject` with a fresh inbox for replies and gathers every answer (a
// JSON object) until `wait` has passed or `enough` says so.
Result<std::vector<Json>> gather(const Connection& c, const std::string& subject,
                                 const std::string& request, std::chrono::milliseconds wait,
                                 const std::function<bool(const std::vector<Json>&)>& enough = {}) {
  natsInbox* inbox = nullptr;
  if (auto s = natsInbox_Create(&inbox); s != NATS_OK) return nats_error("inbox", s);
  const std::string box = inbox;
  natsInbox_Destroy(inbox);
  natsSubscription* raw = nullptr;
  if (auto s = natsConnection_SubscribeSync(&raw, c.nc.get(), box.c_str()); s != NATS_OK) {
    return nats_error("subscribing to answers", s);
  }
  SubPtr sub(raw);
  if (auto s = natsConnection_PublishRequest(c.nc.get(), subject.c_str(), box.c_str(),
                                             request.data(), static_cast<int>(request.size()));
      s != NATS_OK) {
    return nats_error("asking on " + subject, s);
  }
  std::vector<Json> out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!(enough && enough(out))) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub.get(), left.count()) != NATS_OK) break;
    MsgPtr owned(m);
    auto j = Json::parse(data_of(m), nullptr, false);
    if (j.is_object() && !text_of(j, "replica").empty()) out.push_back(std::move(j));
  }
  return out;
}

Json outcome_json(const Applied& a) {
  return Json{{"stream_seq", a.stream_seq},
              {"outcome", std::string(outcome_name(a.outcome))},
              {"reason", a.reason},
              {"detail", a.detail}};
}

}  // namespace

std::vector<std::string> split_servers(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = list.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

std::string nodes_subject(const std::string& stream) { return "witness." + stream + ".nodes"; }
std::string applied_subject(const std::string& stream) { return "witness." + stream + ".applied"; }
std::string outcome_subject(const std::string& stream) { return "witness." + stream + ".outcome"; }
std::string cosign_subject(const std::string& stream) { return "witness." + stream + ".cosign"; }
std::string consistency_subject(const std::string& stream) {
  return "witness." + stream + ".consistency";
}
std::string checkpoint_origin(const std::string& stream) { return "witness.cluster/" + stream; }

Status create_stream(const NatsOptions& nats, const StreamSetup& setup) {
  if (setup.replicas < 1 || setup.replicas > 5) {
    return invalid_argument("replicas: expected 1 to 5, got " + std::to_string(setup.replicas));
  }
  WITNESS_ASSIGN_OR_RETURN(auto c, connect(nats, "witness cluster init"));
  const std::string subject = nodes_subject(nats.stream);
  const char* subjects[] = {subject.c_str()};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = nats.stream.c_str();
  cfg.Subjects = subjects;  // NOLINT(cppcoreguidelines-pro-bounds-array-to-pointer-decay)
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = setup.replicas;
  cfg.DenyDelete = true;
  cfg.DenyPurge = true;
  cfg.Duplicates =
      std::chrono::duration_cast<std::chrono::nanoseconds>(setup.duplicate_window).count();
  cfg.MaxMsgs = setup.max_msgs;
  jsStreamInfo* si = nullptr;
  auto jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&si, c.js.get(), &cfg, nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return ok_status();
  }
  if (jerr != JSStreamNameExistErr) return nats_error("creating stream " + nats.stream, s, jerr);
  // It exists: it must be as immutable and on the same subject.
  s = js_GetStreamInfo(&si, c.js.get(), nats.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return nats_error("stream " + nats.stream, s, jerr);
  std::unique_ptr<jsStreamInfo, Deleter<jsStreamInfo, jsStreamInfo_Destroy>> info(si);
  const jsStreamConfig* have = info->Config;
  if (!have->DenyDelete || !have->DenyPurge) {
    return failed_precondition("stream " + nats.stream +
                               " exists and allows deletes or purges: a ledger's stream must "
                               "be immutable (deny_delete, deny_purge)");
  }
  if (have->SubjectsLen != 1 || subject != have->Subjects[0]) {  // NOLINT
    return failed_precondition("stream " + nats.stream + " exists with other subjects than " +
                               subject);
  }
  return ok_status();
}

// ---- replica ------------------------------------------------------------------------------

struct Replica::Impl {
  ledger::Ledger* ledger = nullptr;
  ReplicaOptions options;
  std::optional<Applier> applier;
  Connection conn;
  // Requests answered on the connection's thread: a subscription and what answers it.
  struct Responder {
    std::function<std::optional<Json>(const Json& request)> answer;
    SubPtr sub;
  };
  std::vector<std::unique_ptr<Responder>> responders;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> size{0};

  Result<SubPtr> subscribe_from(std::uint64_t seq) const;
  void report(std::uint64_t from, std::span<const Applied> applied);
  Status respond(const std::string& subject,
                 std::function<std::optional<Json>(const Json& request)> answer);
  static void on_request(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
  [[nodiscard]] Json outcomes(const Json& request) const;
  [[nodiscard]] Json cosign(const Json& request) const;
  [[nodiscard]] std::optional<Json> consistency(const Json& request) const;
};

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replica::~Replica() = default;
void Replica::stop() { impl_->stopping = true; }
std::uint64_t Replica::size() const { return impl_->size; }

Result<std::unique_ptr<Replica>> Replica::open(ledger::Ledger& ledger, ReplicaOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->ledger = &ledger;
  if (options.name.empty()) options.name = ledger.stats().ledger_id;
  impl->options = std::move(options);
  WITNESS_ASSIGN_OR_RETURN(auto applier, Applier::open(ledger, impl->options.apply));
  impl->applier.emplace(std::move(applier));
  impl->size = impl->applier->next_stream_seq() - 1;
  WITNESS_ASSIGN_OR_RETURN(impl->conn,
                           connect(impl->options.nats, "witness replica " + impl->options.name));
  // The stream must exist. While NATS elects its leaders (a server just restarted) the lookup
  // times out: that is waited for, up to 6 timeouts.
  for (int attempt = 0;; ++attempt) {
    jsStreamInfo* si = nullptr;
    auto jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetStreamInfo(&si, impl->conn.js.get(),
                                          impl->options.nats.stream.c_str(), nullptr, &jerr);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      break;
    }
    if (jerr == JSStreamNotFoundErr) {
      return not_found("no stream " + impl->options.nats.stream +
                       " (witness cluster init creates it)");
    }
    auto e = nats_error("stream " + impl->options.nats.stream, s, jerr);
    if (e.code != ErrorCode::kUnavailable || attempt == 5) return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Impl* self = impl.get();
  const std::string& stream = impl->options.nats.stream;
  WITNESS_RETURN_IF_ERROR(
      impl->respond(outcome_subject(stream), [self](const Json& r) { return self->outcomes(r); }));
  if (impl->options.signing_key) {
    WITNESS_RETURN_IF_ERROR(
        impl->respond(cosign_subject(stream), [self](const Json& r) { return self->cosign(r); }));
  }
  WITNESS_RETURN_IF_ERROR(impl->respond(consistency_subject(stream),
                                        [self](const Json& r) { return self->consistency(r); }));
  return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

Status Replica::Impl::respond(const std::string& subject,
                              std::function<std::optional<Json>(const Json& request)> answer) {
  auto r = std::make_unique<Responder>();
  r->answer = std::move(answer);
  natsSubscription* sub = nullptr;
  if (auto st = natsConnection_Subscribe(&sub, conn.nc.get(), subject.c_str(), &Impl::on_request,
                                         r.get());
      st != NATS_OK) {
    return nats_error("subscribing to " + subject, st);
  }
  r->sub.reset(sub);
  responders.push_back(std::move(r));
  return ok_status();
}

void Replica::Impl::on_request(natsConnection* nc, natsSubscription* /*sub*/, natsMsg* msg,
                               void* closure) {
  const auto* r = static_cast<const Responder*>(closure);
  MsgPtr owned(msg);
  const char* reply = natsMsg_GetReply(msg);
  if (reply == nullptr) return;
  const auto answer = r->answer(Json::parse(data_of(msg), nullptr, false));
  if (!answer) return;
  const std::string text = answer->dump();
  (void)natsConnection_Publish(nc, reply, text.data(), static_cast<int>(text.size()));
}

// {"seqs":[S, ...]} -> {"replica","size","outcomes":[...]} for those the ledger holds.
Json Replica::Impl::outcomes(const Json& req) const {
  const std::uint64_t held = size;
  Json out{{"replica", options.name}, {"size", held}, {"outcomes", Json::array()}};
  if (req.is_object() && req.contains("seqs") && req["seqs"].is_array()) {
    for (const auto& v : req["seqs"]) {
      if (!v.is_number_unsigned()) continue;
      const auto s = v.get<std::uint64_t>();
      if (s == 0 || s > held) continue;
      auto e = ledger->get(s - 1);
      if (!e) continue;
      out["outcomes"].push_back(outcome_json(describe_entry(*e)));
    }
  }
  return out;
}

// {"size":N} (or {} for the replica's own size) -> {"replica","size","verifier_key","note"}:
// the tree head at N signed with the replica's key, or "note":null when it does not hold N.
Json Replica::Impl::cosign(const Json& req) const {
  const std::uint64_t held = size;
  std::uint64_t at = held;
  if (req.is_object() && req.contains("size") && req["size"].is_number_unsigned()) {
    at = req["size"].get<std::uint64_t>();
  }
  const ledger::SigningKey& key = *options.signing_key;
  Json out{{"replica", options.name},
           {"size", held},
           {"verifier_key", ledger::verifier_key(options.name, key.public_key())},
           {"note", nullptr}};
  if (at <= held) {
    if (auto head = ledger->tree_head(at)) {
      out["note"] = ledger::sign_checkpoint(
          {.origin = checkpoint_origin(options.nats.stream), .size = at, .root = head->root}, key,
          options.name);
    }
  }
  return out;
}

// {"replica","size1","size2"} -> {"replica","proof"|"error"}, answered only by the replica
// named: its consistency proof between the two sizes, as `witness proof consistency` writes it.
std::optional<Json> Replica::Impl::consistency(const Json& req) const {
  if (!req.is_object() || text_of(req, "replica") != options.name) return std::nullopt;
  Json out{{"replica", options.name}};
  auto claim = ledger->consistency_proof(number_of(req, "size1"), number_of(req, "size2"));
  if (claim) {
    out["proof"] = ledger::to_proof_json(*claim);
  } else {
    out["error"] = claim.error().message;
  }
  return out;
}

Result<SubPtr> Replica::Impl::subscribe_from(std::uint64_t seq) const {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options.nats.stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = seq;
  natsSubscription* sub = nullptr;
  auto jerr = static_cast<jsErrCode>(0);
  const std::string subject = nodes_subject(options.nats.stream);
  if (auto s = js_SubscribeSync(&sub, conn.js.get(), subject.c_str(), nullptr, &so, &jerr);
      s != NATS_OK) {
    return nats_error("consuming " + options.nats.stream + " from " + std::to_string(seq), s, jerr);
  }
  return SubPtr(sub);
}

void Replica::Impl::report(std::uint64_t from, std::span<const Applied> applied) {
  const auto stats = ledger->stats();
  Json j{{"replica", options.name},
         {"from", from},
         {"size", stats.size},
         {"root", stats.merkle_root.to_hex()},
         {"head", stats.chain_head.to_hex()},
         {"outcomes", Json::array()}};
  for (const Applied& a : applied) {
    if (a.outcome != Outcome::kAppended) j["outcomes"].push_back(outcome_json(a));
  }
  const std::string text = j.dump();
  const std::string subject = applied_subject(options.nats.stream);
  (void)natsConnection_Publish(conn.nc.get(), subject.c_str(), text.data(),
                               static_cast<int>(text.size()));
}

// NOLINTNEXTLINE(readability-function-cognitive-complexity): the loop reads as one piece
Status Replica::run() {
  Impl& s = *impl_;
  SubPtr sub;
  // (Re)subscribes from what the ledger needs; NATS being away (kUnavailable) is waited out.
  auto resubscribe = [&]() -> Status {
    while (!s.stopping) {
      auto again = s.subscribe_from(s.applier->next_stream_seq());
      if (again) {
        sub = std::move(*again);
        return ok_status();
      }
      if (again.error().code != ErrorCode::kUnavailable) return again.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return ok_status();
  };
  WITNESS_RETURN_IF_ERROR(resubscribe());
  auto last_report = std::chrono::steady_clock::now();
  std::vector<StreamMessage> batch;
  while (!s.stopping) {
    batch.clear();
    std::uint64_t expected = s.applier->next_stream_seq();
    // The first message waits; the rest of the batch is what is already pending.
    int wait_ms = 100;
    while (batch.size() < s.options.max_batch) {
      natsMsg* raw = nullptr;
      const natsStatus st = natsSubscription_NextMsg(&raw, sub.get(), wait_ms);
      if (st == NATS_TIMEOUT) break;
      if (st != NATS_OK) {
        // The ordered consumer lost its way (slow consumer, missed heartbeats, a closed
        // subscription): start again from what the ledger needs.
        if (!batch.empty()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        WITNESS_RETURN_IF_ERROR(resubscribe());
        break;
      }
      MsgPtr m(raw);
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m.get()) != NATS_OK) continue;  // not a stream message
      const std::uint64_t seq = meta->Sequence.Stream;
      const std::int64_t ts = meta->Timestamp;
      jsMsgMetaData_Destroy(meta);
      if (seq < expected) continue;  // already applied (a redelivery after a reset)
      if (seq > expected) {
        // The stream does not hold `expected` any more, or the consumer skipped: look again
        // from `expected` once; if it still starts later, the retention has passed us.
        if (!batch.empty()) break;
        jsStreamInfo* si = nullptr;
        auto jerr = static_cast<jsErrCode>(0);
        if (js_GetStreamInfo(&si, s.conn.js.get(), s.options.nats.stream.c_str(), nullptr, &jerr) ==
            NATS_OK) {
          const std::uint64_t first = si->State.FirstSeq;
          jsStreamInfo_Destroy(si);
          if (first > expected) {
            return failed_precondition(
                "the stream's first message is " + std::to_string(first) +
                " but this ledger needs " + std::to_string(expected) +
                ": its retention has passed this replica (bootstrap it from a peer)");
          }
        }
        WITNESS_RETURN_IF_ERROR(resubscribe());
        break;
      }
      batch.push_back({.stream_seq = seq,
                       .time = ledger::Timestamp(std::chrono::nanoseconds(ts)),
                       .body = std::string(data_of(m.get()))});
      ++expected;
      int pending = 0;
      int bytes = 0;
      (void)natsSubscription_GetPending(sub.get(), &pending, &bytes);
      if (pending <= 0) break;
      wait_ms = 10;
    }
    const auto now = std::chrono::steady_clock::now();
    if (batch.empty()) {
      if (now - last_report >= s.options.heartbeat) {
        s.report(s.applier->next_stream_seq(), {});
        last_report = now;
      }
      continue;
    }
    WITNESS_ASSIGN_OR_RETURN(auto applied, s.applier->apply(batch));
    s.size = s.applier->next_stream_seq() - 1;
    s.report(batch.front().stream_seq, applied);
    last_report = now;
    if (s.options.on_apply) s.options.on_apply(applied);
  }
  return ok_status();
}

// ---- client -------------------------------------------------------------------------------

struct Client::Impl {
  NatsOptions nats;
  ClientOptions options;
  Connection conn;
  SubPtr applied_sub;
  std::mutex mu;
  // Per message id (hex): the stream sequence JetStream gave (what is not here is resent).
  std::unordered_map<std::string, std::uint64_t> acked;  // guarded by mu
  std::map<std::string, std::uint64_t> replica_size;     // replica -> size reported
  // What each replica says a wanted sequence became (its reports and answers). An outcome is
  // taken only when `quorum` replicas say the same: a replica whose ledger went its own way (a
  // fork) cannot tell a client that its node was denied, or appended.
  std::map<std::uint64_t, std::map<std::string, Applied>> votes;

  [[nodiscard]] std::optional<Applied> decided(std::uint64_t seq) const;
  void take_outcomes(const Json& answer, const std::set<std::uint64_t>& wanted);

  static void on_ack(jsCtx* js, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure);
  Status publish(const std::vector<std::string>& ids, const std::vector<std::string>& lines,
                 std::chrono::steady_clock::time_point deadline);
  void take_report(natsMsg* m, const std::set<std::uint64_t>& wanted);
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

void Client::Impl::on_ack(jsCtx* /*js*/, natsMsg* msg, jsPubAck* pa, jsPubAckErr* /*pae*/,
                          void* closure) {
  MsgPtr owned(msg);  // the handler owns the message (nats.h, jsPubAckHandler)
  auto* self = static_cast<Impl*>(closure);
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK || id == nullptr) return;
  std::lock_guard lock(self->mu);
  if (pa != nullptr) self->acked[id] = pa->Sequence;
}

Result<std::unique_ptr<Client>> Client::connect(const NatsOptions& nats, ClientOptions options) {
  if (options.quorum == 0) return invalid_argument("quorum: expected at least 1");
  auto impl = std::make_unique<Impl>();
  impl->nats = nats;
  impl->options = options;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = static_cast<int64_t>(options.max_pending);
  jo.PublishAsync.AckHandler = &Impl::on_ack;
  jo.PublishAsync.AckHandlerClosure = impl.get();
  WITNESS_ASSIGN_OR_RETURN(impl->conn, cluster::connect(nats, "witness append", &jo));
  natsSubscription* sub = nullptr;
  const std::string subject = applied_subject(nats.stream);
  if (auto s = natsConnection_SubscribeSync(&sub, impl->conn.nc.get(), subject.c_str());
      s != NATS_OK) {
    return nats_error("subscribing to " + subject, s);
  }
  impl->applied_sub.reset(sub);
  (void)natsSubscription_SetPendingLimits(sub, -1, -1);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Status Client::Impl::publish(const std::vector<std::string>& ids,
                             const std::vector<std::string>& lines,
                             std::chrono::steady_clock::time_point deadline) {
  const std::string subject = nodes_subject(nats.stream);
  std::vector<std::size_t> todo(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) todo[i] = i;
  while (!todo.empty()) {
    for (const std::size_t i : todo) {
      natsMsg* m = nullptr;
      natsStatus s = natsMsg_Create(&m, subject.c_str(), nullptr, lines[i].data(),
                                    static_cast<int>(lines[i].size()));
      if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", ids[i].c_str());
      if (s == NATS_OK) s = js_PublishMsgAsync(conn.js.get(), &m, nullptr);
      if (m != nullptr) natsMsg_Destroy(m);  // left to us only when the publish failed
      if (s != NATS_OK && s != NATS_TIMEOUT) return nats_error("publishing to " + subject, s);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    po.MaxWait = std::max<std::int64_t>(1, left.count());
    const natsStatus done = js_PublishAsyncComplete(conn.js.get(), &po);
    if (done == NATS_TIMEOUT) {
      // Drop what is still in flight; it is resent below, its id deduplicating.
      natsMsgList pending{};
      if (js_PublishAsyncGetPendingList(&pending, conn.js.get()) == NATS_OK) {
        natsMsgList_Destroy(&pending);
      }
    }
    std::vector<std::size_t> again;
    {
      std::lock_guard lock(mu);
      for (const std::size_t i : todo) {
        if (!acked.contains(ids[i])) again.push_back(i);
      }
    }
    if (!again.empty() && std::chrono::steady_clock::now() >= deadline) {
      return unavailable("JetStream did not acknowledge " + std::to_string(again.size()) +
                         " node(s) in time (the stream's servers unreachable?): retry");
    }
    if (!again.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    todo = std::move(again);
  }
  return ok_status();
}

void Client::Impl::take_report(natsMsg* m, const std::set<std::uint64_t>& wanted) {
  const auto j = Json::parse(data_of(m), nullptr, false);
  if (!j.is_object() || !j.contains("replica") || !j["replica"].is_string() ||
      !j.contains("size") || !j["size"].is_number_unsigned()) {
    return;
  }
  const std::string replica = j["replica"].get<std::string>();
  auto& size = replica_size[replica];
  const auto reported = j["size"].get<std::uint64_t>();
  size = std::max(size, reported);
  if (!j.contains("outcomes") || !j["outcomes"].is_array() || !j.contains("from") ||
      !j["from"].is_number_unsigned()) {
    return;
  }
  // The report's batch is [from, size]: what it does not list there was appended.
  for (auto it = wanted.lower_bound(j["from"].get<std::uint64_t>());
       it != wanted.end() && *it <= reported; ++it) {
    votes[*it][replica] = Applied{.stream_seq = *it, .seq = *it - 1};
  }
  for (const auto& o : j["outcomes"]) {
    if (!o.is_object()) continue;
    const auto seq = number_of(o, "stream_seq");
    if (wanted.contains(seq) && seq <= reported) votes[seq][replica] = outcome_from(o);
  }
}

// An answer to an outcome request lists every sequence asked that the replica holds.
void Client::Impl::take_outcomes(const Json& answer, const std::set<std::uint64_t>& wanted) {
  const std::string replica = text_of(answer, "replica");
  if (!answer.contains("outcomes") || !answer["outcomes"].is_array()) return;
  for (const auto& o : answer["outcomes"]) {
    if (!o.is_object()) continue;
    const auto seq = number_of(o, "stream_seq");
    if (wanted.contains(seq)) votes[seq][replica] = outcome_from(o);
  }
}

std::optional<Applied> Client::Impl::decided(std::uint64_t seq) const {
  const auto it = votes.find(seq);
  if (it == votes.end()) return std::nullopt;
  for (const auto& [replica, a] : it->second) {
    std::size_t same = 0;
    for (const auto& [other, b] : it->second) {
      same += a.outcome == b.outcome && a.reason == b.reason && a.detail == b.detail ? 1U : 0U;
    }
    if (same >= options.quorum) return a;
  }
  return std::nullopt;
}

// NOLINTNEXTLINE(readability-function-cognitive-complexity)
Result<std::vector<Ack>> Client::append(std::span<const ledger::TraceNode> nodes) {
  if (nodes.empty()) return std::vector<Ack>{};
  Impl& s = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + s.options.ack_timeout;
  std::vector<std::string> ids;
  std::vector<std::string> lines;
  ids.reserve(nodes.size());
  lines.reserve(nodes.size());
  for (const auto& n : nodes) {
    ids.push_back(n.id().to_hex());
    lines.push_back(ledger::to_json_line(n));
  }
  WITNESS_RETURN_IF_ERROR(s.publish(ids, lines, deadline));
  std::vector<std::uint64_t> seqs(nodes.size());
  std::set<std::uint64_t> wanted;
  {
    std::lock_guard lock(s.mu);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      seqs[i] = s.acked.at(ids[i]);
      wanted.insert(seqs[i]);
    }
    for (const auto& id : ids) s.acked.erase(id);
  }
  const std::uint64_t highest = wanted.empty() ? 0 : *wanted.rbegin();
  auto replicas_at = [&](std::uint64_t seq) {
    std::uint64_t n = 0;
    for (const auto& [name, size] : s.replica_size) n += size >= seq ? 1U : 0U;
    return n;
  };
  while (replicas_at(highest) < s.options.quorum) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return unavailable("only " + std::to_string(replicas_at(highest)) + " of the " +
                         std::to_string(s.options.quorum) +
                         " replicas needed reported stream sequence " + std::to_string(highest) +
                         " applied in time: the nodes are in the stream and will be applied; "
                         "retry to learn their outcome");
    }
    natsMsg* raw = nullptr;
    const natsStatus st = natsSubscription_NextMsg(&raw, s.applied_sub.get(),
                                                   std::min<std::int64_t>(left.count(), 200));
    if (st == NATS_TIMEOUT) continue;
    if (st != NATS_OK) return nats_error("waiting for replicas", st);
    MsgPtr m(raw);
    s.take_report(m.get(), wanted);
  }
  // Take the reports already here (without waiting): they may carry outcomes of our sequences.
  int pending = 0;
  int pending_bytes = 0;
  (void)natsSubscription_GetPending(s.applied_sub.get(), &pending, &pending_bytes);
  for (natsMsg* raw = nullptr;
       pending-- > 0 && natsSubscription_NextMsg(&raw, s.applied_sub.get(), 1) == NATS_OK;) {
    MsgPtr m(raw);
    s.take_report(m.get(), wanted);
  }
  // Outcomes: the reports' votes; the sequences without a quorum of equal votes (applied
  // before this client listened, e.g. a retried publish JetStream deduplicated, or disputed)
  // are asked of every replica, which answer from their ledgers.
  const auto undecided = [&] {
    Json ask = Json::array();
    for (const auto seq : wanted) {
      if (!s.decided(seq)) ask.push_back(seq);
    }
    return ask;
  };
  if (const Json ask = undecided(); !ask.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    WITNESS_ASSIGN_OR_RETURN(
        auto answers, gather(s.conn, outcome_subject(s.nats.stream), Json{{"seqs", ask}}.dump(),
                             std::max(std::chrono::milliseconds(1), std::min(left, s.nats.timeout)),
                             [&](const std::vector<Json>& got) {
                               if (!got.empty()) s.take_outcomes(got.back(), wanted);
                               return undecided().empty();
                             }));
    (void)answers;
    if (const Json still = undecided(); !still.empty()) {
      const auto seq = still.front().get<std::uint64_t>();
      std::string said;
      for (const auto& [replica, a] : s.votes[seq]) {
        said += (said.empty() ? "" : ", ") + replica + ": " + std::string(outcome_name(a.outcome)) +
                (a.reason.empty() ? "" : " (" + a.reason + ")");
      }
      return unavailable("no " + std::to_string(s.options.quorum) +
                         " replicas agree on what stream sequence " + std::to_string(seq) +
                         " became (" + (said.empty() ? "no answer" : said) +
                         "): a fork, or replicas still catching up; retry");
    }
  }
  std::vector<Ack> out;
  out.reserve(nodes.size());
  const std::uint64_t confirmed = replicas_at(highest);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    Ack a{.stream_seq = seqs[i], .seq = seqs[i] - 1, .id = nodes[i].id(), .replicas = confirmed};
    const Applied d = *s.decided(seqs[i]);
    a.outcome = d.outcome;
    a.reason = d.reason;
    a.detail = d.detail;
    out.push_back(std::move(a));
  }
  for (const auto seq : wanted) s.votes.erase(seq);
  return out;
}

// ---- cosigned checkpoints ----------------------------------------------------------------

namespace {

struct CosignAnswer {
  std::string replica;
  std::uint64_t size = 0;
  std::string verifier_key;
  std::optional<std::string> note;
};

// Every replica's answer to `request` on the cosign subject, gathered for `wait`.
Result<std::vector<CosignAnswer>> gather_cosign(const Connection& c, const std::string& stream,
                                                const std::string& request,
                                                std::chrono::milliseconds wait) {
  WITNESS_ASSIGN_OR_RETURN(auto answers, gather(c, cosign_subject(stream), request, wait));
  std::vector<CosignAnswer> out;
  out.reserve(answers.size());
  for (const auto& j : answers) {
    CosignAnswer a{.replica = text_of(j, "replica"),
                   .size = number_of(j, "size"),
                   .verifier_key = text_of(j, "verifier_key"),
                   .note = std::nullopt};
    if (j.contains("note") && j["note"].is_string()) a.note = j["note"].get<std::string>();
    out.push_back(std::move(a));
  }
  return out;
}

// Asks `replica` for its consistency proof from `since` to `root2` at `size2` and checks it:
// the proof's JSON and "holds", or why it does not.
std::pair<std::string, std::string> check_consistency(
    const Connection& c, const std::string& stream, const std::string& replica,
    const ledger::Checkpoint& since, std::uint64_t size2, const ledger::Digest& root2,
    std::chrono::milliseconds wait) {
  const std::string req =
      Json{{"replica", replica}, {"size1", since.size}, {"size2", size2}}.dump();
  const std::string subject = consistency_subject(stream);
  natsMsg* reply = nullptr;
  const natsStatus st = natsConnection_Request(&reply, c.nc.get(), subject.c_str(), req.data(),
                                               static_cast<int>(req.size()), wait.count());
  if (st != NATS_OK) {
    return {"", std::string("not checked: no answer (") + natsStatus_GetText(st) + ")"};
  }
  MsgPtr owned(reply);
  const auto j = Json::parse(data_of(reply), nullptr, false);
  const std::string proof = j.is_object() ? text_of(j, "proof") : std::string();
  if (proof.empty()) return {"", "fails: the replica gives no proof (" + text_of(j, "error") + ")"};
  auto claim = ledger::parse_proof_json(proof);
  if (!claim || !std::holds_alternative<ledger::ConsistencyClaim>(*claim)) {
    return {proof, "fails: not a consistency proof"};
  }
  const auto& p = std::get<ledger::ConsistencyClaim>(*claim).proof;
  if (auto v = ledger::verify_consistency(p, since.root, root2); !v) {
    return {proof, "fails: " + v.error().message};
  }
  return {proof, "holds"};
}

}  // namespace

// NOLINTNEXTLINE(readability-function-cognitive-complexity)
Result<Cosigned> cosign_checkpoint(const NatsOptions& nats, const CosignOptions& options) {
  if (options.quorum == 0) return invalid_argument("quorum: expected at least 1");
  WITNESS_ASSIGN_OR_RETURN(auto c, connect(nats, "witness cluster checkpoint"));
  std::uint64_t size = 0;
  if (options.size) {
    size = *options.size;
  } else {
    // The largest size that `quorum` replicas hold.
    WITNESS_ASSIGN_OR_RETURN(auto first, gather_cosign(c, nats.stream, "{}", options.wait));
    std::vector<std::uint64_t> sizes;
    sizes.reserve(first.size());
    for (const auto& a : first) sizes.push_back(a.size);
    std::sort(sizes.rbegin(), sizes.rend());
    if (sizes.size() < options.quorum) {
      return unavailable(std::to_string(sizes.size()) + " replica(s) answered, the quorum is " +
                         std::to_string(options.quorum) +
                         " (replicas cosign only when started with --key)");
    }
    size = sizes[options.quorum - 1];
  }
  WITNESS_ASSIGN_OR_RETURN(
      auto answers, gather_cosign(c, nats.stream, Json{{"size", size}}.dump(), options.wait));
  // Group the signed notes by the tree head they state.
  std::map<std::string, std::vector<const CosignAnswer*>> by_root;
  Cosigned out;
  for (const auto& a : answers) {
    if (!a.note) {
      out.behind.push_back(a.replica);
      continue;
    }
    auto cp = ledger::parse_checkpoint(*a.note);
    if (!cp || cp->size != size || cp->origin != checkpoint_origin(nats.stream)) continue;
    by_root[cp->root.to_hex()].push_back(&a);
  }
  const std::vector<const CosignAnswer*>* best = nullptr;
  for (const auto& [root, group] : by_root) {
    if (best == nullptr || group.size() > best->size()) best = &group;
  }
  for (const auto& [root, group] : by_root) {
    if (&group == best) continue;
    for (const auto* a : group) {
      out.forks.push_back({.replica = a->replica,
                           .root = ledger::parse_checkpoint(*a->note)->root,
                           .note = *a->note});
    }
  }
  if (best == nullptr || best->size() < options.quorum) {
    std::string why = std::to_string(best == nullptr ? 0 : best->size()) +
                      " replica(s) signed the same tree head at size " + std::to_string(size) +
                      ", the quorum is " + std::to_string(options.quorum);
    if (!out.forks.empty()) why += "; " + std::to_string(out.forks.size()) + " signed another root";
    if (!out.behind.empty()) {
      why += "; " + std::to_string(out.behind.size()) + " do not hold that size yet";
    }
    return unavailable(why);
  }
  std::vector<std::string> notes;
  for (const auto* a : *best) {
    notes.push_back(*a->note);
    out.signers.push_back(a->replica);
    out.verifier_keys.push_back(a->verifier_key);
  }
  WITNESS_ASSIGN_OR_RETURN(out.note, ledger::merge_signatures(notes));
  WITNESS_ASSIGN_OR_RETURN(out.checkpoint, ledger::parse_checkpoint(out.note));
  if (options.since) {
    auto since = ledger::parse_checkpoint(*options.since);
    if (!since) return since.error().with_context("since");
    if (since->size > size || since->size == 0) {
      return invalid_argument("since: its size " + std::to_string(since->size) +
                              " is not between 1 and " + std::to_string(size));
    }
    std::tie(out.consistency_proof, out.consistency) = check_consistency(
        c, nats.stream, out.signers.front(), *since, size, out.checkpoint.root, options.wait);
    if (out.consistency != "holds") {
      return corruption("the quorum's tree at " + std::to_string(size) +
                        " is not an extension of the earlier checkpoint at " +
                        std::to_string(since->size) + ": " + out.consistency);
    }
    for (auto& f : out.forks) {
      std::tie(f.consistency_proof, f.consistency) =
          check_consistency(c, nats.stream, f.replica, *since, size, f.root, options.wait);
    }
  }
  return out;
}

}  // namespace witness::cluster
