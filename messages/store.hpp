#pragma once
/// The store's protocol: the single owner of the SQLite file. Writes are grouped: every write that arrives while
/// a commit is pending joins the next transaction, and each is answered only after its commit.

#include "core/job.hpp"
#include "core/ports.hpp"
#include "messages/config.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

struct insert_job { core::job_record job; };
struct record_events { std::vector<core::job_event> events; };
/// The same, without an answer (progress whose loss in a crash costs nothing: the next step rewrites it).
struct note_events { std::vector<core::job_event> events; };
/// Answer to a write: it is on disk.
struct stored { std::size_t rows = 0; };
struct get_job { core::job_id id; };
struct job_lookup {
  bool found = false;
  core::job_record job;
};
struct load_open_jobs {};
struct open_jobs { std::vector<core::job_record> jobs; };
/// What intake needs at start: the next job id and the recent idempotency keys.
struct load_boot { core::instant keys_since; };
struct boot_state {
  std::uint64_t max_job_id = 0;
  std::vector<core::job_store::key_entry> keys;
};
/// Internal: commit what is buffered.
struct store_flush {};
/// Dead-lettered jobs, newest first.
struct list_dead_letters { std::size_t limit = 100; };
struct job_list { std::vector<core::job_record> jobs; };
/// Internal: time to delete dead letters older than the retention.
struct sweep_due {};
/// The ledger's changed day rows: written in the next commit (no answer).
struct note_budget { std::vector<core::day_row> rows; };
/// The rollout's new state and decision rows: written in the next commit, answered once on disk.
struct record_rollout {
  std::vector<core::rollout_status> status; ///< empty: unchanged
  std::vector<core::decision_record> decisions;
};
struct load_rollout {};
struct rollout_loaded {
  bool found = false;
  core::rollout_status status;
};
struct load_decisions {
  core::instant since{};
  std::int64_t before_id = 0;
  std::size_t limit = 50;
};
struct decision_list { std::vector<core::decision_record> decisions; };
/// What the ledger restores from at start (see core::job_store::budget_state).
struct load_budget {
  core::instant day_start{};
  std::string day;
};
struct budget_state { core::job_store::budget_snapshot snapshot; };
/// Persisted day rows since a day ("YYYY-MM-DD").
struct load_budget_days { std::string since_day; };
struct budget_days { std::vector<core::day_row> rows; };
/// Per day and provider figures since an instant.
struct load_daily_stats {
  core::instant since{};
  core::duration day_starts{0};
};
struct daily_stats { std::vector<core::job_store::daily_stat> stats; };
/// Attempts finished after a cursor and before `until`, oldest first, a page of at most `limit` (the rollout
/// controller rebuilds its figures from them at start).
struct load_finished_attempts {
  core::job_store::attempt_cursor after;
  core::instant until{};
  std::size_t limit = 0;
};
struct finished_attempts { std::vector<core::job_store::finished_attempt> attempts; };
struct load_call_starts {
  std::string provider;
  core::instant since{};
};
struct call_starts { std::vector<core::instant> starts; };
struct record_feedback { core::job_store::feedback_row row; };
struct load_feedback { core::instant since{}; };
struct feedback_list { std::vector<core::job_store::feedback_row> rows; };
struct record_trip { core::job_store::trip_row row; };
struct load_trips { core::instant since{}; };
struct trip_list { std::vector<core::job_store::trip_row> rows; };

