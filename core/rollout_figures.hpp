#pragma once
/// What an operator sees of the rollout beyond its status (the console, GET /v1/rollout): the phases, which
/// operator actions the controller would accept now (and why not), the current phase's gates judged now, the
/// triggers as the last tick judged them, and each cohort's figures since the phase began. Plain values, built by
/// rollout_machine::figures(); reading them changes nothing.

#include "core/rollout.hpp"

#include <string>
#include <vector>

namespace cutover::core {

struct phase_outline {
  int percent = 0;
  duration min_duration{0};
  std::int64_t min_samples = 0;
};

/// An operator action (hold, resume, promote, rollback) and whether the controller would do it now: `refusal`
/// is empty when it would, else the sentence a 409 would carry.
struct action_check {
  std::string action;
  std::string refusal;
};

/// One cohort since the phase began (what the gates judge).
struct cohort_figures {
  std::int64_t samples = 0, failures = 0;
  ppm failure_rate = 0;
  duration p95{0};                          ///< provider latency of succeeded samples
  duration user_p50{0}, user_p95{0};        ///< user wait (created -> final) of the cohort's routed jobs
  std::int64_t user_wait_samples = 0;
  micros cost = 0, cost_per_image = 0;
  std::int64_t images = 0;
  double quality_mean = 0;
  std::int64_t quality_samples = 0;
  std::int64_t breaker_trips = 0;
};

struct rollout_figures {
  std::vector<phase_outline> phases;
  std::vector<action_check> actions;     ///< hold, resume, promote, rollback, in that order
  std::vector<int> step_down_to;         ///< the lower phases' percents a step down accepts now (highest first)
  std::vector<decision_item> gates;      ///< the current phase's, judged at the time asked (with their sentences)
  std::vector<decision_item> triggers;   ///< as the last tick judged them (sentences only on a written decision)
  instant triggers_at{};                 ///< that tick (epoch: none yet)
  cohort_figures candidate, baseline;
};

} // namespace cutover::core
