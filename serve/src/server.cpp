// Server: cpp-httplib carries Router's responses. Every request goes through one handler
// (pre-routing), so that the routes, the methods and the errors are Router's alone, and the
// access log sees every answer, the library's own errors (a header too long) included.
#include "witness/serve/server.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <sys/socket.h>

#include "witness/covenant/appender.hpp"

#include "router.hpp"

namespace witness::serve {

namespace {

// httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed in Debian's build): 64
// clients connecting at once had their SYNs dropped and retried a second later (p99 over 1 s
// in bench-serve.sh). Listening again on the bound socket raises the backlog.
template <typename Base>
class Listener final : public Base {
 public:
  using Base::Base;
  bool raise_backlog(int backlog) { return ::listen(this->svr_sock_, backlog) == 0; }
};

constexpr int kListenBacklog = 1024;

// The HTTP server, plain or TLS, and how to raise its backlog.
struct Http {
  std::unique_ptr<httplib::Server> server;
  std::function<bool(int)> raise_backlog;
};

Result<Http> make_http(const ServeOptions& o) {
  Http out;
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) {
    auto plain = std::make_unique<Listener<httplib::Server>>();
    out.raise_backlog = [p = plain.get()](int n) { return p->raise_backlog(n); };
    out.server = std::move(plain);
    return out;
  }
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    return invalid_argument("TLS needs both a certificate and a key file");
  }
  auto tls = std::make_unique<Listener<httplib::SSLServer>>(o.tls_cert_file.c_str(),
                                                            o.tls_key_file.c_str());
  if (!tls->is_valid()) {
    return io_error("TLS: cannot load the certificate " + o.tls_cert_file + " with the key " +
                    o.tls_key_file + " (unreadable, not PEM, or they do not match)");
  }
  out.raise_backlog = [p = tls.get()](int n) { return p->raise_backlog(n); };
  out.server = std::move(tls);
  return out;
}

}  // namespace

