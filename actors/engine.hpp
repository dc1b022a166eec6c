#pragma once
/// Wiring of the actor tree, in one function shared by `serve`, the tests and (later) `simulate`; they differ only
/// in the adapters they pass (clock anchor, job store, provider ports) and the scheduler of the actor system.

#include "actors/clock.hpp"
#include "actors/provider_supervisor.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/notice.hpp"
#include "core/ports.hpp"
#include "messages/budget.hpp"
#include "messages/intake.hpp"
#include "messages/notify.hpp"
#include "messages/provider.hpp"
#include "messages/rollout.hpp"
#include "messages/routing.hpp"
#include "messages/store.hpp"

#include <functional>
#include <map>
#include <memory>

namespace caf { class actor_system; }

namespace cutover::actors {

using port_factory = std::function<std::shared_ptr<core::provider_port>(const core::provider_config&)>;

struct engine_options {
  bool detached_store = false; ///< serve: the store gets its own thread; tests keep it on the test scheduler
  supervisor_limits restarts;
  core::metrics_ptr metrics; ///< null: the engine makes its own (see engine::metrics)
  /// serve: the HTTP edge of webhook deliveries; with it a notifier delivers the outbox. Null (simulate, most
  /// tests): nobody is notified.
  std::shared_ptr<core::webhook_port> webhooks;
  /// How often the store writes its probe row (readiness); 0: never.
  core::duration store_probe_every{0};
  /// serve: the image store (files) that workers write results into and the store's sweep deletes from. Null
  /// (simulate, most tests): results keep the providers' own values and no image file is written.
  std::shared_ptr<core::image_port> images{};
  /// serve: resolves the host names of jobs' webhook_url at submission (a name that leads inside is refused).
  /// Null: names are checked only at delivery, by the webhook port.
  std::shared_ptr<core::name_resolver> resolver{};
};

/// What a drain did: providers whose calls outlasted the timeout, batches left for the next start.
struct drain_report {
  std::size_t providers_timed_out = 0;
  std::size_t batches_held = 0;
  bool flushed = false; ///< the outcomes of the finished calls are on disk
};

struct engine {
  msg::store_actor store;
  msg::router_actor router;
  msg::ledger_actor ledger;
  msg::rollout_actor rollout;
  msg::intake_actor intake;
  std::map<std::string, msg::provider_actor> providers;
  std::vector<msg::batcher_actor> batchers;
  msg::notifier_actor notifier; ///< null without engine_options::webhooks
  core::metrics_ptr metrics;

  /// Stops every actor of the tree (the store last, after what was sent to it).
  void stop();
  /// At shutdown, before stop(): no provider starts a new call, the calls on the wire end (each provider gets at
  /// most `timeout`, all at once), and their outcomes reach the disk. Jobs still in batch windows or polled
  /// remotely stay as they are on disk and resume at the next start. Blocks the caller (serve's main thread).
  drain_report drain(caf::actor_system& sys, core::duration timeout);
  /// Hands a new validated snapshot to every actor (each swaps it at one message boundary). The providers must be
  /// the same as in the running snapshot: see reload_blockers.
  void reload(core::config_ptr cfg);
};

/// Why `next` cannot replace `running` without a restart (providers added, removed, or pointed elsewhere);
/// empty when it can.
std::vector<std::string> reload_blockers(const core::config& running, const core::config& next);

/// Spawns and wires the tree. Unfinished jobs in the store are resumed once the router is wired.
engine start_engine(caf::actor_system& sys, core::config_ptr cfg, std::shared_ptr<core::store_db> db,
                    const port_factory& ports, clock_anchor clock, engine_options opts = {});

} // namespace cutover::actors
