#pragma once
/// Loads config.yaml into the immutable `core::config` model, validating every field.
/// Guarantees: either a complete config or the complete list of errors (never only the first), each with the
/// file, the 1-based YAML line and the dotted key path; the config carries the hash of the exact file bytes.
/// yaml-cpp stays inside this adapter: nothing here includes it.

#include "core/config.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace cutover::config_adapter {

/// One problem in a config file. `line` is 1-based, 0 when unknown; `path` is the dotted key path
/// (e.g. `providers.gemini.polling.schedule[1].every`), empty for a YAML syntax error.
struct config_error {
  std::string file;
  int line = 0;
  std::string path;
  std::string message;
};

/// One key config.yaml (or a scenario file) accepts, as declared in the schema tables.
/// `path` is dotted; a key the user names is written `<name>` (`providers.<name>.kind`), a list's item `[]`
/// (`rollout.phases[].percent`).
struct config_key {
  std::string path;
  std::string type;    ///< e.g. `integer 1..512`, `duration 0s..1h`, `one of: sync, async`, `mapping`
  std::string meaning;
  bool required = false;
};

/// Every key of config.yaml, parents before their children, in declaration order.
std::vector<config_key> config_keys();

/// `config.yaml:41: tiers.hd.batch.max_items: must be between 1 and 512, got 0`
std::string to_string(const config_error& e);

/// `config` is set iff `errors` is empty. `unreadable` means the file itself could not be read.
struct load_result {
  core::config_ptr config;
  std::vector<config_error> errors;
  bool unreadable = false;
};

load_result load_config_file(const std::string& path);
load_result load_config_text(const std::string& text, const std::string& file_name);

/// `cutover check-config F`: prints `ok <hash>` to `out` and returns 0; or one line per error to `err` and
/// returns 2; or, when the file cannot be read, one line to `err` and returns 1.
int run_check_config(const std::string& path, std::ostream& out, std::ostream& err);

} // namespace cutover::config_adapter
