#include "adapters/http/request.hpp"

#include "adapters/http/json_out.hpp"

#include <cctype>

namespace cutover::http {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Percent-decoding, '+' as a space (form encoding, which query strings use); a malformed escape stays as it is.
std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

} // namespace

std::string decode_path_segment(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequal(k, name))
      return v;
  return {};
}

bool request::has_header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequal(h.first, name))
      return true;
  return false;
}

std::string request::query_param(std::string_view name, bool* found) const {
  if (found != nullptr)
    *found = false;
  std::string_view q = query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    const auto eq = part.find('=');
    if (decode(part.substr(0, eq)) == name) {
      if (found != nullptr)
        *found = true;
      return eq == std::string_view::npos ? std::string{} : decode(part.substr(eq + 1));
    }
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
  }
  return {};
}

void reply::send(int status, std::string body, std::string content_type, header_list headers) const {
  if (!cors_origin_.empty()) {
    headers.emplace_back("Access-Control-Allow-Origin", cors_origin_);
    headers.emplace_back("Vary", "Origin");
  }
  if (counted_)
    counted_->count(status);
  sink_->respond(response{status, std::move(body), std::move(content_type), std::move(headers)});
}

void reply::error(int status, std::string_view code, std::string_view message, std::string_view field,
                  header_list headers) const {
  send(status, error_json(code, message, field), "application/json", std::move(headers));
}

void reply::unavailable(const std::string& why) const {
  error(503, "unavailable", "the engine did not answer: " + why, {}, {{"Retry-After", "1"}});
}

} // namespace cutover::http
