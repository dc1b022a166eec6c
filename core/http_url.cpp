#include "core/http_url.hpp"

#include <algorithm>
#include <cctype>

namespace cutover::core {

std::string http_url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? "443" : "80"))
    h += ":" + port;
  return h;
}

http_url parse_http_url(std::string_view url) {
  http_url out;
  auto refuse = [&out](std::string why) {
    out = http_url{};
    out.problem = std::move(why);
    return out;
  };
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= 0x20 || c >= 0x7f; }))
    return refuse("must not contain spaces, control characters or non-ASCII bytes");
  std::string lower(url);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::size_t start = 0;
  if (lower.rfind("http://", 0) == 0) {
    start = 7;
  } else if (lower.rfind("https://", 0) == 0) {
    start = 8;
    out.tls = true;
  } else {
    return refuse("must start with http:// or https://");
  }
  const auto end = url.find('/', start);
  const auto authority = url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (url.find_first_of("?#") != std::string_view::npos)
    return refuse("must not have a query or fragment");
  if (authority.find('@') != std::string_view::npos)
    return refuse("must not carry credentials (a key comes from api_key_env)");
  std::string_view host = authority, port;
  bool port_given = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return refuse("has an unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return refuse("has something after its IPv6 address that is not a port");
    port_given = !rest.empty();
    port = port_given ? rest.substr(1) : rest;
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    port_given = true;
  }
  if (host.empty())
    return refuse("has no host");
  if (port_given && port.empty())
    return refuse("has an empty port");
  if (port_given) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
      return refuse("has a port that is not a number");
    const auto n = std::stoul(std::string(port));
    if (n == 0 || n > 65535)
      return refuse("has a port outside 1..65535");
    out.port = std::to_string(n);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  out.host = std::string(host);
  std::string path = end == std::string_view::npos ? std::string{} : std::string(url.substr(end));
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  out.path = path;
  return out;
}

std::string request_target(const std::string& base_path, std::string_view relative) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = base_path;
  if (relative.empty() || relative.front() != '/')
    out += '/';
  std::size_t start = 0;
  while (start <= relative.size()) {
    auto end = relative.find('/', start);
    if (end == std::string_view::npos)
      end = relative.size();
    const auto segment = relative.substr(start, end - start);
    const bool dots = segment == "." || segment == ".."; // kept as names, never as steps up the path
    for (unsigned char c : segment) {
      const bool plain = !dots && (std::isalnum(c) || std::string_view{"-._~!$&'()*+,;=:@"}.find(static_cast<char>(c)) !=
                                                        std::string_view::npos);
      if (plain) {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    if (end < relative.size())
      out += '/';
    start = end + 1;
  }
  return out;
}

} // namespace cutover::core
