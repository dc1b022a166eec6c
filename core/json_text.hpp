#pragma once
/// JSON string literals written by hand (the engine's answers and its notifications): one escaping for both.

#include <string>
#include <string_view>

namespace cutover::core {

/// Appends `s` as a JSON string literal, quotes included: `"` `\` and control characters escaped, other bytes as
/// they are (UTF-8 passes through).
void append_json_string(std::string& out, std::string_view s);

/// `s` as a JSON string literal, quotes included.
inline std::string json_quote(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

} // namespace cutover::core
