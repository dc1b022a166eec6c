// Rollout stories on the deterministic scheduler: the real actor tree (router, ledger, controller, providers,
// store on a real SQLite file) driven through days of virtual time by scripted providers. Each story asserts the
// decisions the controller wrote, and when. Only what needs the tree is here (restarts, routing, the store, the
// controller's messages); the phase logic alone is tested on core::rollout_machine in rollout_machine_test.

#include "actors/engine.hpp"
#include "adapters/config/loader.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "core/bucket.hpp"
#include "support/virtual_time.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <atomic>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// A provider scripted by the story: answers after `latency`, with `error` for the next `errors_left` calls,
/// or never when `silent`.
struct story_port : core::provider_port {
  core::duration latency = 1s;
  core::error_class error = core::error_class::none;
  int errors_left = 0;
  bool silent = false;
  double quality = 0.9;
  int calls = 0;
  bool takes_batches() const override { return false; }
  void submit(const std::vector<core::work_item>& items, core::instant, callback done) override {
    ++calls;
    if (silent)
      return; // never answers
    core::provider_reply r;
    r.delay = latency;
    if (errors_left > 0) {
      --errors_left;
      r.error = error;
      r.message = "scripted";
    } else {
      for (const auto& i : items)
        r.items.push_back({i.id, core::error_class::none, "", {"iVBORw0KGgo="}, quality});
    }
    done(std::move(r));
  }
  void poll(const std::string&, const std::vector<core::work_item>&, core::instant, callback) override {}
  void cancel(const std::string&, core::instant, callback done) override { done(core::provider_reply{}); }
};

std::string config_text(int percent, const std::string& tick, const std::string& extra = "") {
  return R"(providers:
  cand: {kind: simulated, mode: sync, cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}, timeout: 1h,
         retry: {max_attempts: 1}, breaker: {failure_rate: 100%, min_requests: 1000}}
  base: {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}, timeout: 1h,
         retry: {max_attempts: 1}}
tiers:
  sd: {batch: {max_items: 50, max_wait: 1s}}
fallback: {cand: [base]}
rollout:
  name: story
  baseline: base
  candidate: cand
  percent: )" + std::to_string(percent) + R"(
  tick: )" + tick + R"(
  phases:
    - {percent: 10,  min_duration: 3d, min_samples: 500,
       gates: {cost_per_image_max: 0.05, p95_max: 60s, failure_rate_max: 5%, quality_parity_min: 0.9}}
    - {percent: 50,  min_duration: 7d, min_samples: 2000,
       gates: {cost_per_image_max: 0.05, p95_max: 60s, failure_rate_max: 5%, quality_parity_min: 0.9,
               breaker_trips_max: 0}}
    - {percent: 100}
  triggers:
    error_rate:      {above: 50%, for: 5m, min_samples: 20}
    p95_vs_baseline: {factor: 3, for: 10m}
    auth_failures:   {above: 10, for: 5m}
    silence:         {for: 2m}
)" + extra;
}

struct story {
  testing::temp_dir dir;
  testing::virtual_time vt;
  core::config_ptr cfg;
  std::shared_ptr<story_port> cand = std::make_shared<story_port>();
  std::shared_ptr<story_port> base = std::make_shared<story_port>();
  actors::engine engine;
  std::unique_ptr<core::store_db> reader;
  core::instant t0;
  int users = 0;

