#pragma once
/// Admin API keys from `auth.keys_file` (a YAML file kept apart from config.yaml, as secrets must be):
///   keys:
///     - {name: ops, key_env: CUTOVER_ADMIN_KEY}   # the key is read from that environment variable
///     - {name: ci,  key: "a-long-random-string"}   # or written in this file, which is then itself a secret
/// Keys are never logged; names are.

#include <string>
#include <vector>

namespace cutover::config_adapter {

struct keys_result {
  std::vector<std::string> keys;   ///< the usable keys
  std::vector<std::string> names;  ///< their names, for logs
  std::vector<std::string> errors; ///< "file: keys[1]: ..." — a file with errors gives no keys
};

keys_result load_keys_file(const std::string& path);

} // namespace cutover::config_adapter
