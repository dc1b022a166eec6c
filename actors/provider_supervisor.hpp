#pragma once
/// The face of one provider: assigns batch ids, hands batches to a monitored worker and remembers every item until
/// its outcome arrives. When the worker crashes (an exception in a handler) it spawns a fresh one and re-sends the
/// unfinished items — as a poll of the stored remote job where one exists — so no work is lost or paid twice.
/// Outcomes pass downstream exactly once. Past the restart intensity it quits with the worker's reason (escalates).

#include "actors/provider_worker.hpp"
#include "core/restart_intensity.hpp"
#include "messages/provider.hpp"

namespace caf { class actor_system; }

namespace cutover::actors {

/// Where a supervisor sends outcomes (the router, or a test's sink).
using outcome_sink = caf::typed_actor<caf::reacts_to<msg::outcomes>>;

struct supervisor_limits {
  int max_restarts = core::defaults::max_restarts;
  core::duration window = core::defaults::restart_window;
};

msg::provider_actor spawn_provider(caf::actor_system& sys, std::shared_ptr<const worker_env> env,
                                   outcome_sink downstream, supervisor_limits limits = {});

} // namespace cutover::actors