  explicit story(const std::string& text) {
    base->latency = 1s;
    base->quality = 0.9;
    cand->latency = 2s;
    cand->quality = 0.93;
    start(text);
    reader = store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal);
    t0 = vt.now();
  }
  ~story() { stop(); }

  static core::config_ptr parse(const std::string& text) {
    auto loaded = config_adapter::load_config_text(text, "story.yaml");
    for (const auto& e : loaded.errors)
      FAIL(config_adapter::to_string(e));
    return loaded.config;
  }
  /// Starts the engine tree on the story's SQLite file; `run`: and lets it settle.
  void start(const std::string& text, bool run = true) {
    cfg = parse(text);
    engine = actors::start_engine(
      *vt.sys, cfg, store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal),
      [this](const core::provider_config& p) -> std::shared_ptr<core::provider_port> {
        return p.name == "cand" ? cand : base;
      },
      vt.anchor());
    running = true;
    if (run)
      vt.run();
  }
  void stop() {
    if (!running)
      return;
    engine.stop();
    vt.run();
    running = false;
  }
  /// The whole tree stops and starts again on the same file, at the same virtual instant.
  void restart(const std::string& text) {
    stop();
    start(text);
  }
  void reload(const std::string& text) {
    cfg = parse(text);
    engine.reload(cfg);
    vt.run();
  }
  msg::operator_reply act(const std::string& action) {
    caf::scoped_actor self{*vt.sys};
    self->send(engine.rollout, msg::operator_action{action});
    vt.run();
    msg::operator_reply out;
    self->receive([&](const msg::operator_reply& r) { out = r; });
    return out;
  }
  msg::rollout_view_reply view() {
    caf::scoped_actor self{*vt.sys};
    self->send(engine.rollout, msg::get_rollout{});
    vt.run();
    msg::rollout_view_reply out;
    self->receive([&](const msg::rollout_view_reply& r) { out = r; });
    return out;
  }
  /// One job of `user`, on disk and routed; `settle`: and a minute for it to finish. Its id.
  core::job_id submit(const std::string& user, bool settle = true) {
    caf::scoped_actor self{*vt.sys};
    core::job_spec spec;
    spec.user_id = user;
    spec.prompt = "a kite";
    self->send(engine.intake, msg::submit_job{spec, {}, {}});
    vt.run();
    core::job_id id;
    self->receive([&](const msg::submit_reply& r) {
      CHECK(r.error == msg::submit_error::none);
      id = r.id;
    });
    if (settle)
      vt.advance(1min);
    return id;
  }
  core::job_record job(core::job_id id) {
    auto j = reader->jobs().find(id);
    REQUIRE(j);
    return *j;
  }
  bool running = false;

  /// `jobs` new users' jobs now, then `every` of virtual time; repeated until `total` has passed.
  void traffic(int jobs, core::duration every, core::duration total) {
    for (core::duration t{0}; t < total; t += every) {
      for (int i = 0; i < jobs; ++i) {
        core::job_spec spec;
        spec.user_id = "user-" + std::to_string(users++);
        spec.prompt = "a kite";
        caf::anon_send(engine.intake, msg::submit_job{spec, {}, {}});
      }
      vt.advance(every);
    }
  }

  std::vector<core::decision_record> decisions() {
    auto d = reader->audit().decisions(core::instant{}, 0, 100000);
    std::reverse(d.begin(), d.end()); // oldest first
    return d;
  }
  std::vector<core::decision_record> decisions(const std::string& action) {
    std::vector<core::decision_record> out;
    for (auto& d : decisions())
      if (d.action == action)
        out.push_back(d);
    return out;
  }
  core::rollout_status status() { return *reader->audit().rollout_state(); }
  core::duration since_start(core::instant t) const { return t - t0; }
};

/// A user of the story's rollout group whose sticky bucket is in [from, to].
std::string user_in_buckets(int from, int to) {
  for (int i = 0;; ++i) {
    auto user = "someone-" + std::to_string(i);
    const int b = core::sticky_bucket("story", user);
    if (b >= from && b <= to)
      return user;
  }
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const core::decision_item* item(const core::decision_record& d, const std::string& name) {
  for (const auto& i : d.items)
    if (i.name == name)
      return &i;
  return nullptr;
}

} // namespace

