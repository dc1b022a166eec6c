#include "actors/engine.hpp"

#include "actors/batcher.hpp"
#include "actors/intake.hpp"
#include "actors/ledger_actor.hpp"
#include "actors/notifier.hpp"
#include "actors/rollout_controller.hpp"
#include "actors/router.hpp"
#include "actors/store_actor.hpp"
#include "core/metric_catalog.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

namespace cutover::actors {

engine start_engine(caf::actor_system& sys, core::config_ptr cfg, std::shared_ptr<core::store_db> db,
                    const port_factory& ports, clock_anchor clock, engine_options opts) {
  engine e;
  e.metrics = opts.metrics ? opts.metrics : std::make_shared<core::metrics_registry>();
  {
    std::vector<std::string> names;
    for (const auto& p : cfg->providers)
      names.push_back(p.name);
    core::declare_engine_metrics(*e.metrics, names); // before any owner: an idle engine shows every family
    core::declare_fallbacks(*e.metrics, *cfg);
  }
  e.store = spawn_store(sys, std::move(db),
                        store_options{opts.detached_store, clock, cfg->dead_letter.retention, std::chrono::hours(1),
                                      e.metrics, core::commit_retry_limits{}, cfg->notify,
                                      opts.store_probe_every, opts.images, cfg->images.retention, cfg->jobs.retention});
  if (opts.webhooks) {
    notifier_options n;
    n.clock = clock;
    n.notify = cfg->notify;
    n.metrics = e.metrics;
    e.notifier = spawn_notifier(sys, e.store, opts.webhooks, n);
  }
  e.ledger = spawn_ledger(sys, cfg, e.store, clock, e.metrics);
  e.router = spawn_router(sys, cfg, e.store, e.store, e.ledger, clock, e.metrics);
  e.rollout = spawn_rollout_controller(sys, cfg, e.store, e.store, e.router, clock, e.metrics);
  msg::router_wiring wiring;
  for (const auto& p : cfg->providers) {
    auto env = std::make_shared<worker_env>(
      worker_env{p, ports(p), e.store, clock, e.metrics, cfg->budget.day_starts, e.rollout,
                 caf::actor_cast<msg::admissibility_reports>(e.ledger), opts.images, cfg->images.download_timeout});
    auto face = spawn_provider(sys, env, e.router, opts.restarts);
    e.providers[p.name] = face;
    wiring.providers[p.name] = face;
    auto& per_tier = wiring.batchers[p.name];
    auto& window_depth =
      e.metrics->get_gauge(core::metric::queue_depth, {{"provider", p.name}, {"stage", core::metric::stage_window}});
    for (int t = 0; t < core::tier_count; ++t) {
      auto b = spawn_batcher(sys, static_cast<core::tier>(t), cfg->tiers[static_cast<std::size_t>(t)].batch, face,
                             &window_depth);
      per_tier.push_back(b);
      e.batchers.push_back(b);
    }
  }
  e.intake = spawn_intake(sys, e.store, e.router, clock, e.metrics, cfg->server.user_rate, cfg, opts.resolver);
  // intake refuses a job no provider of its chain can take: it hears every change of the ledger's view
  caf::anon_send(e.ledger, msg::watch_admissibility{caf::actor_cast<msg::admissibility_sink>(e.intake)});
  wiring.finals = e.intake;
  wiring.observer = e.rollout;
  caf::anon_send(e.router, std::move(wiring));
  return e;
}

void engine::reload(core::config_ptr cfg) {
  // Downstream first: an actor's mailbox holds the snapshot before any job that the router routes under it,
  // so a job routed with the new settings is batched, called, charged and settled with them too.
  const msg::config_snapshot snap{std::move(cfg)};
  caf::anon_send(store, snap);
  if (notifier)
    caf::anon_send(notifier, snap);
  for (auto& [name, p] : providers)
    caf::anon_send(p, snap);
  for (auto& b : batchers)
    caf::anon_send(b, snap);
  caf::anon_send(ledger, snap);
  caf::anon_send(router, snap);
  caf::anon_send(intake, snap);
  caf::anon_send(rollout, snap); // last: its decision row names the new hash once the others have it
}

std::vector<std::string> reload_blockers(const core::config& running, const core::config& next) {
  std::vector<std::string> out;
  for (const auto& p : running.providers) {
    const auto* q = next.provider(p.name);
    if (q == nullptr) {
      out.push_back("providers." + p.name + ": removing a provider needs a restart");
      continue;
    }
    if (q->kind != p.kind || q->mode != p.mode || q->base_url != p.base_url || q->api_key_env != p.api_key_env ||
        q->model != p.model || q->timeout != p.timeout)
      out.push_back("providers." + p.name + ": kind, mode, base_url, api_key_env, model and timeout need a restart");
  }
  for (const auto& q : next.providers)
    if (running.provider(q.name) == nullptr)
      out.push_back("providers." + q.name + ": adding a provider needs a restart");
  if (next.cors.allow_origins != running.cors.allow_origins)
    out.push_back("cors.allow_origins: the HTTP listener takes it at start; changing it needs a restart");
  if (next.store.path != running.store.path)
    out.push_back("store.path: moving the store needs a restart");
  if (next.images.dir != running.images.dir || next.images.max_download_bytes != running.images.max_download_bytes)
    out.push_back("images.dir, images.max_download_bytes: the image store is opened at start; changing them needs a "
                  "restart");
  if (next.server.public_url != running.server.public_url || next.images.url_ttl != running.images.url_ttl)
    out.push_back("server.public_url, images.url_ttl: image URLs are signed as set at start; changing them needs a "
                  "restart");
  if (next.server.listen != running.server.listen)
    out.push_back("server.listen: a new address needs a restart");
  if (next.server.tls.cert_file != running.server.tls.cert_file ||
      next.server.tls.key_file != running.server.tls.key_file)
    out.push_back("server.tls: the listener loads its certificate at start; changing it needs a restart");
  return out;
}

drain_report engine::drain(caf::actor_system& sys, core::duration timeout) {
  drain_report report;
  caf::scoped_actor self{sys};
  // every provider asked at once: the timeouts run together
  using handle = decltype(self->request(providers.begin()->second, timeout, msg::drain_calls{}));
  std::vector<handle> waits;
  for (auto& [name, p] : providers)
    waits.push_back(self->request(p, timeout, msg::drain_calls{}));
  for (auto& w : waits)
    w.receive([&](msg::drained& d) { report.batches_held += d.held; },
              [&](caf::error&) { ++report.providers_timed_out; });
  // the outcomes went to the router before each answer; the router's writes go to the store before its answer;
  // an empty write is answered once everything before it is committed
  self->request(router, std::chrono::seconds(10), msg::barrier{})
    .receive([&](msg::stored) {
      self->request(store, std::chrono::seconds(10), msg::record_events{})
        .receive([&](msg::stored) { report.flushed = true; }, [](caf::error&) {});
    }, [](caf::error&) {});
  return report;
}

void engine::stop() {
  caf::anon_send_exit(intake, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(rollout, caf::exit_reason::user_shutdown);
  for (auto& b : batchers)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  for (auto& [name, p] : providers)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  if (notifier)
    caf::anon_send_exit(notifier, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
}

} // namespace cutover::actors
