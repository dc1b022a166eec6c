#pragma once
/// Reads what a `cutover simulate` run left in its (temporary) store, for its reports: every job's times and first
/// provider, attempts per hour and provider, the candidate's work in flight at an instant. Read-only, after the run.

#include "core/types.hpp"

#include <memory>
#include <string>
#include <vector>

namespace cutover::store_adapter {

struct sim_job {
  std::int64_t created_us = 0;
  std::int64_t updated_us = 0;
  core::job_status status = core::job_status::accepted;
  int first_provider = -1; ///< index into the names given to the reader; -1: never attempted
  int n = 1; ///< images asked
};

struct sim_hour_provider {
  std::int64_t hour = 0; ///< hours since the start (by the attempt's start)
  int provider = -1;
  std::int64_t attempts = 0;
  std::int64_t failed = 0;
  core::micros cost = 0;
};

/// Work of one provider for jobs that arrived at or before an instant.
struct sim_in_flight {
  std::int64_t last_finished_us = 0; ///< when the last of those attempts finished
  std::int64_t unfinished = 0;       ///< attempts still running at the end of the run
};

class sim_results {
public:
  virtual ~sim_results() = default;
  virtual std::vector<sim_job> jobs() = 0;
  virtual std::vector<sim_hour_provider> hourly(core::instant start) = 0;
  virtual sim_in_flight in_flight(const std::string& provider, core::instant at) = 0;
  /// When the first attempt of `provider` that failed at or after `at` finished (0: none).
  virtual std::int64_t first_failure_us(const std::string& provider, core::instant at) = 0;
};

/// `providers`: the names, whose indexes the rows use.
std::unique_ptr<sim_results> open_sim_results(const std::string& path, std::vector<std::string> providers);

} // namespace cutover::store_adapter
