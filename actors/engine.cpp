#include "actors/engine.hpp"

#include "actors/batcher.hpp"
#include "actors/intake.hpp"
#include "actors/ledger_actor.hpp"
#include "actors/router.hpp"
#include "actors/store_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

namespace cutover::actors {

engine start_engine(caf::actor_system& sys, core::config_ptr cfg, std::shared_ptr<core::job_store> db,
                    const port_factory& ports, clock_anchor clock, engine_options opts) {
  engine e;
  e.metrics = opts.metrics ? opts.metrics : std::make_shared<core::metrics_registry>();
  e.store = spawn_store(sys, std::move(db),
                        store_options{opts.detached_store, clock, cfg->dead_letter.retention, std::chrono::hours(1),
                                      e.metrics});
  e.ledger = spawn_ledger(sys, cfg, e.store, clock, e.metrics);
  e.router = spawn_router(sys, cfg, e.store, e.ledger, clock, e.metrics);
  msg::router_wiring wiring;
  for (const auto& p : cfg->providers) {
    auto env = std::make_shared<worker_env>(worker_env{p, ports(p), e.store, clock, e.metrics, cfg->budget.day_starts});
    auto face = spawn_provider(sys, env, e.router, opts.restarts);
    e.providers[p.name] = face;
    wiring.providers[p.name] = face;
    auto& per_tier = wiring.batchers[p.name];
    for (int t = 0; t < core::tier_count; ++t) {
      auto b = spawn_batcher(sys, static_cast<core::tier>(t), cfg->tiers[static_cast<std::size_t>(t)].batch, face);
      per_tier.push_back(b);
      e.batchers.push_back(b);
    }
  }
  e.intake = spawn_intake(sys, e.store, e.router, clock, e.metrics, cfg->server.user_rate);
  wiring.finals = e.intake;
  caf::anon_send(e.router, std::move(wiring));
  return e;
}

void engine::stop() {
  caf::anon_send_exit(intake, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
  for (auto& b : batchers)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  for (auto& [name, p] : providers)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
}

} // namespace cutover::actors
