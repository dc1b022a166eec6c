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
#include "messages/store.hpp"

namespace caf { class actor_system; }

namespace cutover::actors {

msg::router_actor spawn_router(caf::actor_system& sys, core::config_ptr cfg, msg::store_actor store,
                               msg::ledger_actor ledger, clock_anchor clock, core::metrics_ptr metrics = nullptr);

} // namespace cutover::actors
