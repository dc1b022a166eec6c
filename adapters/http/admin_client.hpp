#pragma once
/// One blocking call of the engine's admin API, for command-line tools (`cutover drill`): never used inside the
/// engine, whose threads must not block. cpprestsdk stays behind this header.

#include <chrono>
#include <string>

namespace cutover::http {

struct admin_answer {
  int status = 0;      ///< 0 when no HTTP answer came (see `error`)
  std::string body;
  std::string error;   ///< why no answer came (connection refused, timeout, bad URL)
};

/// POSTs an empty body to `base_url` + `path` with `Authorization: Bearer <key>` (no header when `key` is empty),
/// giving up after `timeout`.
admin_answer post_admin(const std::string& base_url, const std::string& path, const std::string& key,
                        std::chrono::seconds timeout);

} // namespace cutover::http
