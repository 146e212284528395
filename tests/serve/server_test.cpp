// The routes over real HTTP on loopback: what /v1/ answers is what the library answers, tiles
// and bundles are the stored hashes and node bytes, every bad parameter is a 400 naming it, and
// the limits (URI, headers, methods) hold.
#include "witness/serve/server.hpp"

#include <atomic>
#include <optional>
#include <thread>

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "witness/covenant/covenant.hpp"
#include "witness/covenant/registry.hpp"
#include "witness/detect/detector_run.hpp"
#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/ledger.hpp"
#include "witness/ledger/proof_json.hpp"
#include "witness/ledger/query.hpp"
#include "witness/ledger/signing.hpp"

#include "node_codec.hpp"
#include "temp_dir.hpp"

namespace {

using witness::ledger::Ledger;
using witness::ledger::NodeDraft;
using witness::ledger::TraceNode;
using Json = nlohmann::json;

constexpr std::int64_t kT0 = 1'800'000'000'000'000'000;

TraceNode node(std::uint64_t i, std::vector<witness::ledger::Link> links = {},
               std::size_t pad = 0) {
  NodeDraft d;
  d.origin = "agent." + std::to_string(i % 4);
  d.kind = i % 3 == 0 ? "agent.plan" : "agent.act";
  d.timestamp =
      witness::ledger::Timestamp(std::chrono::nanoseconds(kT0 + static_cast<std::int64_t>(i)));
  d.walk = "w" + std::to_string(i % 10);
  d.links = std::move(links);
  d.payload_json = R"({"i":)" + std::to_string(i) + R"(,"pad":")" + std::string(pad, 'x') + "\"}";
  return *TraceNode::create(std::move(d));
}

// A server bound to `ledger` and running on its own thread until stop() or destruction.
class Running {
 public:
  Running(Ledger& ledger, witness::serve::ServeOptions options) {
    auto s = witness::serve::Server::bind(ledger, std::move(options));
    REQUIRE(s);
    server_ = std::move(*s);
    thread_ = std::thread([this] { REQUIRE(server_->run()); });
  }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() { stop(); }
  // Returns once run() has returned.
  void stop() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] httplib::Client client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(10, 0);
    return c;
  }

 private:
  std::unique_ptr<witness::serve::Server> server_;
  std::thread thread_;
};

struct Served {
  witness::testing::TempDir dir;
  Ledger ledger;
  std::atomic<int> logged{0};
  std::optional<Running> running;

  explicit Served(std::size_t n, std::size_t big_at = SIZE_MAX)
      : ledger(*Ledger::open(dir / "l", {.create_if_missing = true})) {
    std::vector<TraceNode> nodes;
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<witness::ledger::Link> links;
      if (i > 0 && i % 5 != 0) links.push_back({.target = nodes[i - 1].id()});
      nodes.push_back(node(i, std::move(links), i == big_at ? 70'000 : i % 300));
    }
    REQUIRE(ledger.append_batch(nodes));
    running.emplace(ledger,
                    witness::serve::ServeOptions{
                        .port = 0,
                        .threads = 4,
                        .max_page = 50,
                        .access_log = [this](const witness::serve::AccessRecord&) { ++logged; }});
  }
  [[nodiscard]] httplib::Client client() const { return running->client(); }
  // GET `path`: status and body.
  std::pair<int, std::string> get(const std::string& path) const {
    auto c = client();
    auto r = c.Get(path.c_str());
    REQUIRE(r);
    return {r->status, r->body};
  }
  Json get_json(const std::string& path, int want = 200) const {
    const auto [status, body] = get(path);
    INFO(path << " -> " << body);
    REQUIRE(status == want);
    return Json::parse(body);
  }
};

// The message of a JSON error answer, after checking its status.
std::string error_of(const Served& s, const std::string& path, int status) {
  const Json j = s.get_json(path, status);
  return j.at("error").at("message").get<std::string>();
}

}  // namespace