TEST_CASE("a reload that changes the file's percent raises the live percent but never lowers it") {
  story s{config_text(0, "1m")};
  REQUIRE(s.act("promote").error == msg::operator_error::none); // 0 -> 10
  REQUIRE(s.act("promote").error == msg::operator_error::none); // 10 -> 50
  const auto user = user_in_buckets(11, 50);    // on the candidate at 50 %, not at 10 %
  const auto promoted_at = s.view().since;
  s.vt.advance(10min);

  // the file's start moves 0 -> 10 while the live rollout is at 50: nobody leaves the candidate
  s.reload(config_text(10, "1m"));
  auto v = s.view();
  CHECK(v.percent == 50);
  CHECK(v.phase == 1);
  CHECK(v.state == "running");
  CHECK(v.since == promoted_at); // the phase goes on: its figures and time are kept
  auto reloads = s.decisions("reload");
  REQUIRE(reloads.size() == 1);
  INFO(reloads[0].reason);
  CHECK(contains(reloads[0].reason, "rollout.percent 0 -> 10 in the file: the live percent stays 50%"));
  CHECK(reloads[0].percent == 50);
  CHECK(s.status().percent == 50);
  const auto j = s.job(s.submit(user));
  CHECK(j.provider == "cand");
  CHECK(j.route_reason == "bucket " + std::to_string(j.bucket) + " <= 50");

  // a file percent above the live one raises it, and the phase follows
  s.reload(config_text(100, "1m"));
  v = s.view();
  CHECK(v.percent == 100);
  CHECK(v.phase == 2);
  CHECK(v.since == s.vt.now());
  CHECK(contains(s.decisions("reload").back().reason, "the live percent rises 50% -> 100%"));
  s.vt.advance(1min);
  CHECK(s.decisions("complete").size() == 1);
  CHECK(s.view().state == "completed");

  // a completed rollout keeps everyone on the candidate when the file's percent goes down
  s.reload(config_text(10, "1m"));
  v = s.view();
  CHECK(v.percent == 100);
  CHECK(v.state == "completed");
  CHECK(contains(s.decisions("reload").back().reason,
                 "rollout.percent 100 -> 10 in the file: the live percent stays 100%"));
  CHECK(s.job(s.submit(user_in_buckets(51, 100))).provider == "cand");
}

TEST_CASE("a reload does not raise a rolled back rollout: an operator resumes it") {
  story s{config_text(0, "1m")};
  REQUIRE(s.act("rollback").error == msg::operator_error::none);
  s.reload(config_text(50, "1m"));
  auto v = s.view();
  CHECK(v.percent == 0);
  CHECK(v.state == "rolled_back");
  CHECK(contains(s.decisions("reload").back().reason, "not applied while rolled_back"));
  const auto j = s.job(s.submit(user_in_buckets(1, 50)));
  CHECK(j.provider == "base");
  CHECK(j.route_reason == "rolled back -> baseline");
}

TEST_CASE("the rollout's state, percent, phase and since survive a restart of the engine") {
  story s{config_text(0, "1m")};
  s.vt.advance(1min); // promoted to 10 at the first tick
  REQUIRE(s.act("hold").error == msg::operator_error::none);
  const auto before = s.view();
  REQUIRE(before.percent == 10);
  s.vt.advance(1h);
  s.restart(config_text(0, "1m")); // the file still says 0 %
  const auto after = s.view();
  CHECK(after.state == "holding");
  CHECK(after.percent == 10);
  CHECK(after.phase == 0);
  CHECK(after.since == before.since);
  s.vt.advance(10min);
  CHECK(s.view().state == "holding");
  // new jobs route by the restored percent, not the file's
  CHECK(s.job(s.submit(user_in_buckets(1, 10))).provider == "cand");
}

