// CLI11, included with one g++ 12 false positive silenced: -Wnull-dereference fires inside
// libstdc++ code inlined into CLI11's header-only string helpers (CLI::detail::split).
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <CLI/CLI.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
