#pragma once
/// Loads a simulation scenario (YAML) and the config it runs with, validating both as config.yaml is validated:
/// unknown keys and bad values are errors with `file:line: key.path: message`, every error at once. A scenario may
/// patch the config (a provider's `cost`, an operator's `reload` with a `patch`); a sweep (`--sweep KEY=V,...`)
/// patches it too. A patch is a mapping of key paths (`tiers.sd.batch.max_wait: 30s`, nested mappings allowed) merged
/// into the config's YAML; the patched config is validated in full and its errors point at the patch's line.
/// yaml-cpp stays inside this adapter.

#include "adapters/config/loader.hpp"
#include "core/scenario.hpp"

#include <memory>
#include <string>
#include <vector>

namespace cutover::config_adapter {

/// One key path set to one YAML value, and where it was written.
struct patch_entry {
  std::string path;  ///< e.g. providers.gemini.cost_per_image.sd, rollout.phases[0].min_duration
  std::string value; ///< YAML text of the value
  std::string origin; ///< file (or "--sweep") the entry comes from
  int line = 0;
};

/// The config text with `patches` applied in order, loaded and validated; errors of the patched file are reported
/// at the line of the patch entry they concern. No patches: exactly load_config_text(text, file).
load_result load_patched_config(const std::string& text, const std::string& file,
                                const std::vector<patch_entry>& patches);

/// `KEY=V1,V2,...` of --sweep: the key and its values (a value may not contain a comma); false on bad syntax.
bool parse_sweep(const std::string& arg, std::string& key, std::vector<std::string>& values, std::string& why);

struct scenario_result {
  std::shared_ptr<const core::scenario> scenario; ///< set iff errors is empty
  std::vector<config_error> errors;
  bool unreadable = false;
};

/// Every key of a scenario file, parents before their children (see config_key).
std::vector<config_key> scenario_keys();

/// Reads the scenario at `scenario_path` and the config at `config_path`, with `extra` (a sweep's values) applied to
/// the config first. Relative trace paths are taken from the scenario's folder.
scenario_result load_scenario(const std::string& scenario_path, const std::string& config_path,
                              const std::vector<patch_entry>& extra = {});

} // namespace cutover::config_adapter