TEST_CASE("a restart in the middle of a phase keeps its figures: promotion comes on time as without the restart") {
  story s{config_text(0, "1m")};
  s.traffic(40, 30min, 2 * 24h); // 2 of the 3 days at 10 %, about 380 candidate samples
  auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 1);
  const auto at_10 = promotes[0].at;
  // a client rates one of the candidate's jobs before the restart
  core::job_id rated{};
  for (const auto& a : s.reader->jobs().finished_attempts({at_10, 0, 0}, s.vt.now(), 1'000'000))
    if (a.provider == "cand") {
      rated = core::job_id{a.key.job};
      break;
    }
  // and rates it again: the latest rating per job counts, before the restart and in what the restart reads back
  for (const double q : {0.5, 0.95}) {
    caf::scoped_actor self{*s.vt.sys};
    self->send(s.engine.rollout, msg::rate_job{rated, q, {}});
    s.vt.run();
    self->receive([](const msg::rated& r) { CHECK(r.found); });
  }
  s.restart(config_text(0, "1m"));
  REQUIRE(s.reader->audit().feedback_since({}).size() == 2); // both ratings kept on disk
  s.traffic(40, 30min, 24h + 2h);
  promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 2);
  CHECK(promotes[1].percent == 50);
  CHECK(promotes[1].at - at_10 >= 3 * 24h);
  CHECK(promotes[1].at - at_10 <= 3 * 24h + 1min);
  // the samples behind it are every candidate attempt of the phase, before and after the restart, each once
  std::int64_t candidate_attempts = 0;
  for (const auto& a : s.reader->jobs().finished_attempts({at_10, 0, 0}, promotes[1].at, 1'000'000))
    candidate_attempts += a.provider == "cand";
  const auto* samples = item(promotes[1], "min_samples");
  REQUIRE(samples != nullptr);
  CHECK(samples->observed >= 500);
  CHECK(samples->observed == candidate_attempts);
  const auto* cost = item(promotes[1], "cost_per_image_max");
  REQUIRE(cost != nullptr);
  CHECK(cost->verdict == "pass");
  CHECK(cost->observed == Approx(0.03)); // images restored with the attempts: cost per image, not per attempt
  // the provider's quality scores are kept on the attempts, and the client's rating in the feedback table:
  // every candidate success of the phase is a rating, and the client's latest one more (its first is replaced)
  const auto* parity = item(promotes[1], "quality_parity_min");
  REQUIRE(parity != nullptr);
  CHECK(parity->verdict == "pass");
  INFO(parity->reason << " (candidate attempts " << candidate_attempts << ")");
  CHECK(contains(parity->reason, "over " + std::to_string(candidate_attempts + 1) + " ratings, baseline"));
}

TEST_CASE("jobs only accepted before a restart that finds the rollout rolled back go to the baseline") {
  story s{config_text(100, "1m")};
  REQUIRE(s.act("rollback").error == msg::operator_error::none);
  s.stop();
  // jobs on disk, never routed: the engine stopped between the 202 and the routing
  std::vector<core::job_record> accepted;
  for (std::uint64_t id = 1; id <= 5; ++id) {
    core::job_record j;
    j.id = core::job_id{id};
    j.spec.user_id = "early-" + std::to_string(id);
    j.spec.prompt = "a kite";
    j.status = core::job_status::accepted;
    j.created_at = j.updated_at = s.vt.now();
    accepted.push_back(j);
  }
  s.reader->write(accepted, {});
  s.start(config_text(100, "1m"), false); // the file still says 100 %
  const auto fresh = s.submit(user_in_buckets(1, 100), false); // sent before the tree has settled
  s.vt.advance(1min);
  for (const auto& a : accepted) {
    const auto j = s.job(a.id);
    INFO(core::to_string(a.id) << " " << j.route_reason);
    CHECK(j.status == core::job_status::succeeded);
    CHECK(j.provider == "base");
    CHECK(j.route_reason == "rolled back -> baseline");
  }
  CHECK(s.job(fresh).route_reason == "rolled back -> baseline");
  CHECK(s.cand->calls == 0);
}

TEST_CASE("a trigger fires while an operator holds the rollout: it rolls back at once") {
  story s{config_text(50, "10s")};
  s.traffic(20, 1min, 5min);
  REQUIRE(s.act("hold").error == msg::operator_error::none);
  CHECK(s.status().state == core::rollout_phase_state::holding);
  s.cand->error = core::error_class::auth;
  s.cand->errors_left = 11;
  s.traffic(20, 1min, 20min);
  auto rollbacks = s.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  CHECK(s.status().state == core::rollout_phase_state::rolled_back);
  CHECK(s.status().percent == 0);
  const auto* t = item(rollbacks[0], "auth_failures");
  REQUIRE(t != nullptr);
  CHECK(t->verdict == "fired");
  // the next job goes to the baseline
  CHECK(s.job(s.submit(user_in_buckets(1, 50))).provider == "base");
}

