#include "adapters/http/auth.hpp"

#include <openssl/sha.h>

#include <cctype>

namespace cutover::http {

namespace {

/// The token of "Bearer <token>" (scheme in any case, one or more spaces); empty when the header is not that shape.
std::string_view bearer_token(std::string_view value) {
  constexpr std::string_view scheme = "bearer";
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ')
    return {};
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i])
      return {};
  auto token = value.substr(scheme.size());
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  for (const char c : token)
    if (c <= ' ' || c == 0x7f)
      return {}; // a key is one token of visible characters
  return token;
}

auth_verdict refused(int status, std::string message) {
  return {status, status == 401 ? "unauthorized" : "forbidden", std::move(message), {}, {}};
}

} // namespace

auth_verdict check_key(const core::key_set& keys, std::string_view authorization, core::api_scope needed) {
  if (authorization.empty())
    return refused(401, "this route needs an API key: Authorization: Bearer <key>");
  const auto token = bearer_token(authorization);
  if (token.empty())
    return refused(401, "the Authorization header must be \"Bearer <key>\"");
  core::key_digest digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  const auto* key = keys.find(digest);
  if (key == nullptr)
    return refused(401, "the API key is not known");
  if (!key->allows(needed))
    return refused(403, "the key " + key->name + " does not have the " + std::string(core::to_string(needed)) +
                          " scope this route needs");
  return {0, {}, {}, key->name, key->tenant};
}

} // namespace cutover::http
