#include "adapters/config/keys.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

namespace cutover::config_adapter {

keys_result load_keys_file(const std::string& path) {
  keys_result out;
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    out.errors.push_back(path + ": cannot read the keys file: " + e.what());
    return out;
  }
  const auto keys = doc["keys"];
  if (!keys || !keys.IsSequence() || keys.size() == 0) {
    out.errors.push_back(path + ": keys: must be a list of {name, key | key_env}");
    return out;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i];
    const auto where = path + ": keys[" + std::to_string(i) + "]";
    if (!k.IsMap() || !k["name"] || (!k["key"] && !k["key_env"])) {
      out.errors.push_back(where + ": needs a name and a key or a key_env");
      continue;
    }
    std::string key;
    if (k["key_env"]) {
      const auto env = k["key_env"].as<std::string>();
      const char* v = std::getenv(env.c_str());
      if (v == nullptr || std::string{v}.empty()) {
        out.errors.push_back(where + ": the environment variable " + env + " is not set");
        continue;
      }
      key = v;
    } else {
      key = k["key"].as<std::string>();
    }
    if (key.size() < 16) {
      out.errors.push_back(where + ": a key must have at least 16 characters");
      continue;
    }
    out.keys.push_back(std::move(key));
    out.names.push_back(k["name"].as<std::string>());
  }
  if (!out.errors.empty()) {
    out.keys.clear();
    out.names.clear();
  }
  return out;
}

} // namespace cutover::config_adapter
