#pragma once
/// A provider worker: makes the calls of its provider's batches through a provider_port, polls async remote jobs
/// on the poll schedule (actor clock only), and reports each item's outcome to its supervisor. A remote id is on
/// disk before the first poll, so a restarted engine polls the same remote job instead of paying for another.
/// With an image port, a succeeded item's images are on disk before its outcome leaves the worker.

#include "actors/clock.hpp"
#include "core/circuit_breaker.hpp"
#include "core/config.hpp"
#include "core/rate_limits.hpp"
#include "core/metrics.hpp"
#include "core/ports.hpp"
#include "messages/admissibility.hpp"
#include "messages/provider.hpp"
#include "messages/rollout.hpp"
#include "messages/jobs_store.hpp"

#include <memory>

namespace caf { class actor_system; }

namespace cutover::actors {

struct worker_env {
  core::provider_config provider;
  std::shared_ptr<core::provider_port> port;
  msg::jobs_store store;
  clock_anchor clock;
  core::metrics_ptr metrics; ///< null: a private registry
  core::duration day_starts{0}; ///< the budget day, for the provider's daily limit
  msg::trip_sink trips;         ///< told when the breaker opens and when a poll is answered; may be null
  msg::admissibility_reports admissibility; ///< told when the breaker or a limit window blocks or frees; may be null
  /// serve: where succeeded items' images are stored before their outcomes are reported (files, fsynced); null
  /// (simulate, most tests): outcomes carry the provider's own image values.
  std::shared_ptr<core::image_port> images{};
  core::duration images_timeout = core::defaults::images_download_timeout; ///< an item's images, stored
};

/// What a provider has learnt that must outlive a worker: its breaker (a crash must not close an open breaker)
/// and its rate-limit windows (a crash must not grant a new hour of calls). Owned by the supervisor, used only by
/// its one live worker.
struct worker_memory {
  core::circuit_breaker breaker;
  core::provider_limits limits;
  explicit worker_memory(const worker_env& env)
    : breaker(env.provider.breaker), limits(env.provider.name, env.provider.limits, env.day_starts) {}
  /// After a crash: the dead worker's calls will never report.
  void forget_calls_in_flight() {
    breaker.forget_calls_in_flight();
    limits.drop_slots();
  }
};

/// `env` with its provider's settings from `cfg` (same port: API, key, URL); null when `cfg` lacks the provider.
std::shared_ptr<const worker_env> reconfigured(const worker_env& env, const core::config& cfg);

/// `memory`: the supervisor's (kept across restarts); null: the worker makes its own.
msg::provider_worker_actor spawn_worker(caf::actor_system& sys, msg::provider_actor parent,
                                        std::shared_ptr<const worker_env> env,
                                        std::shared_ptr<worker_memory> memory = nullptr);

} // namespace cutover::actors
