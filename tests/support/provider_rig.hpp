#pragma once
/// A provider (supervisor and worker) on the virtual clock with a real SQLite store, talking to a port whose
/// answers the test holds and gives when it chooses, so late answers arrive exactly where a scenario needs them.

#include "actors/provider_supervisor.hpp"
#include "actors/store_actor.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "tests/support/virtual_time.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <catch2/catch.hpp>

#include <deque>
#include <functional>

namespace cutover::testing {

using namespace std::chrono_literals;


/// Submits answer from `scripted` at once while it lasts, else wait until the test answers them (`held`).
/// Polls always answer at once: pending (with `not_started` as the provider's word on the remote job).
struct held_port : core::provider_port {
  bool async = false;
  bool not_started = false;
  int submits = 0;
  std::deque<core::provider_reply> scripted;
  struct held_call {
    std::vector<core::work_item> items;
    callback done;
  };
  std::vector<held_call> held;
  int polls = 0;

  bool takes_batches() const override { return async; }
  void submit(const std::vector<core::work_item>& items, core::instant, callback done) override {
    ++submits;
    if (scripted.empty()) {
      held.push_back({items, std::move(done)});
      return;
    }
    auto r = scripted.front();
    scripted.pop_front();
    done(std::move(r));
  }
  void poll(const std::string&, const std::vector<core::work_item>&, core::instant, callback done) override {
    ++polls;
    core::provider_reply r;
    r.k = core::provider_reply::kind::pending;
    r.not_started = not_started;
    done(std::move(r));
  }
  void cancel(const std::string&, core::instant, callback done) override { done(core::provider_reply{}); }
};

inline core::provider_reply failure(core::error_class e) {
  core::provider_reply r;
  r.error = e;
  r.message = "scripted failure";
  return r;
}

inline core::provider_reply accepted(const std::string& remote_id) {
  core::provider_reply r;
  r.k = core::provider_reply::kind::accepted;
  r.remote_id = remote_id;
  return r;
}

inline core::provider_reply images_for(const std::vector<core::work_item>& items) {
  core::provider_reply r;
  for (const auto& i : items)
    r.items.push_back({i.id, core::error_class::none, "", {"iVBORw0KGgo="}, 0.9});
  return r;
}

/// `tweak` adjusts the provider's configuration (sync or async, one call per attempt, the given breaker) first.
struct provider_rig {
  virtual_time vt;
  temp_dir dir;
  std::shared_ptr<held_port> port = std::make_shared<held_port>();
  std::shared_ptr<std::vector<core::item_outcome>> outcomes = std::make_shared<std::vector<core::item_outcome>>();
  core::metrics_ptr metrics = std::make_shared<core::metrics_registry>();
  msg::store_actor store;
  actors::outcome_sink sink;
  msg::provider_actor provider;
  std::uint64_t next_job = 1;
  core::provider_config cfg; ///< the provider's configuration at start

  provider_rig(bool async, core::breaker_config breaker,
               const std::function<void(core::provider_config&)>& tweak = {}) {
    port->async = async;
    store = actors::spawn_store(*vt.sys, store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal),
                                actors::store_options{false, vt.anchor(), core::defaults::dead_letter_retention,
                                                      std::chrono::hours(1), nullptr, core::commit_retry_limits{}, {}});
    auto seen = outcomes;
    sink = vt.sys->spawn([seen](actors::outcome_sink::pointer) -> actors::outcome_sink::behavior_type {
      return {[seen](msg::outcomes& m) {
        for (auto& o : m.items)
          seen->push_back(o);
      }};
    });
    cfg.name = "gemini";
    cfg.cost_per_image = {30'000, 60'000, 90'000};
    cfg.mode = async ? core::provider_mode::async : core::provider_mode::sync;
    cfg.polling = {core::default_poll_schedule(), 30min};
    cfg.retry.max_attempts = 1;
    cfg.breaker = breaker;
    if (tweak)
      tweak(cfg);
    auto env = std::make_shared<actors::worker_env>(
      actors::worker_env{cfg, port, store, vt.anchor(), metrics, {}, msg::trip_sink{}, msg::admissibility_reports{}});
    provider = actors::spawn_provider(*vt.sys, env, sink);
    vt.run();
  }
  ~provider_rig() {
    caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    vt.run();
  }

  /// `unit_price` >= 0: the price fixed at admission (as the router sets it).
  void submit_batch(int items, int n = 1, core::micros unit_price = -1) {
    msg::provider_batch b;
    for (int i = 0; i < items; ++i)
      b.items.push_back(core::work_item{core::job_id{next_job++}, 1, core::tier::sd, n, "a kite", "u", unit_price});
    caf::anon_send(provider, std::move(b));
    vt.run();
  }
  /// Gives held call `i` its answer (from the test's thread, as an HTTP client's would come).
  void answer(std::size_t i, core::provider_reply r) {
    REQUIRE(i < port->held.size());
    port->held[i].done(std::move(r));
    vt.run();
  }
  /// A reload: the provider gets `next` (its new configuration) in a config snapshot.
  void reload(const core::provider_config& next) {
    auto snapshot = std::make_shared<core::config>();
    snapshot->providers.push_back(next);
    caf::anon_send(provider, msg::config_snapshot{snapshot});
    vt.run();
  }
  std::int64_t gauge() { return metrics->get_gauge("cutover_breaker_state", {{"provider", "gemini"}}, "").value(); }
};

} // namespace cutover::testing
