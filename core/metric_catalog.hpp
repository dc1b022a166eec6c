#pragma once
/// Every metric family the engine exports, declared once with its type, help and labels, and registered before any
/// actor starts: an idle engine shows them all, and the per-provider series show 0 rather than nothing. The names
/// are constants so that an owner and the tests cannot drift apart; the deploy/ alert rules and dashboard query
/// these names (a test checks that each of them is declared here).

#include "core/metrics.hpp"

#include <string>
#include <vector>

namespace cutover::core::metric {

// histograms
inline const std::string job_user_wait = "cutover_job_user_wait_seconds";           ///< {provider, tier, cohort}
inline const std::string provider_call_time = "cutover_provider_call_duration_seconds"; ///< {provider}
// HTTP
inline const std::string http_responses = "cutover_http_responses_total"; ///< {route, method, code}
// queue and providers
inline const std::string queue_depth = "cutover_queue_depth_items";          ///< {provider, stage}
inline const std::string calls_in_flight = "cutover_provider_calls_in_flight"; ///< {provider}
inline const std::string remote_jobs = "cutover_provider_remote_jobs";         ///< {provider}
inline const std::string limit_used = "cutover_provider_limit_used";         ///< {provider, window}
inline const std::string limit_max = "cutover_provider_limit_max";           ///< {provider, window}
inline const std::string breaker_trips = "cutover_breaker_trips_total";      ///< {provider}
inline const std::string breaker_state = "cutover_breaker_state";            ///< {provider}
// routing
inline const std::string fallbacks = "cutover_fallbacks_total";      ///< {from, to, reason}
inline const std::string fallback_ratio = "cutover_fallback_ratio";  ///< fallbacks per finished job, last 5 min
inline const std::string jobs_finished = "cutover_jobs_finished_total"; ///< {status}
// rollout
inline const std::string rollout_percent = "cutover_rollout_percent";
inline const std::string rollout_phase = "cutover_rollout_phase";
inline const std::string rollout_state = "cutover_rollout_state";              ///< {state}: 1 for the current one
inline const std::string rollout_decisions = "cutover_rollout_decisions_total"; ///< {action}
inline const std::string rollout_drill_active = "cutover_rollout_drill_active"; ///< 1 while a drill runs
// store (readiness reads these two)
inline const std::string store_last_commit = "cutover_store_last_commit_timestamp_seconds";
inline const std::string store_failing = "cutover_store_commit_failing";
// images
inline const std::string image_cache_hits = "cutover_image_cache_hits_total";
inline const std::string images_swept = "cutover_images_swept_total";

/// Queue stages (label `stage` of queue_depth): waiting for the ledger's admission, in a batch window, and at the
/// provider waiting for a limit or a retry. Together: items accepted and not yet submitted.
inline const char* const stage_admission = "admission";
inline const char* const stage_window = "window";
inline const char* const stage_waiting = "waiting";

} // namespace cutover::core::metric

namespace cutover::core {

struct config;

/// Declares every family, and creates at 0 the series of `providers`, the rollout states, every decision action
/// and every final job status. A counter series that appeared only at its first event would lose that event to
/// Prometheus' increase() and rate() (they need a sample before it), and an alert on it would miss it.
void declare_engine_metrics(metrics_registry& m, const std::vector<std::string>& providers);

/// Creates at 0 the fallback series {from, to, reason} that `cfg` makes possible: each step of each provider's
/// fallback chain by each error class that takes it there and each budget refusal, and the last provider of a chain
/// to "none" by budget refusal. Called at start and on every reload (a new chain gets its series; old ones stay).
void declare_fallbacks(metrics_registry& m, const config& cfg);

} // namespace cutover::core
