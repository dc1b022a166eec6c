#pragma once
/// The parts of an absolute http(s) URL that an HTTP client needs, and the request target of a call made relative
/// to it. Pure functions: no resolving, no I/O.

#include <string>
#include <string_view>

namespace cutover::core {

struct http_url {
  bool tls = false;    ///< https
  std::string host;    ///< a name or an address; an IPv6 address without its brackets
  std::string port;    ///< given or the scheme's (80 / 443)
  std::string path;    ///< the path prefix without a trailing '/' ("" for the root); no query
  std::string problem; ///< why the text is no such URL ("" when it is)
  /// The Host header: the host (an IPv6 address in brackets) and the port unless it is the scheme's.
  std::string host_header() const;
};

/// `url` taken apart: http:// or https://, a host, an optional port (1..65535), an optional path. Refused with a
/// reason: other schemes, credentials, spaces or control characters, a query or fragment, an empty host.
http_url parse_http_url(std::string_view url);

/// The request target of `relative` under `base_path`: "images/generations" and "/images/generations" under "/v1"
/// both give "/v1/images/generations". Each segment is percent-encoded but for the characters a path segment may
/// hold as they are (so `?`, `#`, `%`, spaces, controls and non-ASCII bytes are encoded), and a segment "." or ".."
/// is encoded whole: an identifier from a remote answer can neither break the request line nor add a query or climb
/// out of the API's path.
std::string request_target(const std::string& base_path, std::string_view relative);

} // namespace cutover::core
