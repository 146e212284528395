// witness serve: the ledger over HTTP (docs/serve.md). SIGINT and SIGTERM stop it gracefully:
// they are blocked in every thread and taken by one thread with sigtimedwait, which stops the
// server; requests in flight are answered first.
#include <cctype>
#include <iostream>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "witness/serve/server.hpp"

#include "cli.hpp"

namespace witness::tools {
namespace {

// The options the library takes as they are (their defaults are ServeOptions'), and those the
// command turns into options: the address, the token file, the log, the interval in ms.
struct ServeArgs {
  serve::ServeOptions server;
  std::string listen = "127.0.0.1:8080";
  std::string access_log = "-";
  std::string token_file;
  unsigned follow_ms = static_cast<unsigned>(server.follow_interval.count());
};

// The token from its file: the first line, without surrounding whitespace.
Result<std::string> read_token(const std::string& path) {
  auto text = read_text(path);
  if (!text) return text.error().with_context("--token-file");
  std::string token = text->substr(0, text->find('\n'));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())) != 0) {
    token.pop_back();
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front())) != 0) {
    token.erase(0, 1);
  }
  if (token.empty()) return invalid_argument("--token-file " + path + ": empty");
  return token;
}

// "HOST:PORT", "[V6]:PORT" or ":PORT" (loopback).
Result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return invalid_argument("--listen \"" + text + "\": " + why +
                            " (expected HOST:PORT, [IPv6]:PORT or :PORT)");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.empty()) host = "127.0.0.1";
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return bad("an IPv6 address goes in brackets");
  }
  unsigned port = 0;
  if (port_text.empty() || port_text.size() > 5) return bad("port not in 0..65535");
  for (const char c : port_text) {
    if (c < '0' || c > '9') return bad("port not in 0..65535");
    port = (port * 10) + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return bad("port not in 0..65535");
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

Result<std::shared_ptr<spdlog::logger>> make_access_logger(const std::string& where) {
  if (where == "off") return std::shared_ptr<spdlog::logger>();
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (where == "-") {
      logger = std::make_shared<spdlog::logger>("access",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "access", std::make_shared<spdlog::sinks::basic_file_sink_mt>(where));
    }
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %v", spdlog::pattern_time_type::utc);
    logger->flush_on(spdlog::level::info);
    return logger;
  } catch (const spdlog::spdlog_ex& e) {
    return io_error("--access-log " + where + ": " + e.what());
  }
}

int run_serve(const CommonOptions& opts, const ServeArgs& a) {
  auto listen = parse_listen(a.listen);
  if (!listen) return report(listen.error());
  auto access = make_access_logger(a.access_log);
  if (!access) return report(access.error());
  // Before any thread starts (RocksDB starts its own when the ledger opens).
  StopSignals signals;
  // Appends need the ledger open for writing (its lock); else read-only, following writers.
  auto l = a.server.allow_append ? open_ledger(opts, false)
           : a.follow_ms > 0     ? open_following(opts)
                                 : open_ledger(opts, true);
  if (!l) return report(l.error());

  serve::ServeOptions so = a.server;
  so.host = listen->first;
  so.port = listen->second;
  so.follow_interval = std::chrono::milliseconds(a.follow_ms);
  if (!a.token_file.empty()) {
    auto token = read_token(a.token_file);
    if (!token) return report(token.error());
    so.bearer_token = std::move(*token);
  }
  if (*access) {
    so.access_log = [logger = *access](const serve::AccessRecord& r) {
      logger->info("{} \"{} {}\" {} {} {}us", r.remote, r.method, r.target, r.status, r.bytes,
                   r.elapsed.count());
    };
  }
  auto server = serve::Server::bind(*l, so);
  if (!server) return report(server.error());
  std::cout << "listening on " << (so.tls_cert_file.empty() ? "http" : "https") << "://"
            << (so.host.find(':') != std::string::npos ? "[" : "") << so.host
            << (so.host.find(':') != std::string::npos ? "]" : "") << ":" << (*server)->port()
            << "/" << std::endl;
  std::cerr << "witness: serving " << resolve_ledger_dir(opts)
            << (a.server.allow_append ? ", appends allowed (gated, signed nodes only)"
                : a.follow_ms > 0     ? " read-only, following its writers"
                                      : " read-only")
            << "; SIGINT (Ctrl-C) or SIGTERM stops it\n";

  signals.on_signal([&] { (*server)->stop(); });
  const Status st = (*server)->run();
  if (!st) return report(st.error());
  return kExitOk;
}

}  // namespace

void register_serve_command(CLI::App& app, Action& action) {
  static CommonOptions common;
  static ServeArgs args;
  auto* cmd = app.add_subcommand(
      "serve",
      "serve the ledger over HTTP: a JSON API under /v1/ and a C2SP tlog-tiles log "
      "(/checkpoint, /tile/...); read-only, loopback by default");
  add_common_options(*cmd, common);
  cmd->add_option("--listen", args.listen,
                  "address to listen on: HOST:PORT, [IPv6]:PORT or :PORT "
                  "(port 0: any free port, printed on stdout)")
      ->capture_default_str();
  cmd->add_option("--threads", args.server.threads, "connections served at once (more wait)")
      ->check(CLI::Range(1U, 1024U))
      ->capture_default_str();
  cmd->add_option("--max-page", args.server.max_page, "largest ?limit= of /v1/entries")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  cmd->add_option("--max-streams", args.server.max_streams,
                  "event streams (/v1/events) open at once; each holds a connection")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1024}))
      ->capture_default_str();
  cmd->add_option("--follow-ms", args.follow_ms,
                  "how often to read what writers appended since (milliseconds; 0: never, "
                  "serve the ledger as it was at start)")
      ->check(CLI::Range(0U, 3'600'000U))
      ->capture_default_str();
  cmd->add_flag("--allow-append", args.server.allow_append,
                "take POST /v1/append: JSON Lines of nodes signed by their origin's bound key, "
                "through the covenant gate (refusals recorded); opens the ledger for writing");
  cmd->add_option("--max-body", args.server.max_body_bytes,
                  "largest request body (an append), in bytes")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30U))
      ->capture_default_str();
  cmd->add_option("--token-file", args.token_file,
                  "require 'Authorization: Bearer <token>' on every request; the token is the "
                  "file's first line (16 bytes or more)");
  cmd->add_option("--tls-cert", args.server.tls_cert_file,
                  "serve HTTPS: PEM certificate chain (with --tls-key)");
  cmd->add_option("--tls-key", args.server.tls_key_file, "PEM private key of --tls-cert");
  cmd->add_option("--cors-origin", args.server.cors_origin,
                  "let pages of this origin (https://host[:port], or *) call the API from a "
                  "browser; default: none");
  cmd->add_option("--access-log", args.access_log,
                  "where each request is logged: a file, - for stderr, or off")
      ->capture_default_str();
  cmd->callback([&action] { action = [] { return run_serve(common, args); }; });
}

}  // namespace witness::tools