struct Server::Impl {
  Impl(ledger::Ledger& l, ServeOptions opts, Http h, std::unique_ptr<covenant::PolicyAppender> out)
      : ledger(l),
        options(std::move(opts)),
        appender(std::move(out)),
        router(l, options, appender.get(), appender ? appender->gate() : nullptr),
        http(std::move(h)) {}
  ~Impl() {
    // Unspent budget leases go back to their covenants (covenant.settle).
    if (appender) (void)appender->close();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ledger::Ledger& ledger;
  ServeOptions options;
  std::unique_ptr<covenant::PolicyAppender> appender;  // with allow_append
  detail::Router router;
  Http http;
  int port = 0;
  std::atomic<bool> stopped{false};
  std::mutex follow_mu;
  std::condition_variable follow_cv;

  // Until stop(): every follow_interval, the ledger catches up with its writer. Errors are
  // kept for the next try (a writer mid-restart); a ledger that does not follow ends the loop.
  void follow_loop() {
    std::unique_lock lock(follow_mu);
    while (!stopped) {
      follow_cv.wait_for(lock, options.follow_interval, [this] { return stopped.load(); });
      if (stopped) return;
      lock.unlock();
      const auto caught = ledger.catch_up();
      lock.lock();
      if (!caught && caught.error().code == ErrorCode::kFailedPrecondition) return;
    }
  }
};

namespace {

constexpr std::size_t kKeepAliveMaxRequests = 1000;

constexpr std::size_t kMinTokenBytes = 16;

detail::Request to_request(const httplib::Request& req) {
  detail::Request out;
  out.method = req.method;
  out.path = req.path;
  out.authorization = req.get_header_value("Authorization");
  out.last_event_id = req.get_header_value("Last-Event-ID");
  out.origin = req.get_header_value("Origin");
  out.body = req.body;
  for (const auto& [k, v] : req.params) out.params.emplace(k, v);
  return out;
}

void log_access(const ServeOptions& options, const httplib::Request& req,
                const httplib::Response& res, std::chrono::steady_clock::time_point start) {
  if (!options.access_log) return;
  AccessRecord rec;
  rec.remote = req.remote_addr + ":" + std::to_string(req.remote_port);
  rec.method = req.method;
  rec.target = req.target;
  rec.status = res.status;
  rec.bytes = res.body.size();
  rec.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  options.access_log(rec);
}

}  // namespace

Result<std::unique_ptr<Server>> Server::bind(ledger::Ledger& ledger, ServeOptions options) {
  if (options.threads == 0) return invalid_argument("threads: at least 1");
  if (options.host.empty()) return invalid_argument("listen address: empty host");
  if (options.max_page == 0) return invalid_argument("max_page: at least 1");
  if (!options.bearer_token.empty() && options.bearer_token.size() < kMinTokenBytes) {
    return invalid_argument("bearer token: at least 16 bytes (it is a password)");
  }
  std::unique_ptr<covenant::PolicyAppender> appender;
  if (options.allow_append) {
    if (ledger.read_only()) {
      return invalid_argument("appends over HTTP need the ledger open for writing");
    }
    // The gate is always on, and takes only nodes signed by their origin's bound key: over
    // HTTP the key is the caller's only identity.
    WITNESS_ASSIGN_OR_RETURN(
        appender, covenant::PolicyAppender::open(ledger, {.gate = covenant::GateMode::kOn,
                                                          .who = "witness serve",
                                                          .command = "POST /v1/append",
                                                          .gated = {.require_signature = true}}));
  }
  WITNESS_ASSIGN_OR_RETURN(Http made, make_http(options));
  auto impl =
      std::make_unique<Impl>(ledger, std::move(options), std::move(made), std::move(appender));
  Impl& s = *impl;
  httplib::Server& http = *s.http.server;
  const unsigned threads = s.options.threads;
  // httplib takes ownership of the queue (it deletes it when listen returns).
  http.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);  // NOLINT(cppcoreguidelines-owning-memory)
  };
  const auto timeout = s.options.io_timeout.count();
  http.set_read_timeout(timeout, 0);
  http.set_write_timeout(timeout, 0);
  http.set_keep_alive_timeout(timeout);
  // httplib closes a keep-alive connection after 5 requests by default: every client then
  // reconnects all the time (bench-serve.sh: 3.7k requests/s with timeouts, against 1,000).
  http.set_keep_alive_max_count(kKeepAliveMaxRequests);
  // httplib writes the headers and the body separately: with Nagle's algorithm the body then
  // waits for the client's delayed ACK (40 ms; bench-serve.sh: p99 48 ms, 1k proofs/s).
  http.set_tcp_nodelay(true);
  // Only an append has a body.
  http.set_payload_max_length(s.options.allow_append ? s.options.max_body_bytes : 0);
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the same port and take
  // half its connections. SO_REUSEADDR alone: a restart may bind while old connections linger.
  http.set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const auto answer = [&s](const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    detail::Response r = s.router.handle(to_request(req));
    res.status = r.status;
    res.set_header("Cache-Control", r.cache_control);
    res.set_header("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : r.headers) res.set_header(name, value);
    if (r.stream) {
      // An event stream: chunks until the stream ends it (the server stopping) or the client
      // goes away (a write fails).
      res.set_chunked_content_provider(
          r.content_type,
          [stream = std::move(r.stream)](std::size_t /*offset*/, httplib::DataSink& sink) {
            std::string chunk;
            if (!stream(chunk)) {
              sink.done();
              return true;
            }
            return chunk.empty() || sink.write(chunk.data(), chunk.size());
          });
    } else if (req.method == "HEAD") {
      res.set_header("Content-Length", std::to_string(r.body.size()));
    } else {
      res.body = std::move(r.body);  // set_content would copy it
      res.set_header("Content-Type", r.content_type);
    }
    log_access(s.options, req, res, start);
  };
  // Every request is answered before httplib reads a body, but an authorised append: httplib
  // then reads its body (up to max_body_bytes, else 413) and calls the POST handler.
  http.set_pre_routing_handler([&s, answer](const httplib::Request& req, httplib::Response& res) {
    if (s.options.allow_append && req.method == "POST" && req.path == "/v1/append" &&
        s.router.authorized(req.get_header_value("Authorization"))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    answer(req, res);
    // A body this answer did not read would be taken for the next request: close instead.
    if (req.has_header("Transfer-Encoding") ||
        (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0")) {
      res.set_header("Connection", "close");
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Post("/v1/append", answer);
  // Errors httplib answers itself (a malformed request line, a header or URI too long).
  http.set_error_handler([&s](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // answered by the router
    std::string what = "the request is malformed";
    if (res.status == 413) what = "the request body is too large";
    if (res.status == 414) what = "the request URI is too long";
    if (res.status == 431) what = "the request headers are too large";
    const auto r = detail::error_response(invalid_argument(what));
    res.set_content(r.body, r.content_type);
    log_access(s.options, req, res, std::chrono::steady_clock::now());
  });
  const std::string host = s.options.host;
  if (s.options.port == 0) {
    s.port = http.bind_to_any_port(host);
  } else {
    s.port = http.bind_to_port(host, s.options.port) ? s.options.port : -1;
  }
  if (s.port > 0 && !s.http.raise_backlog(kListenBacklog)) {
    return io_error("listen on " + host + ":" + std::to_string(s.port) + ": backlog refused");
  }
  if (s.port <= 0) {
    return unavailable("cannot listen on " + host + ":" + std::to_string(s.options.port) +
                       " (in use, or not an address of this machine)");
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

std::uint16_t Server::port() const { return static_cast<std::uint16_t>(impl_->port); }

Status Server::run() {
  if (impl_->stopped) return ok_status();
  std::thread follower;
  if (impl_->options.follow_interval.count() > 0) {
    follower = std::thread([this] { impl_->follow_loop(); });
  }
  const bool served = impl_->http.server->listen_after_bind();
  stop();
  if (follower.joinable()) follower.join();
  if (!served && !impl_->stopped) return io_error("the HTTP server stopped accepting connections");
  return ok_status();
}

void Server::stop() {
  {
    const std::lock_guard lock(impl_->follow_mu);
    impl_->stopped = true;
  }
  impl_->follow_cv.notify_all();
  impl_->router.stop();
  impl_->http.server->stop();
}

}  // namespace witness::serve
