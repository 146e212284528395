// The HTTP API without the HTTP: a request (method, path, query parameters) in, a response
// (status, type, body, caching) out. server.cpp carries these over cpp-httplib; tests call
// Router directly as well as over loopback.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "witness/covenant/gate.hpp"
#include "witness/ledger/appender.hpp"
#include "witness/ledger/ledger.hpp"
#include "witness/serve/server.hpp"

namespace witness::serve::detail {

struct Request {
  std::string method;
  std::string path;                                // decoded, starting with '/'
  std::multimap<std::string, std::string> params;  // decoded query parameters
  std::string authorization;                       // the Authorization header, if any
  std::string last_event_id;                       // the Last-Event-ID header, if any
  std::string origin;                              // the Origin header, if any
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string cache_control = "no-store";
  std::vector<std::pair<std::string, std::string>> headers;  // more headers
  // A streamed answer (Server-Sent Events), when set: called again and again for the next
  // chunk of the body (it may wait up to about a second for one, and give an empty chunk);
  // false ends the response. `body` is then unused.
  std::function<bool(std::string& chunk)> stream;
};

// The HTTP status for a library error: 400 kInvalidArgument, 404 kNotFound, 409
// kFailedPrecondition, 503 kUnavailable, 500 otherwise.
[[nodiscard]] int http_status(ErrorCode code);
// {"error":{"code":"NotFound","message":"..."}} with the status http_status gives.
[[nodiscard]] Response error_response(const Error& error);

// Thread safety: handle() may be called from many threads at once.
class Router {
 public:
  // `appender`, when not null, takes POST /v1/append; `live_gate`, when not null, is its gate,
  // whose counts /v1/agents reports. Both outlive the Router.
  Router(ledger::Ledger& ledger, const ServeOptions& options, ledger::Appender* appender,
         covenant::Gate* live_gate);
  [[nodiscard]] Response handle(const Request& request);
  // Ends every event stream (at their next chunk) and refuses new ones, and waits for a
  // verification in progress to finish: the server stops.
  void stop();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;
  // Whether an Authorization header value passes (always, without a bearer token).
  [[nodiscard]] bool authorized(std::string_view given) const;

 private:
  [[nodiscard]] Result<Response> checkpoint();
  [[nodiscard]] Result<Response> tile(std::string_view path);
  [[nodiscard]] Result<Response> api(const Request& request);

  ledger::Ledger& ledger_;
  ledger::Appender* appender_;
  covenant::Gate* live_gate_;
  std::size_t max_page_;
  std::string bearer_token_;
  std::string cors_origin_;
  [[nodiscard]] Response route(const Request& request);
  [[nodiscard]] Result<Response> events(const Request& request);
  [[nodiscard]] Result<Response> verify(const Request& request);

  // The verification job (POST /v1/verify starts it, GET /v1/verify reports it): one at a
  // time, on its own thread.
  struct VerifyJob {
    std::mutex mu;
    std::string state = "idle";  // idle, running, done, failed
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    std::string started;  // RFC 3339
    std::string finished;
    std::string result;  // JSON of the report, or of the error
    std::thread thread;
  };
  VerifyJob verify_job_;

  std::size_t max_streams_;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<std::atomic<std::size_t>> streams_ =
      std::make_shared<std::atomic<std::size_t>>(0);
  std::mutex checkpoint_mu_;
  std::optional<std::pair<std::uint64_t, std::string>> checkpoint_;  // size, signed note
};

}  // namespace witness::serve::detail