TEST_CASE("serve: /v1/ answers what the library answers") {
  Served s(600);
  const Json stats = s.get_json("/v1/stats");
  CHECK(stats["size"] == 600);
  CHECK(stats["merkle_root"] == s.ledger.stats().merkle_root.to_hex());
  CHECK(stats["verifier_key"] == *s.ledger.verifier_key());

  SECTION("entries: filters and pages through the cursor") {
    std::vector<std::string> want;
    auto q = s.ledger.query({.origin = "agent.1", .kind = "agent.act"});
    for (const auto& e : *q) want.push_back(witness::ledger::to_entry_json(e));
    std::vector<std::string> got;
    std::string path = "/v1/entries?origin=agent.1&kind=agent.act&limit=50";
    for (int pages = 0; pages < 20; ++pages) {
      const auto [status, body] = s.get(path);
      REQUIRE(status == 200);
      const Json j = Json::parse(body);
      for (const auto& e : j["entries"]) got.push_back(e.dump());
      if (j["next_cursor"].is_null()) break;
      path = "/v1/entries?origin=agent.1&kind=agent.act&limit=50&cursor=" +
             j["next_cursor"].get<std::string>();
    }
    REQUIRE(got.size() == want.size());
    // The served text is the library's, byte for byte (nlohmann re-dumps the same keys here).
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(Json::parse(want[i]).dump() == got[i]);
    const auto [status, body] = s.get("/v1/entries?walk=w3&order=newest&limit=1");
    REQUIRE(status == 200);
    auto newest =
        s.ledger.query({.walk = "w3", .order = witness::ledger::Order::kNewestFirst, .limit = 1});
    CHECK(body.find(witness::ledger::to_entry_json(*newest->begin())) != std::string::npos);
    const Json ranged =
        s.get_json("/v1/entries?from_seq=10&to_seq=19&since=" + std::to_string(kT0 + 12) +
                   "&until=" + std::to_string(kT0 + 15));
    REQUIRE(ranged["entries"].size() == 4);
    CHECK(ranged["entries"][0]["seq"] == 12);
  }

  SECTION("one entry by seq and by id; lineage") {
    const auto e = *s.ledger.get(42);
    CHECK(s.get("/v1/entries/42").second == witness::ledger::to_entry_json(e));
    CHECK(s.get("/v1/ids/" + e.node.id().to_hex()).second == witness::ledger::to_entry_json(e));
    const Json l = s.get_json("/v1/lineage/" + e.node.id().to_hex() + "?depth=3");
    const auto steps = *s.ledger.lineage(e.node.id(), witness::ledger::Direction::kAncestors, 3);
    REQUIRE(l["steps"].size() == steps.size());
    CHECK(l["steps"][0]["entry"]["seq"] == 41);
    CHECK(l["start"]["seq"] == 42);
    const Json d =
        s.get_json("/v1/lineage/" + e.node.id().to_hex() + "?direction=descendants&depth=64");
    CHECK(d["steps"].size() == 2);  // 43 and 44; 45 starts a new chain
  }

  SECTION("proofs verify, and the stored checkpoints are listed") {
    const auto [status, body] = s.get("/v1/proofs/inclusion?seq=77&size=300");
    REQUIRE(status == 200);
    const auto claim = witness::ledger::parse_proof_json(body);
    REQUIRE(claim);
    CHECK(witness::ledger::verify_claim(*claim));
    const auto [cstatus, cbody] = s.get("/v1/proofs/consistency?size1=100&size2=600");
    REQUIRE(cstatus == 200);
    const auto cclaim = witness::ledger::parse_proof_json(cbody);
    REQUIRE(cclaim);
    CHECK(witness::ledger::verify_claim(*cclaim));
    CHECK(s.get_json("/v1/checkpoints")["checkpoints"].is_array());
  }

  SECTION("every answer is logged") {
    const int before = s.logged;
    (void)s.get("/v1/stats");
    (void)s.get("/nothing");
    CHECK(s.logged == before + 2);
  }
}

TEST_CASE("serve: tiles and bundles are the stored hashes and node bytes") {
  Served s(600, /*big_at=*/590);
  const auto [status, tile] = s.get("/tile/0/001");
  REQUIRE(status == 200);
  REQUIRE(tile.size() == 256 * 32);
  for (const std::uint64_t i : {0U, 1U, 128U, 255U}) {
    const auto claim = *s.ledger.inclusion_proof(256 + i);
    CHECK(tile.compare(
              i * 32, 32,
              std::string(reinterpret_cast<const char*>(claim.leaf_hash.bytes.data()), 32)) == 0);
  }
  const auto [pstatus, partial] = s.get("/tile/0/002.p/80");
  REQUIRE(pstatus == 200);
  CHECK(partial.size() == 80 * 32);
  CHECK(s.get("/tile/0/002.p/89").first == 404);  // 600 - 512 = 88 hashes
  CHECK(s.get("/tile/0/002").first == 404);       // not full yet
  CHECK(s.get("/tile/1/000.p/2").first == 200);   // two complete 256-leaf subtrees
  CHECK(s.get("/tile/1/000.p/3").first == 404);

  const auto [bstatus, bundle] = s.get("/tile/entries/000");
  REQUIRE(bstatus == 200);
  std::size_t pos = 0;
  for (std::uint64_t seq = 0; seq < 256; ++seq) {
    REQUIRE(pos + 2 <= bundle.size());
    const std::size_t n = (std::size_t{static_cast<unsigned char>(bundle[pos])} << 8U) |
                          std::size_t{static_cast<unsigned char>(bundle[pos + 1])};
    const auto e = *s.ledger.get(seq);
    CHECK(bundle.substr(pos + 2, n) == witness::ledger::detail::encode_stored_node(e.node));
    pos += 2 + n;
  }
  CHECK(pos == bundle.size());
  // Entry 590 is over 65,535 bytes: its bundle cannot frame it, and says so.
  const auto message = error_of(s, "/tile/entries/002.p/88", 409);
  CHECK_THAT(message, Catch::Contains("entry 590") && Catch::Contains("65,535"));
  CHECK(s.get("/tile/entries/002.p/78").first == 200);  // the entries before it

  const auto [cstatus, note] = s.get("/checkpoint");
  REQUIRE(cstatus == 200);
  const auto cp = witness::ledger::verify_checkpoint(note, *s.ledger.verifier_key());
  REQUIRE(cp);
  CHECK(cp->size == 600);
  CHECK(cp->root == s.ledger.stats().merkle_root);
}

