#include "core/api_keys.hpp"

#include <algorithm>
#include <cctype>

namespace cutover::core {

std::string_view to_string(api_scope s) {
  switch (s) {
  case api_scope::submit: return "submit";
  case api_scope::read: return "read";
  case api_scope::admin: return "admin";
  }
  return "?";
}

bool parse_api_scope(std::string_view text, api_scope& out) {
  for (auto s : {api_scope::submit, api_scope::read, api_scope::admin})
    if (text == to_string(s)) {
      out = s;
      return true;
    }
  return false;
}

const api_key* key_set::find(const key_digest& digest) const {
  const api_key* found = nullptr;
  for (const auto& k : keys_) {
    std::uint8_t diff = 0;
    for (std::size_t i = 0; i < digest.size(); ++i)
      diff |= static_cast<std::uint8_t>(k.digest[i] ^ digest[i]);
    // no early exit: every key costs the same whether it matched or not (the loader refuses duplicate digests)
    const bool same = diff == 0;
    found = same ? &k : found;
  }
  return found;
}

namespace {

/// A dotted-quad IPv4 address whose first octet is 127.
bool is_ipv4_loopback(std::string_view host) {
  int parts = 0;
  int first = -1;
  std::size_t i = 0;
  while (i <= host.size()) {
    const auto end = std::min(host.find('.', i), host.size());
    const auto part = host.substr(i, end - i);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return false;
    const int v = std::stoi(std::string(part));
    if (v > 255)
      return false;
    if (parts++ == 0)
      first = v;
    i = end + 1;
  }
  return parts == 4 && first == 127;
}

} // namespace

bool is_loopback_listen(std::string_view host_port) {
  const auto colon = host_port.rfind(':');
  auto host = colon == std::string_view::npos ? host_port : host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string lower(host);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "localhost" || lower == "::1" || lower == "0:0:0:0:0:0:0:1" || is_ipv4_loopback(lower);
}

} // namespace cutover::core
