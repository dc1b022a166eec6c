#pragma once
/// `cutover simulate`: flags, validation of config, scenario and sweeps (exit 2 before any run), the runs, the files.

#include <string>
#include <vector>

namespace cutover::sim {

struct simulate_flags {
  std::string config = "config.yaml";
  std::string scenario;
  std::string out = "sim-out";
  std::uint64_t seed = 1;
  int runs = 1;
  int processes = 0; ///< 0: one per core (at most 2), for --runs and --sweep
  bool keep_store = false; ///< --keep-store: leave each run's SQLite file in the temp folder and say where
  std::vector<std::string> sweeps; ///< KEY=V1,V2,... (at most two)
};

extern const char* simulate_usage;

/// Parses the arguments after `simulate`; false (with why) on a usage error.
bool parse_simulate_flags(const std::vector<std::string>& args, simulate_flags& out, std::string& why);
int simulate(const simulate_flags& flags);

} // namespace cutover::sim
