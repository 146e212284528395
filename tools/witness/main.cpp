// witness: the command-line front end of the ledger (SPEC 7).
#include <cstdio>
#include <exception>
#include <iostream>

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "cli11.hpp"

#ifndef WITNESS_VERSION
#define WITNESS_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  try {
    CLI::App app{"witness: an append-only, tamper-evident trace ledger"};
    app.set_version_flag("--version", std::string("witness ") + WITNESS_VERSION);
    app.require_subcommand(1);
    std::string log_level = "warn";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.footer("Run `witness <command> --help` for a command's options.");

    witness::tools::Action action;
    witness::tools::register_ledger_commands(app, action);
    witness::tools::register_append_command(app, action);
    witness::tools::register_proof_commands(app, action);
    witness::tools::register_checkpoint_commands(app, action);
    witness::tools::register_laws_command(app, action);
    witness::tools::register_covenant_commands(app, action);
    witness::tools::register_detect_commands(app, action);
    witness::tools::register_serve_command(app, action);
    witness::tools::register_cluster_commands(app, action);

    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      std::cerr << "witness: " << e.what() << "\nRun with --help for usage.\n";
      return witness::tools::kExitUsage;
    }
    auto logger = spdlog::stderr_color_mt("witness");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log_level));
    if (!action) return witness::tools::kExitUsage;
    return action();
  } catch (const std::exception& e) {
    std::cerr << "witness: internal error: " << e.what() << "\n";
    return witness::tools::kExitCheckFailed;
  }
}
