// The explorer's files (serve/web), embedded in the binary at build time
// (serve/cmake/embed_web.cmake): the page works with nothing beside the binary and no network.
#pragma once

#include <span>
#include <string_view>

namespace witness::serve::detail {

struct WebAsset {
  std::string_view path;          // the URL path: "/", "/app.js", "/style.css"
  std::string_view content_type;  // as sent
  std::string_view body;
};

[[nodiscard]] std::span<const WebAsset> web_assets();

}  // namespace witness::serve::detail
