#pragma once
/// The API keys the engine accepts (from `auth.keys_file`): each held only as the SHA-256 digest of the key, with
/// the scopes it allows and the tenant it may be tied to. Looking a digest up compares it with every key, always
/// all of its bytes, so the time a lookup takes says nothing about how close a guess came. Plain data: hashing and
/// reading the file live in adapters. Also the one rule on where an engine without keys may listen.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

using key_digest = std::array<std::uint8_t, 32>;

/// What a key allows (a bit set); `/healthz` and `/readyz` need none.
enum class api_scope : std::uint8_t { submit = 1, read = 2, admin = 4 };
std::string_view to_string(api_scope s);
/// "submit" | "read" | "admin"; false for anything else.
bool parse_api_scope(std::string_view text, api_scope& out);

struct api_key {
  std::string name;   ///< for logs and errors; never the key
  key_digest digest{};
  std::uint8_t scopes = 0;
  std::string tenant; ///< empty: not tied to a tenant
  bool allows(api_scope s) const { return (scopes & static_cast<std::uint8_t>(s)) != 0; }
};

class key_set {
public:
  key_set() = default;
  explicit key_set(std::vector<api_key> keys) : keys_(std::move(keys)) {}
  /// The key with this digest, or nullptr. Constant time in the digest's bytes, and every key is compared.
  const api_key* find(const key_digest& digest) const;
  const std::vector<api_key>& keys() const { return keys_; }

private:
  std::vector<api_key> keys_;
};

/// Whether HOST:PORT names a loopback host: 127.0.0.0/8, ::1 (bracketed or not) or localhost. Anything else, the
/// wildcard 0.0.0.0 and [::] included, is reachable from other machines.
bool is_loopback_listen(std::string_view host_port);

} // namespace cutover::core
