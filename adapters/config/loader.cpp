#include "adapters/config/loader.hpp"

#include "adapters/config/reader.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

namespace cutover::config_adapter {

namespace {

/// First 16 hex digits of the SHA-256 of the exact bytes: names the snapshot in rollout decisions.
std::string content_hash(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    return {};
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

load_result unreadable(const std::string& path, const std::string& why) {
  load_result r;
  r.unreadable = true;
  r.errors.push_back({path, 0, "", "cannot read the file: " + why});
  return r;
}

} // namespace

std::string to_string(const config_error& e) {
  std::string s = e.file;
  if (e.line > 0)
    s += ":" + std::to_string(e.line);
  s += ": ";
  if (!e.path.empty())
    s += e.path + ": ";
  return s + e.message;
}

load_result load_config_text(const std::string& text, const std::string& file_name) {
  load_result result;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    result.errors.push_back({file_name, e.mark.line + 1, "", "YAML syntax error: " + e.msg});
    return result;
  }
  detail::context c(file_name);
  auto cfg = std::make_shared<core::config>();
  YAML::Node root = documents.empty() ? YAML::Node() : documents.front();
  if (documents.size() > 1)
    c.error(detail::line_of(documents[1]), "", "expected one YAML document, found " + std::to_string(documents.size()));
  try {
    detail::read_map(c, root, "", detail::root_fields(), *cfg);
    detail::check_rules(c, *cfg);
  } catch (const std::exception& e) { // a bug of ours, but still an answer rather than a crash
    c.error(0, "", std::string("internal error while reading the config: ") + e.what());
  }
  result.errors = c.take_errors();
  if (result.errors.empty()) {
    cfg->hash = content_hash(text);
    result.config = std::move(cfg);
  }
  return result;
}

load_result load_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return unreadable(path, "it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return unreadable(path, std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad())
    return unreadable(path, std::strerror(errno));
  return load_config_text(bytes.str(), path);
}

int run_check_config(const std::string& path, std::ostream& out, std::ostream& err) {
  load_result r = load_config_file(path);
  for (const auto& e : r.errors)
    err << to_string(e) << '\n';
  if (r.unreadable)
    return 1;
  if (!r.errors.empty())
    return 2;
  out << "ok " << r.config->hash << '\n';
  return 0;
}

std::vector<config_key> config_keys() {
  std::vector<config_key> out;
  detail::list_keys(detail::root_fields(), "", out);
  return out;
}

} // namespace cutover::config_adapter
