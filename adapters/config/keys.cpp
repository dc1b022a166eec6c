#include "adapters/config/keys.hpp"

#include <openssl/sha.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>

namespace cutover::config_adapter {

namespace {

/// Shorter keys are guessable; a digest entry cannot be checked, so its key is the operator's responsibility.
constexpr std::size_t min_key_chars = 16;
const std::vector<std::string> entry_fields = {"name", "key", "key_env", "sha256", "scopes", "tenant"};

int line_of(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().line + 1; }

bool hex_digest(const std::string& text, core::key_digest& out) {
  if (text.size() != out.size() * 2)
    return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

bool valid_tenant(const std::string& t) {
  return !t.empty() && t.size() <= 64 && std::all_of(t.begin(), t.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

/// One entry; errors go to `errors` prefixed with `where`. Returns whether the key is usable.
bool read_entry(const YAML::Node& k, const std::string& file, std::size_t index, core::api_key& out,
                std::vector<std::string>& errors) {
  const auto at = [&](const YAML::Node& n) { return file + ":" + std::to_string(line_of(n)) + ": "; };
  std::string where = "keys[" + std::to_string(index) + "]";
  if (!k.IsMap()) {
    errors.push_back(at(k) + where + ": must be a map {name, key | key_env | sha256, scopes, tenant?}");
    return false;
  }
  const std::size_t before = errors.size();
  const auto scalar = [&](const char* field) -> std::optional<std::string> {
    const auto n = k[field];
    if (!n)
      return std::nullopt;
    if (!n.IsScalar() || n.Scalar().empty()) {
      errors.push_back(at(n) + where + "." + field + ": must be a non-empty text");
      return std::string{};
    }
    return n.Scalar();
  };
  const auto name = scalar("name");
  if (!name)
    errors.push_back(at(k) + where + ": name is required");
  else if (!name->empty())
    out.name = *name;
  if (!out.name.empty())
    where += " (" + out.name + ")"; // errors name the entry
  for (const auto& f : k) {
    const auto field = f.first.IsScalar() ? f.first.Scalar() : std::string("?");
    if (std::find(entry_fields.begin(), entry_fields.end(), field) == entry_fields.end())
      errors.push_back(at(f.first) + where + "." + field +
                       ": unknown key (known keys here: name, key, key_env, sha256, scopes, tenant)");
  }

  const auto key = scalar("key"), key_env = scalar("key_env"), sha = scalar("sha256");
  const int given = (key ? 1 : 0) + (key_env ? 1 : 0) + (sha ? 1 : 0);
  if (given != 1) {
    errors.push_back(at(k) + where + (given == 0 ? ": needs one of key, key_env or sha256"
                                                 : ": give exactly one of key, key_env or sha256"));
  } else if (key && !key->empty()) {
    if (key->size() < min_key_chars)
      errors.push_back(at(k["key"]) + where + ".key: a key must have at least " + std::to_string(min_key_chars) +
                       " characters");
    else
      out.digest = sha256_digest(*key);
  } else if (key_env && !key_env->empty()) {
    const char* v = std::getenv(key_env->c_str());
    if (v == nullptr || *v == '\0')
      errors.push_back(at(k["key_env"]) + where + ".key_env: the environment variable " + *key_env + " is not set");
    else if (std::string_view(v).size() < min_key_chars)
      errors.push_back(at(k["key_env"]) + where + ".key_env: the key in " + *key_env + " must have at least " +
                       std::to_string(min_key_chars) + " characters");
    else
      out.digest = sha256_digest(v);
  } else if (sha && !sha->empty() && !hex_digest(*sha, out.digest)) {
    errors.push_back(at(k["sha256"]) + where + ".sha256: must be 64 hex digits (the SHA-256 of the key)");
  }

  const auto scopes = k["scopes"];
  if (!scopes) {
    errors.push_back(at(k) + where + ": scopes is required: list what the key allows, e.g. scopes: [submit, read] "
                                     "(submit, read, admin)");
  } else if (!scopes.IsSequence() || scopes.size() == 0) {
    errors.push_back(at(scopes) + where + ".scopes: must be a list of one or more of submit, read, admin");
  } else {
    for (const auto& s : scopes) {
      core::api_scope scope{};
      if (!s.IsScalar() || !core::parse_api_scope(s.Scalar(), scope))
        errors.push_back(at(s) + where + ".scopes: " + (s.IsScalar() ? "\"" + s.Scalar() + "\"" : "an entry") +
                         " is not a scope (submit, read, admin)");
      else
        out.scopes |= static_cast<std::uint8_t>(scope);
    }
  }
  if (const auto tenant = scalar("tenant"); tenant && !tenant->empty()) {
    if (!valid_tenant(*tenant))
      errors.push_back(at(k["tenant"]) + where + ".tenant: 1 to 64 letters, digits, '-', '_' or '.'");
    else
      out.tenant = *tenant;
  }
  return errors.size() == before;
}

} // namespace

core::key_digest sha256_digest(std::string_view text) {
  core::key_digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

keys_result load_keys_file(const std::string& path) {
  keys_result out;
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {
    out.errors.push_back(path + ":" + std::to_string(e.mark.line + 1) + ": the keys file is not valid YAML: " + e.msg);
    return out;
  } catch (const std::exception& e) {
    out.errors.push_back(path + ": cannot read the keys file: " + e.what());
    return out;
  }
  if (!doc.IsMap()) {
    out.errors.push_back(path + ":1: keys: the file must be a map with a list under keys");
    return out;
  }
  for (const auto& f : doc)
    if (!f.first.IsScalar() || f.first.Scalar() != "keys")
      out.errors.push_back(path + ":" + std::to_string(line_of(f.first)) + ": " +
                           (f.first.IsScalar() ? f.first.Scalar() : std::string("?")) + ": unknown key (known: keys)");
  const auto keys = doc["keys"];
  if (!keys || !keys.IsSequence() || keys.size() == 0) {
    out.errors.push_back(path + ":" + std::to_string(keys ? line_of(keys) : 1) +
                         ": keys: must be a list of {name, key | key_env | sha256, scopes, tenant?}");
    return out;
  }
  std::vector<core::api_key> read;
  std::set<std::string> names;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    core::api_key k;
    if (!read_entry(keys[i], path, i, k, out.errors))
      continue;
    const auto where = path + ":" + std::to_string(line_of(keys[i])) + ": keys[" + std::to_string(i) + "] (" + k.name + ")";
    if (!names.insert(k.name).second) {
      out.errors.push_back(where + ": the name " + k.name + " is used twice");
      continue;
    }
    const auto same = std::find_if(read.begin(), read.end(), [&](const auto& r) { return r.digest == k.digest; });
    if (same != read.end()) {
      out.errors.push_back(where + ": the same key as " + same->name + " (a key must name one entry)");
      continue;
    }
    read.push_back(std::move(k));
  }
  if (out.errors.empty())
    out.keys = std::make_shared<const core::key_set>(std::move(read));
  return out;
}

} // namespace cutover::config_adapter
