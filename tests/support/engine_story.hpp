#pragma once
/// The whole engine tree on CAF's deterministic scheduler, on a real SQLite file, with the ports a story chooses:
/// start (and restart on the same file), submit jobs, act as an operator, read back what is on disk.

#include "actors/engine.hpp"
#include "adapters/config/loader.hpp"
#include "adapters/providers/simulated.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "core/ledger.hpp"
#include "virtual_time.hpp"

#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cutover::testing {

/// A config from YAML text; a config error fails the test.
inline core::config_ptr parse_config(const std::string& text, const std::string& name = "story.yaml") {
  auto loaded = config_adapter::load_config_text(text, name);
  for (const auto& e : loaded.errors)
    FAIL(config_adapter::to_string(e));
  return loaded.config;
}

using port_factory = std::function<std::shared_ptr<core::provider_port>(const core::provider_config&)>;

struct story_options {
  core::duration starts_at; ///< virtual time since the epoch at which this engine starts (a later process)
  bool settle;              ///< let the start (and resume) finish first; without it, submissions race the start
  port_factory ports;       ///< empty: every provider is its config's simulated provider
  actors::engine_options engine{}; ///< webhooks, resolver, ...: what a story adds to the tree
  story_options(core::duration starts = core::duration{0}, bool settle_first = true, port_factory p = {})
      : starts_at(starts), settle(settle_first), ports(std::move(p)) {}
};

struct engine_story {

  virtual_time vt;
  core::config_ptr cfg;
  actors::engine engine;
  std::unique_ptr<core::store_db> reader;

  engine_story(temp_dir& dir, const std::string& config_text, story_options o = story_options{}) {
    vt.advance(o.starts_at);
    cfg = parse_config(config_text);
    if (!o.ports)
      o.ports = [](const core::provider_config& p) { return providers::make_simulated_provider(p); };
    engine = actors::start_engine(*vt.sys, cfg,
                                  store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal),
                                  std::move(o.ports), vt.anchor(), o.engine);
    if (o.settle)
      vt.run();
    reader = store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal);
  }
  ~engine_story() {
    engine.stop();
    vt.run();
  }
  engine_story(const engine_story&) = delete;
  engine_story& operator=(const engine_story&) = delete;

  /// Virtual time since the epoch.
  core::duration at() const { return vt.now() - virtual_epoch; }
  void advance_to(core::duration t) { vt.advance(t - at()); }

  /// Submits `count` sd jobs of users `<prefix>-0..`; every one must be accepted.
  std::vector<core::job_id> submit(int count, const std::string& prefix = "user") {
    caf::scoped_actor self{*vt.sys};
    for (int i = 0; i < count; ++i) {
      core::job_spec spec;
      spec.user_id = prefix + "-" + std::to_string(i);
      spec.prompt = "a kite " + std::to_string(i);
      self->send(engine.intake, msg::submit_job{spec, {}, {}});
    }
    vt.run();
    std::vector<core::job_id> ids;
    for (int i = 0; i < count; ++i)
      self->receive([&](const msg::submit_reply& r) {
        REQUIRE(r.error == msg::submit_error::none);
        ids.push_back(r.id);
      });
    return ids;
  }

  msg::replay_reply replay(core::job_id id) {
    caf::scoped_actor self{*vt.sys};
    self->send(engine.intake, msg::replay_dead_letter{id, {}});
    vt.run();
    msg::replay_reply out;
    self->receive([&](const msg::replay_reply& r) { out = r; });
    return out;
  }

  /// An operator action (hold, resume, promote, rollback) that must succeed.
  void operate(const std::string& action) {
    caf::scoped_actor self{*vt.sys};
    self->send(engine.rollout, msg::operator_action{action});
    vt.run();
    self->receive([&](const msg::operator_reply& r) { REQUIRE(r.error == msg::operator_error::none); });
  }

  core::job_record job(core::job_id id) {
    auto j = reader->jobs().find(id);
    REQUIRE(j);
    return *j;
  }
  bool all_final(const std::vector<core::job_id>& ids) {
    for (auto id : ids)
      if (!core::is_final(job(id).status))
        return false;
    return true;
  }
  /// The ledger's persisted row of `provider` for today.
  core::day_row budget_row(const std::string& provider) {
    const auto day = core::budget_day(vt.now(), std::chrono::seconds(0));
    for (const auto& r : reader->budget().budget_days(day))
      if (r.day == day && r.provider == provider)
        return r;
    FAIL("no budget row for " << provider);
    return {};
  }
};

} // namespace cutover::testing