TEST_CASE("serve: bad requests get a JSON error naming what is wrong") {
  Served s(20);
  CHECK_THAT(error_of(s, "/v1/entries?colour=red", 400), Catch::Contains("\"colour\""));
  CHECK_THAT(error_of(s, "/v1/entries?origin=a&origin=b", 400),
             Catch::Contains("\"origin\" is given more than once"));
  CHECK_THAT(error_of(s, "/v1/entries?limit=51", 400), Catch::Contains("1 to 50"));
  CHECK_THAT(error_of(s, "/v1/entries?limit=0", 400), Catch::Contains("\"limit\""));
  CHECK_THAT(error_of(s, "/v1/entries?limit=-1", 400), Catch::Contains("\"limit\""));
  CHECK_THAT(error_of(s, "/v1/entries?from_seq=99999999999999999999", 400),
             Catch::Contains("\"from_seq\""));
  CHECK_THAT(error_of(s, "/v1/entries?since=yesterday", 400), Catch::Contains("\"since\""));
  CHECK_THAT(error_of(s, "/v1/entries?since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z", 400),
             Catch::Contains("later"));
  CHECK_THAT(error_of(s, "/v1/entries?order=sideways", 400), Catch::Contains("\"order\""));
  CHECK_THAT(error_of(s, "/v1/entries?cursor=zzz", 400), Catch::Contains("\"cursor\""));
  CHECK_THAT(error_of(s, "/v1/entries/x", 400), Catch::Contains("\"seq\""));
  CHECK_THAT(error_of(s, "/v1/entries/20", 404), Catch::Contains("20"));
  CHECK_THAT(error_of(s, "/v1/ids/abcd", 400), Catch::Contains("64 hex digits"));
  CHECK_THAT(error_of(s, "/v1/ids/" + std::string(64, 'a'), 404), Catch::Contains("no such"));
  CHECK_THAT(error_of(s, "/v1/lineage/" + std::string(64, 'a') + "?depth=65", 400),
             Catch::Contains("\"depth\""));
  CHECK_THAT(error_of(s, "/v1/proofs/inclusion", 400), Catch::Contains("\"seq\" is required"));
  CHECK_THAT(error_of(s, "/v1/proofs/inclusion?seq=20", 400), Catch::Contains("20"));
  CHECK_THAT(error_of(s, "/v1/proofs/consistency?size1=10&size2=5", 400),
             Catch::Contains("larger"));
  CHECK_THAT(error_of(s, "/tile/0/1", 400), Catch::Contains("3 digits"));
  CHECK_THAT(error_of(s, "/v1/nothing", 404), Catch::Contains("/v1/entries"));
  CHECK_THAT(error_of(s, "/index.html", 404), Catch::Contains("/v1/"));
  CHECK_THAT(error_of(s, "/../etc/passwd", 404), Catch::Contains("no resource"));

  SECTION("limits: methods, URI and header sizes") {
    auto c = s.client();
    auto post = c.Post("/v1/stats", "x", "text/plain");
    REQUIRE(post);
    CHECK(post->status == 405);
    auto long_uri = c.Get(("/v1/entries?origin=" + std::string(9000, 'a')).c_str());
    REQUIRE(long_uri);
    CHECK(long_uri->status == 414);
    CHECK(Json::parse(long_uri->body)["error"]["message"] == "the request URI is too long");
    httplib::Headers big{{"X-Big", std::string(9000, 'b')}};
    auto big_header = c.Get("/v1/stats", big);
    CHECK((!big_header || big_header->status >= 400));
  }
}

