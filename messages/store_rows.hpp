#pragma once
/// What the store's role protocols share: the answer to a write, and the inspect() overloads of the core rows they
/// carry (so the messages can later cross process boundaries).

#include "core/job.hpp"
#include "core/store_ports.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>

namespace cutover::msg {

/// Answer to a write: it is on disk.
struct stored { std::size_t rows = 0; };
template <class I> auto inspect(I& f, stored& x) { return f(caf::meta::type_name("stored"), x.rows); }

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
  return f(x.id, x.at, x.phase, x.percent, x.state, x.config_hash, x.action, x.reason, x.items, x.repeat);
}
template <class I> auto inspect(I& f, budget_store::open_attempt& x) { return f(x.key, x.provider, x.tier_, x.n); }
template <class I> auto inspect(I& f, budget_store::budget_snapshot& x) { return f(x.today, x.open); }
template <class I> auto inspect(I& f, job_store::job_query& x) {
  return f(x.tenant, x.user_id, x.by_status, x.status, x.since, x.before, x.limit);
}
template <class I> auto inspect(I& f, job_store::erase_result& x) { return f(x.erased, x.open, x.images); }
template <class I> auto inspect(I& f, job_store::cache_query& x) { return f(x.id, x.tenant, x.prompt, x.tier_, x.n); }
template <class I> auto inspect(I& f, job_store::cache_answer& x) { return f(x.from, x.images); }
template <class I> auto inspect(I& f, job_store::attempt_cursor& x) { return f(x.finished_at, x.job, x.no); }
template <class I> auto inspect(I& f, job_store::finished_attempt& x) {
  return f(x.key, x.provider, x.tier_, x.started_at, x.error, x.cost, x.images, x.quality, x.job_created_at,
           x.route_provider);
}
template <class I> auto inspect(I& f, audit_store::feedback_row& x) { return f(x.job, x.provider, x.quality, x.at); }
template <class I> auto inspect(I& f, audit_store::trip_row& x) { return f(x.provider, x.at); }
template <class I> auto inspect(I& f, budget_store::daily_stat& x) {
  return f(x.day, x.provider, x.requests, x.succeeded, x.failed, x.fell_back, x.avg_latency, x.p95_latency, x.cost);
}
} // namespace cutover::core