TEST_CASE("a breaker trip before a restart still holds a phase that allows none") {
  story s{config_text(50, "1m")}; // phase 50 allows 0 breaker trips
  {
    caf::scoped_actor self{*s.vt.sys};
    self->send(s.engine.rollout, msg::breaker_trip{"cand", s.vt.now()});
    s.vt.run();
  }
  s.restart(config_text(50, "1m"));
  s.traffic(20, 30min, 7 * 24h + 2h); // enough samples and time for every other gate
  CHECK(s.decisions("promote").empty());
  CHECK(s.status().percent == 50);
  auto holds = s.decisions("hold");
  REQUIRE_FALSE(holds.empty());
  const auto* trips = item(holds.back(), "breaker_trips_max");
  REQUIRE(trips != nullptr);
  CHECK(trips->verdict == "fail");
  CHECK(trips->observed == 1);
  for (const auto& i : holds.back().items)
    if (i.kind == "gate" && i.name != "breaker_trips_max")
      CHECK(i.verdict == "pass");
}

TEST_CASE("in the verification phase at 0 % only the internal segment reaches the candidate, for a day") {
  auto text = config_text(0, "1m", "  overrides: {segments: {internal: candidate}}\n");
  text.replace(text.find("  phases:\n"), 10, "  phases:\n    - {percent: 0, min_duration: 1d}\n");
  story s{text};
  caf::scoped_actor self{*s.vt.sys};
  auto send = [&](const std::string& user, const std::string& segment) {
    core::job_spec spec;
    spec.user_id = user;
    spec.prompt = "a kite";
    spec.segment = segment;
    self->send(s.engine.intake, msg::submit_job{spec, {}, {}});
    s.vt.run();
    core::job_id id;
    self->receive([&](const msg::submit_reply& r) {
      CHECK(r.error == msg::submit_error::none);
      id = r.id;
    });
    return id;
  };
  const auto internal = send(user_in_buckets(1, 10), "internal");
  const auto outside = send(user_in_buckets(1, 10), "");
  s.vt.advance(1min);
  CHECK(s.job(internal).provider == "cand");
  CHECK(s.job(internal).route_reason == "segment internal -> candidate");
  CHECK(s.job(outside).provider == "base");
  CHECK(s.view().percent == 0);
  CHECK(s.view().phase == 0);
  CHECK(s.view().state == "running");
  s.vt.advance(23h);
  CHECK(s.decisions("promote").empty()); // not a minute early
  s.vt.advance(1h + 1min);
  auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 1);
  CHECK(promotes[0].percent == 10);
  CHECK(s.since_start(promotes[0].at) >= 24h);
  CHECK(s.since_start(promotes[0].at) <= 24h + 1min);
}

TEST_CASE("repeated trips of the candidate's breaker roll the rollout back") {
  story s{config_text(50, "10s", "    breaker_trips: {above: 2, for: 30m}\n")};
  caf::scoped_actor self{*s.vt.sys};
  for (int i = 0; i < 2; ++i) {
    self->send(s.engine.rollout, msg::breaker_trip{"cand", s.vt.now()});
    s.vt.advance(5min);
  }
  CHECK(s.decisions("rollback").empty()); // 2 trips in 30 minutes: not more than 2
  self->send(s.engine.rollout, msg::breaker_trip{"cand", s.vt.now()});
  s.vt.advance(10s);
  auto rollbacks = s.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  const auto* t = item(rollbacks[0], "breaker_trips");
  REQUIRE(t != nullptr);
  CHECK(t->verdict == "fired");
  CHECK(t->observed == 3);
  CHECK(s.status().state == core::rollout_phase_state::rolled_back);
  CHECK(s.job(s.submit(user_in_buckets(1, 50))).provider == "base");
}