TEST_CASE("serve: concurrent clients, then stop() returns run()", "[concurrency]") {
  Served s(300);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      auto c = s.client();
      for (int i = 0; i < 40; ++i) {
        const std::string path =
            i % 2 == 0 ? "/tile/0/000" : "/v1/entries/" + std::to_string((t * 40 + i) % 300);
        auto r = c.Get(path.c_str());
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(ok == 320);
}

TEST_CASE("serve: bind refuses what it cannot serve") {
  witness::testing::TempDir dir;
  auto l = *Ledger::open(dir / "l", {.create_if_missing = true});
  CHECK(witness::serve::Server::bind(l, {.threads = 0}).error().code ==
        witness::ErrorCode::kInvalidArgument);
  Running first(l, {.port = 0});
  auto second = witness::serve::Server::bind(l, {.port = first.port()});
  REQUIRE_FALSE(second);
  CHECK(second.error().code == witness::ErrorCode::kUnavailable);
  // An empty ledger has no tiles yet, and a checkpoint of size 0.
  auto c = first.client();
  auto tile = c.Get("/tile/0/000.p/1");
  REQUIRE(tile);
  CHECK(tile->status == 404);
  auto note = c.Get("/checkpoint");
  REQUIRE(note);
  CHECK(note->status == 200);
  CHECK(witness::ledger::verify_checkpoint(note->body, *l.verifier_key())->size == 0);
}

TEST_CASE("serve: a following server answers while its writer appends", "[concurrency]") {
  // The writer and the server's ledger are two opens of one directory (as two processes
  // would be): the server's catches up every 5 ms while clients read.
  witness::testing::TempDir dir;
  auto writer = *Ledger::open(dir / "l", {.create_if_missing = true});
  REQUIRE(writer.append_batch(std::vector<TraceNode>{node(0), node(1)}));
  auto follower = *Ledger::open(dir / "l", {.read_only = true, .follow = true});
  Running server(follower,
                 {.port = 0, .threads = 4, .follow_interval = std::chrono::milliseconds(5)});
  std::atomic<bool> writing{true};
  std::thread appender([&] {
    for (std::uint64_t i = 2; i < 2000; i += 50) {
      std::vector<TraceNode> nodes;
      for (std::uint64_t j = i; j < i + 50; ++j) nodes.push_back(node(j));
      REQUIRE(writer.append_batch(nodes));
    }
    writing = false;
  });
  std::atomic<int> bad{0};
  std::mutex first_bad_mu;
  std::string first_bad;  // what the first failure was, for the report
  const auto failed = [&](const std::string& what, const httplib::Result& r) {
    if (r && r->status == 200) return false;
    const std::lock_guard lock(first_bad_mu);
    if (first_bad.empty()) {
      first_bad = what + ": " +
                  (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
    }
    return true;
  };
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      auto c = server.client();
      while (writing) {
        auto stats = c.Get("/v1/stats");
        if (failed("/v1/stats", stats)) {
          ++bad;
          continue;
        }
        const auto size = Json::parse(stats->body)["size"].get<std::uint64_t>();
        // Whatever size the server reports, its proofs and entries are there.
        const std::string proof_path = "/v1/proofs/inclusion?seq=" + std::to_string(size - 1);
        const std::string entry_path = "/v1/entries/" + std::to_string(size - 1);
        const std::string page_path = "/v1/entries?origin=agent.1&order=newest&limit=5";
        const bool proof_bad = failed(proof_path, c.Get(proof_path.c_str()));
        const bool entry_bad = failed(entry_path, c.Get(entry_path.c_str()));
        const bool page_bad = failed(page_path, c.Get(page_path.c_str()));
        if (proof_bad || entry_bad || page_bad) ++bad;
      }
    });
  }
  appender.join();
  for (auto& t : clients) t.join();
  INFO("first failure: " << first_bad);
  CHECK(bad == 0);
  for (int i = 0; i < 200 && follower.size() < writer.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(follower.size() == 2002);
  CHECK(follower.stats().merkle_root == writer.stats().merkle_root);
}

namespace {

// A writable ledger with two covenants: agent.signer binds a key, agent.open binds none.
struct AppendServed {
  witness::testing::TempDir dir;
  Ledger ledger = *Ledger::open(dir / "l", {.create_if_missing = true});
  witness::ledger::SigningKey key = *witness::ledger::SigningKey::generate();
  std::optional<Running> running;