template <class I> auto inspect(I& f, insert_job& x) { return f(caf::meta::type_name("insert_job"), x.job); }
template <class I> auto inspect(I& f, record_events& x) { return f(caf::meta::type_name("record_events"), x.events); }
template <class I> auto inspect(I& f, note_events& x) { return f(caf::meta::type_name("note_events"), x.events); }
template <class I> auto inspect(I& f, stored& x) { return f(caf::meta::type_name("stored"), x.rows); }
template <class I> auto inspect(I& f, get_job& x) { return f(caf::meta::type_name("get_job"), x.id); }
template <class I> auto inspect(I& f, job_lookup& x) { return f(caf::meta::type_name("job_lookup"), x.found, x.job); }
template <class I> auto inspect(I& f, load_open_jobs&) { return f(caf::meta::type_name("load_open_jobs")); }
template <class I> auto inspect(I& f, open_jobs& x) { return f(caf::meta::type_name("open_jobs"), x.jobs); }
template <class I> auto inspect(I& f, load_boot& x) { return f(caf::meta::type_name("load_boot"), x.keys_since); }
template <class I> auto inspect(I& f, boot_state& x) { return f(caf::meta::type_name("boot_state"), x.max_job_id, x.keys); }
template <class I> auto inspect(I& f, store_flush&) { return f(caf::meta::type_name("store_flush")); }
template <class I> auto inspect(I& f, list_dead_letters& x) {
  return f(caf::meta::type_name("list_dead_letters"), x.limit);
}
template <class I> auto inspect(I& f, job_list& x) { return f(caf::meta::type_name("job_list"), x.jobs); }
template <class I> auto inspect(I& f, sweep_due&) { return f(caf::meta::type_name("sweep_due")); }
template <class I> auto inspect(I& f, note_budget& x) { return f(caf::meta::type_name("note_budget"), x.rows); }
template <class I> auto inspect(I& f, record_rollout& x) {
  return f(caf::meta::type_name("record_rollout"), x.status, x.decisions);
}
template <class I> auto inspect(I& f, load_rollout&) { return f(caf::meta::type_name("load_rollout")); }
template <class I> auto inspect(I& f, rollout_loaded& x) {
  return f(caf::meta::type_name("rollout_loaded"), x.found, x.status);
}
template <class I> auto inspect(I& f, load_decisions& x) {
  return f(caf::meta::type_name("load_decisions"), x.since, x.before_id, x.limit);
}
template <class I> auto inspect(I& f, decision_list& x) { return f(caf::meta::type_name("decision_list"), x.decisions); }
template <class I> auto inspect(I& f, load_budget& x) {
  return f(caf::meta::type_name("load_budget"), x.day_start, x.day);
}
template <class I> auto inspect(I& f, budget_state& x) { return f(caf::meta::type_name("budget_state"), x.snapshot); }
template <class I> auto inspect(I& f, load_budget_days& x) {
  return f(caf::meta::type_name("load_budget_days"), x.since_day);
}
template <class I> auto inspect(I& f, budget_days& x) { return f(caf::meta::type_name("budget_days"), x.rows); }
template <class I> auto inspect(I& f, load_daily_stats& x) {
  return f(caf::meta::type_name("load_daily_stats"), x.since, x.day_starts);
}
template <class I> auto inspect(I& f, daily_stats& x) { return f(caf::meta::type_name("daily_stats"), x.stats); }
template <class I> auto inspect(I& f, load_finished_attempts& x) {
  return f(caf::meta::type_name("load_finished_attempts"), x.after, x.until, x.limit);
}
template <class I> auto inspect(I& f, load_call_starts& x) {
  return f(caf::meta::type_name("load_call_starts"), x.provider, x.since);
}
template <class I> auto inspect(I& f, record_feedback& x) { return f(caf::meta::type_name("record_feedback"), x.row); }
template <class I> auto inspect(I& f, load_feedback& x) { return f(caf::meta::type_name("load_feedback"), x.since); }
template <class I> auto inspect(I& f, feedback_list& x) { return f(caf::meta::type_name("feedback_list"), x.rows); }
template <class I> auto inspect(I& f, record_trip& x) { return f(caf::meta::type_name("record_trip"), x.row); }
template <class I> auto inspect(I& f, load_trips& x) { return f(caf::meta::type_name("load_trips"), x.since); }
template <class I> auto inspect(I& f, trip_list& x) { return f(caf::meta::type_name("trip_list"), x.rows); }
template <class I> auto inspect(I& f, call_starts& x) { return f(caf::meta::type_name("call_starts"), x.starts); }
template <class I> auto inspect(I& f, finished_attempts& x) {
  return f(caf::meta::type_name("finished_attempts"), x.attempts);
}

