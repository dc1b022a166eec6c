#pragma once
/// The rollout controller: the one owner of the rollout's phase. On every tick (actor clock) it evaluates the
/// rollback triggers against the live baseline in every state, and, when running, the gates of the current
/// phase; it promotes 0 -> 10 -> 50 -> 100 only when every gate passes, holds on insufficient data or a failing
/// gate, and rolls back (at once, or step by step) when a trigger fires. After a rollback it never re-advances by
/// itself: an operator resumes. Every decision that changes or holds state is written with its figures; its state
/// survives restarts, and so do its figures: at start it rebuilds the phase's figures (and the rolling window) from
/// the attempts on disk. It tells the router the live view (percent, rolled back) the moment it changes.
/// A thin shell: the rules live in core::rollout_machine; this actor feeds it figures, ticks it on the actor
/// clock, answers operators, and publishes what it decides (router, gauges, store).

#include "actors/clock.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "messages/rollout.hpp"
#include "messages/routing.hpp"
#include "messages/audit_store.hpp"
#include "messages/jobs_store.hpp"

namespace caf { class actor_system; }

namespace cutover::actors {

namespace defaults {
/// Finished attempts read per store request while the figures are rebuilt at start.
constexpr std::size_t restore_page = 5000;
} // namespace defaults

/// `store`: its state, decisions, ratings and trips; `jobs`: the finished attempts and jobs it rebuilds figures from.
msg::rollout_actor spawn_rollout_controller(caf::actor_system& sys, core::config_ptr cfg, msg::audit_store store,
                                            msg::job_reads jobs, msg::router_actor router, clock_anchor clock,
                                            core::metrics_ptr metrics = nullptr);

} // namespace cutover::actors