  explicit AppendServed(witness::serve::ServeOptions options) {
    auto loaded = witness::covenant::load_gate(ledger);
    REQUIRE(loaded);
    const auto rule = *witness::covenant::Rule::parse("permit ledger.append kind=agent.*");
    witness::covenant::Covenant signer{
        .id = "signer@1",
        .subject = "agent.signer",
        .issuer = "ops",
        .rights = {.rule_sets = {witness::covenant::make_rule_set(std::vector{rule})}}};
    signer.public_key = key.public_key();
    REQUIRE(witness::covenant::record_grant(ledger, loaded->gate, signer, {}));
    auto open = signer;
    open.id = "open@1";
    open.subject = "agent.open";
    open.public_key.reset();
    REQUIRE(witness::covenant::record_grant(ledger, loaded->gate, open, {}));
    options.port = 0;
    running.emplace(ledger, std::move(options));
  }
  [[nodiscard]] TraceNode signed_node(const std::string& origin, std::uint64_t i) const {
    const TraceNode n = node(i);
    NodeDraft d{.origin = origin,
                .kind = "agent.act",
                .timestamp = n.timestamp(),
                .payload_json = R"({"i":)" + std::to_string(i) + "}"};
    const TraceNode draft = *TraceNode::create(std::move(d));
    const std::string_view id(reinterpret_cast<const char*>(draft.id().bytes.data()), 32);
    return draft.with_signature(key.sign(id));
  }
  httplib::Result post(const std::string& body, const httplib::Headers& headers = {}) const {
    auto c = running->client();
    return c.Post("/v1/append", headers, body, "application/x-ndjson");
  }
};

}  // namespace

TEST_CASE("serve: POST /v1/append takes signed, permitted nodes only") {
  AppendServed s({.allow_append = true, .max_body_bytes = 4096});
  const auto before = s.ledger.size();
  const TraceNode good = s.signed_node("agent.signer", 1);
  auto r = s.post(witness::ledger::to_json_line(good) + "\n");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  const Json j = Json::parse(r->body);
  CHECK(j["appended"] == 1);
  CHECK(j["results"][0]["outcome"] == "appended");
  const auto seq = j["results"][0]["seq"].get<std::uint64_t>();
  CHECK(s.ledger.get(seq)->node.id() == good.id());
  // Again: present, nothing written.
  auto again = s.post(witness::ledger::to_json_line(good) + "\n");
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(Json::parse(again->body)["results"][0]["outcome"] == "present");

  SECTION("unsigned, badly signed, keyless origin: 403, each denial recorded, nothing else") {
    const auto size = s.ledger.size();
    const TraceNode unsigned_node = node(7);  // origin agent.3: no covenant
    NodeDraft d{.origin = "agent.signer", .kind = "agent.act", .payload_json = R"({"x":1})"};
    const TraceNode plain = *TraceNode::create(std::move(d));
    const TraceNode forged =
        plain.with_signature(witness::ledger::SigningKey::generate()->sign("x"));
    for (const auto& [n, want] : std::vector<std::pair<TraceNode, std::string>>{
             {plain, "unsigned"},
             {forged, "bad-signature"},
             {s.signed_node("agent.open", 3), "binds none"},
             {unsigned_node, "no covenant"}}) {
      auto refused = s.post(witness::ledger::to_json_line(n) + "\n");
      REQUIRE(refused);
      INFO(refused->body);
      CHECK(refused->status == 403);
      const Json rj = Json::parse(refused->body);
      CHECK(rj["refused"] == 1);
      CHECK_THAT(rj["results"][0]["refusal"].get<std::string>(), Catch::Contains(want));
      CHECK_FALSE(s.ledger.seq_of(n.id())->has_value());
    }
    auto denials = s.ledger.query({.kind = "covenant.denial"});
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& e : *denials) ++count;
    CHECK(count == 4);
    CHECK(s.ledger.size() == size + 4);
  }

  SECTION("a bad line writes nothing: 400 naming it; a body over the cap: 413") {
    const auto size = s.ledger.size();
    auto bad = s.post(witness::ledger::to_json_line(s.signed_node("agent.signer", 9)) +
                      "\n{\"origin\":\"agent.signer\"}\n");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK_THAT(Json::parse(bad->body)["error"]["message"].get<std::string>(),
               Catch::Contains("line 2"));
    auto big = s.post(std::string(5000, ' '));
    REQUIRE(big);
    CHECK(big->status == 413);
    CHECK(s.ledger.size() == size);
  }
  CHECK(s.ledger.size() > before);
}

