#pragma once
/// The few helpers the hand-written JSON answers are built with: a member's key (with the comma before it), a
/// string member and a member whose value is already JSON.

#include "core/json_text.hpp"

#include <string>
#include <string_view>

namespace cutover::http {

inline void key(std::string& out, std::string_view k) {
  if (out.back() != '{')
    out += ',';
  core::append_json_string(out, k);
  out += ':';
}

inline void field(std::string& out, std::string_view k, std::string_view v) {
  key(out, k);
  core::append_json_string(out, v);
}

inline void field_raw(std::string& out, std::string_view k, std::string_view raw) {
  key(out, k);
  out += raw;
}

} // namespace cutover::http
