#pragma once
/// The operator console's files (console/: HTML, CSS, JavaScript), built into the binary at build time by
/// cmake/embed_console.cmake, so the engine serves the console with no Node, CDN or installed files.

#include <string_view>
#include <vector>

namespace cutover::http {

struct console_asset {
  std::string_view name;         ///< the file name in console/, e.g. "app.js"
  std::string_view content_type; ///< e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

const std::vector<console_asset>& console_assets();

} // namespace cutover::http