TEST_CASE("serve: a read-only server refuses appends; a bearer token guards every route") {
  Served ro(5);
  auto c = ro.client();
  auto post = c.Post("/v1/append", "{}\n", "application/x-ndjson");
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK_THAT(post->body, Catch::Contains("--allow-append"));

  witness::testing::TempDir dir;
  auto l = *Ledger::open(dir / "l", {.create_if_missing = true});
  CHECK(witness::serve::Server::bind(l, {.port = 0, .bearer_token = "short"}).error().code ==
        witness::ErrorCode::kInvalidArgument);
  auto read_only = *Ledger::open(dir / "l2", {.create_if_missing = true});
  REQUIRE(read_only.close());
  read_only = *Ledger::open(dir / "l2", {.read_only = true});
  CHECK(witness::serve::Server::bind(read_only, {.port = 0, .allow_append = true}).error().code ==
        witness::ErrorCode::kInvalidArgument);
  CHECK(witness::serve::Server::bind(l, {.port = 0, .tls_cert_file = "x.pem"}).error().code ==
        witness::ErrorCode::kInvalidArgument);
  CHECK(witness::serve::Server::bind(
            l, {.port = 0, .tls_cert_file = "/nonexistent.pem", .tls_key_file = "/nonexistent.key"})
            .error()
            .code == witness::ErrorCode::kIOError);

  const std::string token = "0123456789abcdef-token";
  Running s(l, {.port = 0, .bearer_token = token});
  auto tc = s.client();
  auto none = tc.Get("/v1/stats");
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(none->get_header_value("WWW-Authenticate") == "Bearer");
  auto wrong = tc.Get("/checkpoint", {{"Authorization", "Bearer 0123456789abcdef-tokeN"}});
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  auto right = tc.Get("/v1/stats", {{"Authorization", "Bearer " + token}});
  REQUIRE(right);
  CHECK(right->status == 200);
}

TEST_CASE("serve: /v1/events streams entries as they are appended", "[concurrency]") {
  Served s(10);
  // Reads events from `path` until `want` entries came; returns their seqs.
  const auto read_events = [&](const std::string& path, std::size_t want,
                               const httplib::Headers& headers = {}) {
    std::vector<std::uint64_t> seqs;
    std::string buffer;
    auto c = s.client();
    auto r = c.Get(path.c_str(), headers, [&](const char* data, std::size_t n) {
      buffer.append(data, n);
      for (std::size_t at; (at = buffer.find("\n\n")) != std::string::npos;) {
        const std::string event = buffer.substr(0, at);
        buffer.erase(0, at + 2);
        if (event.starts_with("id: ")) {
          const auto data_at = event.find("\ndata: ");
          REQUIRE(data_at != std::string::npos);
          CHECK(event.find("\nevent: entry\n") != std::string::npos);
          const Json e = Json::parse(event.substr(data_at + 7));
          CHECK(std::to_string(e["seq"].get<std::uint64_t>()) ==
                event.substr(4, event.find('\n') - 4));
          seqs.push_back(e["seq"].get<std::uint64_t>());
        }
      }
      return seqs.size() < want;  // false closes the connection
    });
    return seqs;
  };
  CHECK(read_events("/v1/events?from_seq=0", 10) ==
        std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  // New entries only (the default), appended while the stream is open.
  std::thread appender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(s.ledger.append_batch(std::vector<TraceNode>{node(100), node(101)}));
  });
  CHECK(read_events("/v1/events", 2) == std::vector<std::uint64_t>{10, 11});
  appender.join();
  // Resuming after the last event seen.
  CHECK(read_events("/v1/events", 3, {{"Last-Event-ID", "8"}}) ==
        std::vector<std::uint64_t>{9, 10, 11});
  CHECK_THAT(error_of(s, "/v1/events?from_seq=x", 400), Catch::Contains("from_seq"));
}