using store_actor = caf::typed_actor<
  caf::replies_to<insert_job>::with<stored>,
  caf::replies_to<record_events>::with<stored>,
  caf::reacts_to<note_events>,
  caf::replies_to<get_job>::with<job_lookup>,
  caf::replies_to<load_open_jobs>::with<open_jobs>,
  caf::replies_to<load_boot>::with<boot_state>,
  caf::replies_to<list_dead_letters>::with<job_list>,
  caf::replies_to<load_budget>::with<budget_state>,
  caf::replies_to<load_budget_days>::with<budget_days>,
  caf::replies_to<load_daily_stats>::with<daily_stats>,
  caf::replies_to<load_finished_attempts>::with<finished_attempts>,
  caf::replies_to<load_call_starts>::with<call_starts>,
  caf::replies_to<record_feedback>::with<stored>,
  caf::replies_to<load_feedback>::with<feedback_list>,
  caf::replies_to<record_trip>::with<stored>,
  caf::replies_to<load_trips>::with<trip_list>,
  caf::reacts_to<note_budget>,
  caf::replies_to<record_rollout>::with<stored>,
  caf::replies_to<load_rollout>::with<rollout_loaded>,
  caf::replies_to<load_decisions>::with<decision_list>,
  caf::reacts_to<store_flush>,
  caf::reacts_to<sweep_due>,
  caf::reacts_to<config_snapshot>>;

} // namespace cutover::msg

namespace cutover::core {
template <class I> auto inspect(I& f, job_store::key_entry& x) { return f(x.key, x.body_hash, x.id); }
template <class I> auto inspect(I& f, reservation_key& x) { return f(x.job, x.attempt); }
/// `limit` is optional; CAF 0.17 inspects no std::optional, so it travels as a flag and a value.
template <class I> auto inspect(I& f, day_row& x) {
  bool has_limit = x.limit.has_value();
  micros limit = x.limit.value_or(0);
  return f(x.day, x.provider, has_limit, limit, x.consumed, x.reserved, x.requests,
           caf::meta::load_callback([&]() -> caf::error {
             x.limit = has_limit ? std::optional<micros>{limit} : std::nullopt;
             return caf::none;
           }));
}
template <class I> auto inspect(I& f, rollout_status& x) {
  return f(x.phase, x.percent, x.state, x.since, x.next_step, x.config_hash);
}
template <class I> auto inspect(I& f, decision_item& x) {
  return f(x.kind, x.name, x.verdict, x.window, x.samples, x.observed, x.baseline, x.threshold, x.reason);
}
template <class I> auto inspect(I& f, decision_record& x) {
  return f(x.id, x.at, x.phase, x.percent, x.state, x.config_hash, x.action, x.reason, x.items);
}
template <class I> auto inspect(I& f, job_store::open_attempt& x) { return f(x.key, x.provider, x.tier_, x.n); }
template <class I> auto inspect(I& f, job_store::budget_snapshot& x) { return f(x.today, x.open); }
template <class I> auto inspect(I& f, job_store::attempt_cursor& x) { return f(x.finished_at, x.job, x.no); }
template <class I> auto inspect(I& f, job_store::finished_attempt& x) {
  return f(x.key, x.provider, x.tier_, x.started_at, x.error, x.cost, x.images, x.quality);
}
template <class I> auto inspect(I& f, job_store::feedback_row& x) { return f(x.job, x.provider, x.quality, x.at); }
template <class I> auto inspect(I& f, job_store::trip_row& x) { return f(x.provider, x.at); }
template <class I> auto inspect(I& f, job_store::daily_stat& x) {
  return f(x.day, x.provider, x.requests, x.succeeded, x.failed, x.fell_back, x.avg_latency, x.p95_latency, x.cost);
}
} // namespace cutover::core
