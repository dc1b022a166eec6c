#pragma once
/// JSON rendering of what the API answers: jobs, errors, acceptances. Written by hand so money is printed exactly
/// from micro-dollars and large answers are built in one buffer.

#include "core/job.hpp"
#include "core/ports.hpp"
#include "messages/budget.hpp"
#include "messages/rollout.hpp"

#include "core/json_text.hpp"

#include <string>
#include <string_view>

namespace cutover::http {

struct image_access;
using core::append_json_string; ///< appends `s` as a JSON string literal (quotes included)

/// `{"error":{"code":..,"message":..,"field":..}}`; `field` omitted when empty.
std::string error_json(std::string_view code, std::string_view message, std::string_view field = {});

/// Appends an image as `{"url": ...}` when the provider gave a URL (Replicate files, OpenAI urls), else as
/// `{"b64_json": ...}`.
void append_image_json(std::string& out, const std::string& image);

/// `{"id":"j1","status":"accepted"}`
std::string accepted_json(core::job_id id, core::job_status status);

/// The contract's job shape.
/// `images` null: a result's values as stored; else its stored images as signed URLs, or with `b64` as base64.
std::string job_json(const core::job_record& job, const image_access* images = nullptr, bool b64 = false);

/// GET /v1/rollout: `{name, enabled, percent, phase, state, since, config_hash}` and what an operator sees now:
/// `phases:[{percent, min_duration_s, min_samples}]`, `actions:{hold|resume|promote|rollback: {allowed, refusal?}}`,
/// `step_down_to:[percent]`, `gates:[...]` (the current phase's, judged now, as in a decision's evaluations),
/// `triggers:[...]` (as the last tick judged them, at `triggers_at`), `cohorts:{candidate, baseline}` (since the
/// phase began: samples, failure_rate, p95_s, user_wait_p50_s, user_wait_p95_s, cost_per_image_usd, quality_mean,
/// breaker_trips, ...).
std::string rollout_json(const msg::rollout_view_reply& r);

/// GET /v1/rollout/decisions: `{"decisions":[{id, at, phase, percent, state, config_hash, action, reason,
/// evaluations:[{kind, name, verdict, window_s, samples, observed, baseline, threshold, reason}]}]}`.
/// A live rollback drill's record: `{"drill":{result, started_at, finished_at, routed_to_baseline_ms,
/// at_candidate_when_routed, candidate_drained_ms, left_at_candidate, max_wait_ms, before, after}, "rollout": view}`;
/// a timing not measured is null.
std::string drill_json(const msg::drill_reply& r);
std::string decisions_json(const std::vector<core::decision_record>& decisions);

/// GET /v1/budget: `{"day", "rows":[{day, provider ("all" = global), limit_usd, stop_line_usd, consumed_usd,
/// reserved_usd, requests}]}`.
std::string budget_json(const msg::budget_report& report);

/// GET /v1/stats/daily: `{"days":[{day, provider, requests, succeeded, failed, fell_back, avg_latency_ms,
/// p95_latency_ms, cost_usd}]}`.
std::string daily_stats_json(const std::vector<core::budget_store::daily_stat>& stats);

} // namespace cutover::http