TEST_CASE("serve: event streams are bounded, and stop() ends them", "[concurrency]") {
  witness::testing::TempDir dir;
  auto l = *Ledger::open(dir / "l", {.create_if_missing = true});
  Running server(l, {.port = 0, .threads = 4, .max_streams = 1});
  std::atomic<bool> opened{false};
  std::thread holder([&] {
    auto c = server.client();
    auto r = c.Get(
        "/v1/events",
        [&](const httplib::Response&) {  // the headers came: the stream is open
          opened = true;
          return true;
        },
        [&](const char*, std::size_t) { return true; });
    (void)r;
  });
  for (int i = 0; i < 200 && !opened; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto c = server.client();
  auto second = c.Get("/v1/events");
  REQUIRE(second);
  CHECK(second->status == 503);
  CHECK_THAT(second->body, Catch::Contains("too many event streams"));
  const auto t0 = std::chrono::steady_clock::now();
  server.stop();  // the open stream ends at its next chunk: within about a second
  holder.join();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("serve: verify runs as a job with progress") {
  Served s(3000);
  const Json idle = s.get_json("/v1/verify");
  CHECK(idle["state"] == "idle");
  CHECK(idle["report"].is_null());
  auto c = s.client();
  auto started = c.Post("/v1/verify");
  REQUIRE(started);
  CHECK(started->status == 202);
  Json j;
  for (int i = 0; i < 500; ++i) {
    j = s.get_json("/v1/verify");
    if (j["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  INFO(j.dump());
  REQUIRE(j["state"] == "done");
  CHECK(j["done"] == 3000);
  CHECK(j["total"] == 3000);
  CHECK(j["report"]["ok"] == true);
  CHECK(j["report"]["entries"] == 3000);
  CHECK(j["report"]["merkle_root"] == s.ledger.stats().merkle_root.to_hex());
  CHECK(j["report"]["problem"].is_null());
  CHECK_FALSE(j["finished"].get<std::string>().empty());
  // Again, after the first finished.
  auto again = c.Post("/v1/verify");
  REQUIRE(again);
  CHECK(again->status == 202);
  CHECK_THAT(error_of(s, "/v1/verify?now=1", 400), Catch::Contains("\"now\""));
}

TEST_CASE("serve: /v1/agents lists covenants, budgets spent and denials") {
  AppendServed s({.allow_append = true});
  REQUIRE(s.post(witness::ledger::to_json_line(s.signed_node("agent.signer", 1)) + "\n"));
  REQUIRE(s.post(witness::ledger::to_json_line(s.signed_node("agent.open", 2)) + "\n"));
  auto c = s.running->client();
  auto r = c.Get("/v1/agents");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const Json agents = Json::parse(r->body)["agents"];
  REQUIRE(agents.size() == 2);
  std::map<std::string, Json> by_subject;
  for (const auto& a : agents) by_subject[a["subject"].get<std::string>()] = a;
  const Json& signer = by_subject.at("agent.signer");
  INFO(r->body);
  CHECK(signer["covenant"] == "signer@1");
  CHECK(signer["state"] == "in force");
  CHECK(signer["signed"] == true);
  CHECK(signer["budget"]["calls"]["spent"].get<std::uint64_t>() >= 1);
  CHECK(signer["budget"]["calls"]["limit"].is_null());
  CHECK(signer["denials"] == 0);
  const Json& open = by_subject.at("agent.open");
  CHECK(open["signed"] == false);
  CHECK(open["denials"] == 1);
  REQUIRE(open["recent_denials"].size() == 1);
  CHECK(open["recent_denials"][0]["reason"] == "unsigned");
  CHECK_THAT(open["recent_denials"][0]["explanation"].get<std::string>(),
             Catch::Contains("binds none"));
}

TEST_CASE("serve: a connection that sends nothing is closed after the I/O timeout") {
  witness::testing::TempDir dir;
  auto l = *Ledger::open(dir / "l", {.create_if_missing = true});
  Running server(l, {.port = 0, .threads = 2, .io_timeout = std::chrono::seconds(1)});
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  // Half a request line, then silence: the server gives up on it.
  REQUIRE(::send(sock, "GET /v1/st", 10, 0) == 10);
  timeval wait{5, 0};
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  const auto t0 = std::chrono::steady_clock::now();
  char buf[256];
  const auto n = ::recv(sock, buf, sizeof buf, 0);
  const auto waited = std::chrono::steady_clock::now() - t0;
  ::close(sock);
  CHECK(n <= 0);  // closed (or reset), with no answer
  CHECK(waited >= std::chrono::milliseconds(800));
  CHECK(waited < std::chrono::seconds(4));
}

TEST_CASE("serve: CORS only for the configured origin") {
  witness::testing::TempDir dir;
  auto l = *Ledger::open(dir / "l", {.create_if_missing = true});
  Running with(l, {.port = 0, .cors_origin = "https://audit.example"});
  Running without(l, {.port = 0});
  auto c = with.client();
  auto ok = c.Get("/v1/stats", {{"Origin", "https://audit.example"}});
  REQUIRE(ok);
  CHECK(ok->get_header_value("Access-Control-Allow-Origin") == "https://audit.example");
  auto other = c.Get("/v1/stats", {{"Origin", "https://evil.example"}});
  REQUIRE(other);
  CHECK_FALSE(other->has_header("Access-Control-Allow-Origin"));
  auto preflight = c.Options("/v1/append", {{"Origin", "https://audit.example"},
                                            {"Access-Control-Request-Method", "POST"}});
  REQUIRE(preflight);
  CHECK(preflight->status == 204);
  CHECK_THAT(preflight->get_header_value("Access-Control-Allow-Headers"),
             Catch::Contains("Authorization"));
  auto plain = without.client();
  auto none = plain.Get("/v1/stats", {{"Origin", "https://audit.example"}});
  REQUIRE(none);
  CHECK_FALSE(none->has_header("Access-Control-Allow-Origin"));
  auto refused = plain.Options("/v1/stats", {{"Origin", "https://audit.example"}});
  REQUIRE(refused);
  CHECK(refused->status == 405);
}

TEST_CASE("serve: clients beyond --threads wait for a connection to end, then are served") {
  witness::testing::TempDir dir;
  auto l = *Ledger::open(dir / "l", {.create_if_missing = true});
  Running server(l, {.port = 0, .threads = 1, .io_timeout = std::chrono::seconds(1)});
  // A keeps its connection open (keep-alive) after one request: it holds the only thread.
  auto a = server.client();
  a.set_keep_alive(true);
  auto first = a.Get("/v1/stats");
  REQUIRE(first);
  CHECK(first->status == 200);
  // B is served once A's idle connection times out and frees the thread.
  auto b = server.client();
  const auto t0 = std::chrono::steady_clock::now();
  auto second = b.Get("/v1/stats");
  const auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(waited >= std::chrono::milliseconds(500));
  CHECK(waited < std::chrono::seconds(8));
}

TEST_CASE("serve: detector runs with their alerts, a page at a time") {
  Served s(10);
  // A run of 3 alerts over 1,000 records, recorded as `witness detect` records it.
  witness::detect::RunOutcome run;
  run.records = 1000;
  run.input_sha256 = std::string(64, 'a');
  run.labelled = true;
  run.phases.push_back({.name = "flood",
                        .records = 1000,
                        .scored = 700,
                        .attack = 500,
                        .normal = 200,
                        .true_positives = 450,
                        .false_positives = 4,
                        .last = 999});
  for (std::uint64_t i = 0; i < run.records; ++i) {
    witness::detect::RecordVerdict v;
    v.index = i;
    v.ts = kT0 + static_cast<std::int64_t>(i) * 1'000'000;
    v.anomalous = i >= 500;
    run.series.add(v, i >= 500);
  }
  for (std::uint64_t k = 0; k < 3; ++k) {
    run.alerts.push_back({.onset = 500 + 100 * k,
                          .offset = 550 + 100 * k,
                          .records = 51,
                          .anomalous = 50,
                          .trigger = "content",
                          .explanation = {{.field = "dst_port", .value = "31337"}}});
  }
  const witness::detect::DetectorConfig config;
  const auto first =
      witness::detect::record_run(s.ledger, config, run, witness::detect::Inputs::kOmit);
  REQUIRE(first);
  const auto second =
      witness::detect::record_run(s.ledger, config, run, witness::detect::Inputs::kOmit);
  REQUIRE(second);

  const Json runs = s.get_json("/v1/detector/runs");
  REQUIRE(runs["runs"].size() == 2);
  CHECK(runs["runs"][0]["id"] == second->run_id);  // newest first
  CHECK(runs["runs"][1]["id"] == first->run_id);
  CHECK(runs["next_cursor"].is_null());
  const Json page = s.get_json("/v1/detector/runs?limit=1");
  REQUIRE(page["runs"].size() == 1);
  CHECK(s.get_json("/v1/detector/runs?limit=1&cursor=" +
                   page["next_cursor"].get<std::string>())["runs"][0]["id"] == first->run_id);

  const Json one = s.get_json("/v1/detector/runs/" + first->run_id);
  CHECK(one["run"]["seq"] == first->run_seq);
  CHECK(one["run"]["payload"]["phases"][0]["recall"] == 0.9);
  CHECK(one["run"]["payload"]["series"]["records"].size() == 250);  // width 4
  REQUIRE(one["alerts"].size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(one["alerts"][k]["seq"] == first->alert_seqs[k]);
    CHECK(one["alerts"][k]["payload"]["alert"]["onset"] == 500 + 100 * k);
  }
  // Alerts a page at a time, oldest first.
  const Json a1 = s.get_json("/v1/detector/runs/" + first->run_id + "?limit=2");
  REQUIRE(a1["alerts"].size() == 2);
  const Json a2 = s.get_json("/v1/detector/runs/" + first->run_id +
                             "?limit=2&cursor=" + a1["next_cursor"].get<std::string>());
  REQUIRE(a2["alerts"].size() == 1);
  CHECK(a2["alerts"][0]["seq"] == first->alert_seqs[2]);
  CHECK(a2["next_cursor"].is_null());

  // Not a run, no such entry, a bad id, a bad parameter.
  const auto plan = s.ledger.get(0);
  REQUIRE(plan);
  CHECK_THAT(error_of(s, "/v1/detector/runs/" + plan->node.id().to_hex(), 400),
             Catch::Contains("not a detector run"));
  CHECK_THAT(error_of(s, "/v1/detector/runs/" + std::string(64, '0'), 404),
             Catch::Contains("0000"));
  CHECK_THAT(error_of(s, "/v1/detector/runs/xyz", 400), Catch::Contains("64 hex digits"));
  CHECK_THAT(error_of(s, "/v1/detector/runs?kind=x", 400), Catch::Contains("unknown parameter"));
  CHECK_THAT(error_of(s, "/v1/detector/runs?limit=51", 400), Catch::Contains("1 to 50"));
}
