#pragma once
/// The router: the one owner of "where does this job go". Routes new jobs (kill switch > rollback > endpoint
/// override > segment override > sticky bucket), walks the fallback chain after a failed attempt, ends jobs in
/// their final state, and on wiring resumes every unfinished job from the store. Every step is recorded as a
/// job event; waiters hear of a final state only after it is on disk. Outcomes are idempotent by (job, attempt).

#include "actors/clock.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/routing.hpp"
#include "messages/budget.hpp"
#include "messages/routing.hpp"
#include "messages/audit_store.hpp"
#include "messages/jobs_store.hpp"

namespace caf { class actor_system; }

namespace cutover::actors {

/// `store`: the jobs it routes; `rollout`: the rollout's stored state, read once at start.
msg::router_actor spawn_router(caf::actor_system& sys, core::config_ptr cfg, msg::jobs_store store,
                               msg::rollout_reads rollout, msg::ledger_actor ledger, clock_anchor clock, core::metrics_ptr metrics = nullptr);

} // namespace cutover::actors
