#pragma once
/// API keys from `auth.keys_file`, a YAML file kept apart from config.yaml as secrets must be:
///   keys:
///     - {name: ops,  key_env: CUTOVER_ADMIN_KEY, scopes: [admin, read]}   # the key from that environment variable
///     - {name: shop, sha256: "9f86d0...", scopes: [submit, read], tenant: shop} # the key's SHA-256, in hex
///     - {name: ci,   key: "a-long-random-string", scopes: [read]}          # the key itself (the file is a secret)
/// Each entry has a `name`, exactly one of `key` / `key_env` / `sha256`, and `scopes` (one or more of submit, read,
/// admin); `tenant` is optional. Only digests are kept. Errors name the file, the line and the entry, never a key.

#include "core/api_keys.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::config_adapter {

struct keys_result {
  std::shared_ptr<const core::key_set> keys; ///< null when the file has any error: a file with errors gives no keys
  std::vector<std::string> errors;           ///< "keys.yaml:3: keys[1] (ci): scopes: ..."
};

/// Reads and checks the whole file; `key_env` values are read from the environment now.
keys_result load_keys_file(const std::string& path);

/// SHA-256 of `text`.
core::key_digest sha256_digest(std::string_view text);

} // namespace cutover::config_adapter
