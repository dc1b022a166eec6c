#pragma once
/// The rollout controller's protocol: the one owner of the rollout's phase. It hears every attempt's outcome and
/// every dispatch (from the router), breaker trips (from provider workers) and quality ratings (feedback), decides
/// on every tick, tells the router the live routing view, and records each decision with its figures.

#include "core/metric_window.hpp"
#include "core/rollout.hpp"
#include "core/rollout_drill.hpp"
#include "core/rollout_figures.hpp"
#include "messages/config.hpp"
#include "messages/store_rows.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

/// Outcomes and dispatches since the last report (router -> controller).
struct observe {
  std::vector<core::observation> outcomes;
  std::int64_t dispatched_candidate = 0;
  std::int64_t dispatched_baseline = 0;
};
/// A provider's breaker opened (worker -> controller).
struct breaker_trip {
  std::string provider;
  core::instant at{};
};
/// A provider answered a poll of its remote job: "still running" (worker -> controller). Liveness for the silence
/// trigger, not an outcome; a failed poll is not sent.
struct poll_answered {
  std::string provider;
  core::instant at{};
};
/// A client's quality rating of a job, 0..1 (answer: found or not).
struct rate_job {
  core::job_id id;
  double quality = 0;
  std::string tenant; ///< the caller's (empty: none); another tenant's job is not found
};
struct rated { bool found = false; };
/// Internal: evaluate now.
struct rollout_tick {};
/// GET /v1/rollout
struct get_rollout {};
struct rollout_view_reply {
  std::string name;
  bool enabled = true;
  int percent = 0;
  int phase = -1;
  std::string state;
  core::instant since{};
  std::string config_hash;
  core::rollout_figures figures; ///< gates, triggers, cohorts, phases, which actions would be accepted
};
/// POST /v1/rollout/{promote,hold,resume,rollback}: the new view, or why the action was refused.
struct operator_action { std::string action; };
/// POST /v1/rollout/percent: step the live percent down to a lower phase's percent (answered as operator_reply:
/// done or already there, bad_request when no phase has it, not_allowed when raising).
struct step_percent { int percent = 0; };
enum class operator_error : std::uint8_t {
  none,           ///< done
  not_allowed,    ///< the action is not allowed in the rollout's state now (message says why)
  unknown_action, ///< no such action
  bad_request,    ///< the request names something no phase has (e.g. a percent to step down to)
};
constexpr const char* to_string(operator_error e) {
  switch (e) {
  case operator_error::none: return "none";
  case operator_error::not_allowed: return "not_allowed";
  case operator_error::unknown_action: return "unknown_action";
  case operator_error::bad_request: return "bad_request";
  }
  return "unknown";
}
struct operator_reply {
  operator_error error = operator_error::none;
  std::string message;
  rollout_view_reply view;
};
/// POST /v1/rollout/drill: a live rollback drill (core/rollout_drill.hpp), answered once it has ended and its
/// decisions are on disk; `max_wait` 0: the default. Refused (not_allowed) where a drill makes no sense,
/// bad_request for a max_wait out of bounds.
struct run_drill { core::duration max_wait{0}; };
struct drill_reply {
  operator_error error = operator_error::none;
  std::string message;
  core::drill_record record;
  rollout_view_reply view; ///< after the drill
};

template <class I> auto inspect(I& f, observe& x) {
  return f(caf::meta::type_name("observe"), x.outcomes, x.dispatched_candidate, x.dispatched_baseline);
}
template <class I> auto inspect(I& f, breaker_trip& x) {
  return f(caf::meta::type_name("breaker_trip"), x.provider, x.at);
}
template <class I> auto inspect(I& f, poll_answered& x) {
  return f(caf::meta::type_name("poll_answered"), x.provider, x.at);
}
template <class I> auto inspect(I& f, rate_job& x) { return f(caf::meta::type_name("rate_job"), x.id, x.quality, x.tenant); }
template <class I> auto inspect(I& f, rated& x) { return f(caf::meta::type_name("rated"), x.found); }
template <class I> auto inspect(I& f, rollout_tick&) { return f(caf::meta::type_name("rollout_tick")); }
template <class I> auto inspect(I& f, get_rollout&) { return f(caf::meta::type_name("get_rollout")); }
template <class I> auto inspect(I& f, rollout_view_reply& x) {
  return f(caf::meta::type_name("rollout_view_reply"), x.name, x.enabled, x.percent, x.phase, x.state, x.since,
           x.config_hash, x.figures);
}
template <class I> auto inspect(I& f, operator_action& x) {
  return f(caf::meta::type_name("operator_action"), x.action);
}
template <class I> auto inspect(I& f, step_percent& x) {
  return f(caf::meta::type_name("step_percent"), x.percent);
}
template <class I> auto inspect(I& f, operator_reply& x) {
  return f(caf::meta::type_name("operator_reply"), x.error, x.message, x.view);
}
template <class I> auto inspect(I& f, run_drill& x) { return f(caf::meta::type_name("run_drill"), x.max_wait); }
template <class I> auto inspect(I& f, drill_reply& x) {
  return f(caf::meta::type_name("drill_reply"), x.error, x.message, x.record, x.view);
}

using rollout_actor = caf::typed_actor<
  caf::reacts_to<observe>,
  caf::reacts_to<breaker_trip>,
  caf::reacts_to<poll_answered>,
  caf::replies_to<rate_job>::with<rated>,
  caf::reacts_to<rollout_tick>,
  caf::replies_to<get_rollout>::with<rollout_view_reply>,
  caf::replies_to<operator_action>::with<operator_reply>,
  caf::replies_to<step_percent>::with<operator_reply>,
  caf::replies_to<run_drill>::with<drill_reply>,
  caf::reacts_to<config_snapshot>>;

/// What a provider worker may tell the controller.
using trip_sink = caf::typed_actor<caf::reacts_to<breaker_trip>, caf::reacts_to<poll_answered>>;

} // namespace cutover::msg

namespace cutover::core {
template <class I> auto inspect(I& f, drill_record& x) {
  return f(x.started_at, x.routed_at, x.drained_at, x.finished_at, x.max_wait, x.before, x.after,
           x.at_candidate_when_routed, x.left_at_candidate, x.routed, x.drained);
}
template <class I> auto inspect(I& f, phase_outline& x) { return f(x.percent, x.min_duration, x.min_samples); }
template <class I> auto inspect(I& f, action_check& x) { return f(x.action, x.refusal); }
template <class I> auto inspect(I& f, cohort_figures& x) {
  return f(x.samples, x.failures, x.failure_rate, x.p95, x.user_p50, x.user_p95, x.user_wait_samples, x.cost,
           x.cost_per_image, x.images, x.quality_mean, x.quality_samples, x.breaker_trips);
}
template <class I> auto inspect(I& f, rollout_figures& x) {
  return f(x.phases, x.actions, x.step_down_to, x.gates, x.triggers, x.triggers_at, x.candidate, x.baseline);
}
template <class I> auto inspect(I& f, observation& x) {
  return f(x.at, x.provider, x.tier_, x.who, x.error, x.latency, x.cost, x.images, x.quality, x.user_wait, x.route);
}
} // namespace cutover::core
