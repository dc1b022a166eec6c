#pragma once
/// A provider worker: makes the calls of its provider's batches through a provider_port, polls async remote jobs
/// on the poll schedule (actor clock only), and reports each item's outcome to its supervisor. A remote id is on
/// disk before the first poll, so a restarted engine polls the same remote job instead of paying for another.

#include "actors/clock.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/ports.hpp"
#include "messages/provider.hpp"
#include "messages/rollout.hpp"
#include "messages/store.hpp"

#include <memory>

namespace caf { class actor_system; }

namespace cutover::actors {

struct worker_env {
  core::provider_config provider;
  std::shared_ptr<core::provider_port> port;
  msg::store_actor store;
  clock_anchor clock;
  core::metrics_ptr metrics; ///< null: a private registry
  core::duration day_starts{0}; ///< the budget day, for the provider's daily limit
  msg::trip_sink trips;         ///< told when the breaker opens (the rollout's breaker_trips gate); may be null
};

/// `env` with its provider's settings from `cfg` (same port: API, key, URL); null when `cfg` lacks the provider.
std::shared_ptr<const worker_env> reconfigured(const worker_env& env, const core::config& cfg);

msg::provider_worker_actor spawn_worker(caf::actor_system& sys, msg::provider_actor parent,
                                        std::shared_ptr<const worker_env> env);

} // namespace cutover::actors
