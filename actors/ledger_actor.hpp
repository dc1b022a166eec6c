#pragma once
/// The ledger actor: the one owner of budgets (core::ledger). Admits items against the daily limits (reserving
/// their estimated cost), settles or releases reservations, rolls the day over on the actor clock, and sends every
/// changed day row to the store. At start it rebuilds from the store: the day's spend from the attempts table and a
/// reservation for every attempt still running, so a restart neither forgets spend nor counts it twice.
/// It also owns the admissibility view (core::admissibility): its own budget blocks and those the providers report
/// (limits, breakers), pushed to every watcher at each change and answered to readiness.

#include "actors/clock.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "messages/budget.hpp"
#include "messages/budget_store.hpp"

namespace caf { class actor_system; }

namespace cutover::actors {

msg::ledger_actor spawn_ledger(caf::actor_system& sys, core::config_ptr cfg, msg::budget_store store,
                               clock_anchor clock, core::metrics_ptr metrics = nullptr);

} // namespace cutover::actors
