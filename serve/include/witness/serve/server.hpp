// witness serve: the ledger over HTTP (docs/serve.md). A JSON API under /v1/ over the library's
// calls, and the ledger as a C2SP tlog-tiles log (/checkpoint, /tile/...).
//
//   auto ledger = witness::ledger::Ledger::open(dir, {.read_only = true, .follow = true});
//   auto server = witness::serve::Server::bind(*ledger, {.port = 0});  // any free port
//   std::thread t([&] { (void)(*server)->run(); });
//   ... (*server)->port() ...
//   (*server)->stop();  // run() returns once requests in flight are answered
//   t.join();
//
// The server reads through the Ledger it is given; a ledger opened to follow a writer (another
// process) is brought up to date every follow_interval. The one call that may write is
// /checkpoint's Ledger::checkpoint(), once per tree size (it stores the note unless the ledger is
// read-only). Thread safety: bind() and run() once each, from one thread; port() and stop() from
// any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "witness/base/result.hpp"
#include "witness/ledger/ledger.hpp"

namespace witness::serve {

// One answered request, for the access log.
struct AccessRecord {
  std::string remote;  // address:port of the client
  std::string method;
  std::string target;  // path and query, as sent
  int status = 0;
  std::size_t bytes = 0;  // body bytes sent
  std::chrono::microseconds elapsed{0};
};

struct ServeOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  std::uint16_t port = 8080;       // 0: a free port, which port() tells
  // Connections served at once (httplib gives each open connection a thread while it is
  // open): more clients than this wait. 64 by default (bench-serve.sh's 64 clients).
  unsigned threads = 64;
  // Entries per page of /v1/entries (a larger ?limit= is a 400 naming the cap).
  std::size_t max_page = 1000;
  // Event streams (/v1/events) open at once; each holds a connection (and its thread) while
  // open, so this stays well under `threads`. More get a 503.
  std::size_t max_streams = 16;
  // A connection that sends nothing (or receives nothing) this long is closed.
  std::chrono::seconds io_timeout{10};
  // How often the server has the ledger catch up with its writer (Ledger::catch_up) when the
  // ledger was opened with OpenOptions::follow; zero: never. Other ledgers are left alone.
  std::chrono::milliseconds follow_interval{250};
  // POST /v1/append: JSON Lines of nodes, appended atomically through the covenant gate, always
  // on, taking only nodes signed by the key their origin's covenant binds (refusals recorded
  // as covenant.denial). REQUIRES: a writable Ledger. Off: every route is read-only.
  bool allow_append = false;
  // The largest request body (an append), in bytes; a larger one is a 413.
  std::size_t max_body_bytes = std::size_t{8} << 20U;
  // When not empty, every request must carry "Authorization: Bearer <token>" (else 401).
  std::string bearer_token;
  // CORS: the one origin (e.g. "https://audit.example.org", or "*") whose pages may call this
  // server from a browser; empty: none (no Access-Control headers, OPTIONS is a 405).
  std::string cors_origin;
  // TLS (OpenSSL): PEM certificate chain and private key files; both or neither.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Called after each request, from the thread that served it.
  std::function<void(const AccessRecord&)> access_log;
};

class Server {
 public:
  // Binds the listening socket. Errors: kInvalidArgument (no threads, an empty host, a token
  // under 16 bytes, one TLS file without the other, allow_append on a read-only ledger),
  // kUnavailable (the address cannot be bound: in use, or not local), kIOError (TLS files
  // that do not load), and those of opening the covenant gate (allow_append).
  [[nodiscard]] static Result<std::unique_ptr<Server>> bind(ledger::Ledger& ledger,
                                                            ServeOptions options);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // The bound port (the chosen one when ServeOptions::port was 0).
  [[nodiscard]] std::uint16_t port() const;
  // Serves until stop(). Errors: kIOError when accepting fails.
  [[nodiscard]] Status run();
  // Stops accepting; run() returns after the requests in flight are answered. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::serve
