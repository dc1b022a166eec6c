#pragma once
/// Private to adapters/config: a scenario file as read, before offsets, patches and the trace are resolved.

#include "adapters/config/reader.hpp"
#include "adapters/config/scenario_loader.hpp"

namespace cutover::config_adapter::detail {

struct provider_scenario {
  core::provider_model model;
  std::vector<patch_entry> cost; ///< path: the scenario key path; value: price; origin filled in later
  std::string path;
};

struct action_scenario {
  core::operator_step step;
  std::vector<patch_entry> patch;
  std::string path;
};

struct scenario_file {
  core::scenario sc;
  bool has_traffic = false;
  std::string trace;
  std::vector<provider_scenario> providers;
  std::vector<std::string> incident_paths;
  std::vector<action_scenario> actions;
};

const fields<scenario_file>& scenario_fields();
/// A patch mapping: key paths (nested mappings joined with '.') and YAML values.
void read_patch(context& c, const YAML::Node& n, const std::string& path, const std::string& prefix,
                std::vector<patch_entry>& out);

} // namespace cutover::config_adapter::detail
