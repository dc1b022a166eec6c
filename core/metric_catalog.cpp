#include "core/metric_catalog.hpp"

#include "core/config.hpp"
#include "core/ledger.hpp"
#include "core/lifecycle.hpp"
#include "core/rollout.hpp"

namespace cutover::core {

namespace {

struct family_decl {
  const char* name;
  metric_type type;
  const char* help;
  std::int64_t scale = 1;
};

constexpr std::int64_t usd = micros_per_usd;
constexpr std::int64_t seconds = 1'000'000; // gauges kept in microseconds

// The families that keep their names from before this catalog are listed with the rest: one list to read.
const family_decl families[] = {
  // intake
  {"cutover_jobs_accepted_total", metric_type::counter, "Jobs stored and answered 202."},
  {"cutover_jobs_throttled_total", metric_type::counter, "Jobs refused 429 for a user's rate."},
  {"cutover_jobs_unadmissible_total", metric_type::counter,
   "Jobs refused 503 because no provider of their chain could be admitted."},
  // routing
  {"cutover_jobs_in_flight", metric_type::gauge, "Jobs routed and not yet final."},
  {"cutover_jobs_finished_total", metric_type::counter, "Jobs that reached a final state, by status."},
  {"cutover_fallbacks_total", metric_type::counter,
   "Items sent to the next provider of their chain, by the reason the previous one could not serve them."},
  {"cutover_fallback_ratio", metric_type::gauge,
   "Fallbacks per finished job over the last 5 minutes (readiness says degraded above "
   "health.degraded_fallback_rate).",
   1'000'000},
  {"cutover_budget_fallbacks_total", metric_type::counter,
   "Items sent past a provider whose budget would not admit them."},
  {"cutover_rollback_recalls_total", metric_type::counter,
   "Items taken back from the candidate after a rollback and routed again."},
  {"cutover_job_user_wait_seconds", metric_type::histogram,
   "User wait (job created -> final) of succeeded jobs, by the provider that served them, tier and the cohort "
   "they were routed to."},
  {"cutover_queue_depth_items", metric_type::gauge,
   "Items accepted and not yet submitted to a provider, by provider and stage (admission, window, waiting for a "
   "limit or a retry)."},
  // providers
  {"cutover_provider_calls_total", metric_type::counter,
   "Provider answers by call (create: a submit; poll: a poll of a running remote job, or a failed poll; result: the "
   "poll that brought a remote job's end) and outcome (none = answered, else the error class)."},
  {"cutover_provider_call_duration_seconds", metric_type::histogram,
   "Time from an item's call to its provider outcome (remote polling included)."},
  {"cutover_provider_calls_in_flight", metric_type::gauge, "Calls holding a concurrency slot of the provider."},
  {"cutover_provider_remote_jobs", metric_type::gauge,
   "Remote jobs (accepted asynchronous batches) the provider's worker follows by polling."},
  {"cutover_provider_limit_used", metric_type::gauge,
   "Use of the provider's limits: window=concurrency (calls now), hour (sliding hour), day (budget day)."},
  {"cutover_provider_limit_max", metric_type::gauge, "The provider's limits by window; 0 = unlimited."},
  {"cutover_provider_retries_total", metric_type::counter, "Calls retried after a retryable failure."},
  {"cutover_remote_cancels_total", metric_type::counter, "Remote jobs cancelled at the provider."},
  {"cutover_breaker_state", metric_type::gauge, "Circuit breaker per provider: 0 closed, 1 open, 2 half-open."},
  {"cutover_breaker_trips_total", metric_type::counter, "Times the provider's circuit breaker opened."},
  {"cutover_worker_restarts_total", metric_type::counter, "Provider workers restarted after a crash."},
  // budget
  {"cutover_budget_consumed_usd", metric_type::gauge, "Spend settled today.", usd},
  {"cutover_budget_reserved_usd", metric_type::gauge, "Spend reserved by calls in flight.", usd},
  {"cutover_budget_limit_usd", metric_type::gauge, "Daily limit.", usd},
  {"cutover_budget_admissions_total", metric_type::counter, "Budget admissions by verdict."},
  {"cutover_budget_stopped", metric_type::gauge,
   "1 while a provider's admissions are refused for budget (its last one was)."},
  // rollout
  {"cutover_rollout_percent", metric_type::gauge, "Share of users routed to the candidate."},
  {"cutover_rollout_phase", metric_type::gauge, "Index of the rollout phase (-1 before the first)."},
  {"cutover_rollout_state", metric_type::gauge, "1 for the rollout's current state, 0 for the others."},
  {"cutover_rollout_decisions_total", metric_type::counter, "Rollout decisions by action."},
  {"cutover_rollout_drill_active", metric_type::gauge,
   "1 while a live rollback drill runs (cutover_rollout_state reads rolled_back meanwhile), 0 otherwise."},
  {"cutover_user_wait_seconds", metric_type::summary,
   "User wait (job created -> final) of the succeeded jobs routed to the cohort, since the rollout phase began.",
   seconds},
  {"cutover_user_wait_jobs", metric_type::gauge, "Succeeded jobs behind cutover_user_wait_seconds."},
  // store
  {"cutover_store_commits_total", metric_type::counter, "Transactions committed by the job store."},
  {"cutover_store_rows_total", metric_type::counter, "Job inserts and events written."},
  {"cutover_store_commit_failures_total", metric_type::counter, "Transactions that failed."},
  {"cutover_store_held_bytes", metric_type::gauge, "Bytes of rows kept in memory for a retry of a failed commit."},
  {"cutover_store_last_commit_timestamp_seconds", metric_type::gauge,
   "When the store last committed (a probe row commits at least every store probe interval).", seconds},
  {"cutover_store_commit_failing", metric_type::gauge, "1 while the store's last commit failed."},
  {"cutover_dead_letters_swept_total", metric_type::counter, "Dead letters deleted after their retention."},
  {"cutover_jobs_swept_total", metric_type::counter, "Final jobs deleted after jobs.retention."},
  {"cutover_jobs_erased_total", metric_type::counter, "Final jobs erased by DELETE /v1/users/{id}/jobs."},
  {"cutover_jobs_cancel_requests_total", metric_type::counter, "Jobs asked to be cancelled (DELETE /v1/jobs/{id})."},
  // HTTP
  {"cutover_http_responses_total", metric_type::counter,
   "HTTP answers by route pattern (unmatched: no route), method and status code."},
  // images
  {"cutover_image_cache_hits_total", metric_type::counter, "Jobs answered from the image result cache."},
  {"cutover_images_swept_total", metric_type::counter,
   "Image files deleted after images.retention with no job referring to them since."},
};

} // namespace

void declare_engine_metrics(metrics_registry& m, const std::vector<std::string>& providers) {
  for (const auto& f : families)
    m.declare(f.name, f.type, f.help, f.scale);
  for (const auto& p : providers) {
    m.get_gauge(metric::breaker_state, {{"provider", p}});
    m.get_counter(metric::breaker_trips, {{"provider", p}});
    m.get_gauge(metric::calls_in_flight, {{"provider", p}});
    m.get_gauge(metric::remote_jobs, {{"provider", p}});
    for (const char* w : {"concurrency", "hour", "day"}) {
      m.get_gauge(metric::limit_used, {{"provider", p}, {"window", w}});
      m.get_gauge(metric::limit_max, {{"provider", p}, {"window", w}});
    }
    for (const char* s : {metric::stage_admission, metric::stage_window, metric::stage_waiting})
      m.get_gauge(metric::queue_depth, {{"provider", p}, {"stage", s}});
  }
  for (auto s : {rollout_phase_state::running, rollout_phase_state::holding, rollout_phase_state::rolling_back,
                 rollout_phase_state::rolled_back, rollout_phase_state::completed})
    m.get_gauge(metric::rollout_state, {{"state", std::string{to_string(s)}}});
  for (std::size_t a = 0; a < decision_action_count; ++a)
    m.get_counter(metric::rollout_decisions, {{"action", std::string{to_string(static_cast<decision_action>(a))}}});
  for (auto s : {job_status::succeeded, job_status::failed, job_status::dead_lettered, job_status::cancelled})
    m.get_counter(metric::jobs_finished, {{"status", std::string{to_string(s)}}});
  m.get_gauge(metric::rollout_drill_active, {});
  m.get_gauge(metric::fallback_ratio, {});
  m.get_counter(metric::image_cache_hits, {});
  m.get_counter(metric::images_swept, {});
  m.get_gauge(metric::store_failing, {});
  m.get_gauge(metric::store_last_commit, {});
}

void declare_fallbacks(metrics_registry& m, const config& cfg) {
  const admit_verdict refusals[] = {admit_verdict::over_provider_budget, admit_verdict::over_global_budget};
  auto declare = [&m](const std::string& from, const std::string& to, std::string_view reason) {
    m.get_counter(metric::fallbacks, {{"from", from}, {"to", to}, {"reason", std::string{reason}}});
  };
  for (const auto& p : cfg.providers) {
    const auto chain = provider_chain(cfg, p.name);
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
      for (auto e = static_cast<int>(error_class::none) + 1; e <= static_cast<int>(error_class::unknown); ++e)
        if (takes_fallback(cfg, chain[i], static_cast<error_class>(e)))
          declare(chain[i], chain[i + 1], to_string(static_cast<error_class>(e)));
      for (auto r : refusals)
        declare(chain[i], chain[i + 1], to_string(r));
    }
    for (auto r : refusals)
      declare(chain.back(), "none", to_string(r));
  }
}

} // namespace cutover::core
