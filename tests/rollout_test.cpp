// Rollout stories on the deterministic scheduler: the real actor tree (router, ledger, controller, providers,
// store on a real SQLite file) driven through days of virtual time by scripted providers. Each story asserts the
// decisions the controller wrote, and when.

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
  std::unique_ptr<core::job_store> reader;
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
    auto j = reader->find(id);
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
    auto d = reader->decisions(core::instant{}, 0, 100000);
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
  core::rollout_status status() { return *reader->rollout_state(); }
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

TEST_CASE("a healthy candidate goes 0, 10, 50, 100 only after 3 days with 500 samples and 7 days with 2000") {
  story s{config_text(0, "1m")};
  s.traffic(40, 30min, 10 * 24h + 2h); // about 580 candidate samples in 3 days at 10 %
  auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 3);
  CHECK(promotes[0].percent == 10);
  CHECK(s.since_start(promotes[0].at) == 1min); // the first tick: phase 10 asks nothing to enter
  CHECK(promotes[1].percent == 50);
  const auto at_10 = promotes[0].at;
  CHECK(promotes[1].at - at_10 >= 3 * 24h);
  CHECK(promotes[1].at - at_10 <= 3 * 24h + 1min); // within one tick of the gates passing
  const auto* samples = item(promotes[1], "min_samples");
  REQUIRE(samples != nullptr);
  CHECK(samples->observed >= 500);
  for (const auto& i : promotes[1].items)
    if (i.kind == "gate")
      CHECK(i.verdict == "pass");
  CHECK(promotes[2].percent == 100);
  CHECK(promotes[2].at - promotes[1].at >= 7 * 24h);
  CHECK(promotes[2].at - promotes[1].at <= 7 * 24h + 1min);
  CHECK(s.decisions("complete").size() == 1);
  CHECK(s.decisions("rollback").empty());
  CHECK(s.status().percent == 100);
  // holds in between say why, with their figures
  auto holds = s.decisions("hold");
  REQUIRE_FALSE(holds.empty());
  CHECK(holds.front().reason.find("insufficient data") != std::string::npos);
}

TEST_CASE("too few samples holds the phase with insufficient data") {
  story s{config_text(0, "1m")};
  s.traffic(1, 10min, 4 * 24h); // about 58 candidate samples at 10 %
  auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 1); // 0 -> 10 only
  CHECK(s.status().percent == 10);
  auto holds = s.decisions("hold");
  REQUIRE_FALSE(holds.empty());
  const auto& last = holds.back();
  CHECK(last.percent == 10);
  CHECK(last.reason.find("insufficient data") != std::string::npos);
  const auto* samples = item(last, "min_samples");
  REQUIRE(samples != nullptr);
  CHECK(samples->verdict == "insufficient data");
  CHECK(samples->observed < 500);
  CHECK(samples->threshold == 500);
}

TEST_CASE("a candidate p95 of 4x the baseline for 10 minutes rolls back within one tick of the window condition") {
  story s{config_text(50, "10s")};
  s.traffic(20, 1min, 30min); // both cohorts answer, the candidate at 2 s, the baseline at 1 s
  REQUIRE(s.decisions("rollback").empty());
  s.cand->latency = 4s * 1; // baseline 1 s: the candidate is now 4x
  const auto slow_from = s.vt.now();
  s.traffic(20, 1min, 15min);
  auto rollbacks = s.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  const auto& r = rollbacks.front();
  const auto after = r.at - slow_from;
  INFO("rolled back " << std::chrono::duration_cast<std::chrono::seconds>(after).count() << " s after the slowdown");
  CHECK(after >= 10min);
  CHECK(after <= 10min + 5s + 10s); // the first slow answers land within the slow latency; then one tick
  CHECK(r.percent == 0);
  CHECK(r.reason.rfind("trigger: ", 0) == 0);
  // the audit row names the trigger with its observed and baseline figures
  const auto* t = item(r, "p95_vs_baseline");
  REQUIRE(t != nullptr);
  CHECK(t->kind == "trigger");
  CHECK(t->verdict == "fired");
  CHECK(t->observed >= 4.0);
  CHECK(t->baseline >= 1.0);
  CHECK(t->baseline < 1.1);
  CHECK(t->threshold >= 3 * t->baseline * 0.99);
  CHECK(s.status().state == core::rollout_phase_state::rolled_back);
}

TEST_CASE("a single slow minute does not roll back") {
  story s{config_text(50, "10s")};
  s.traffic(20, 1min, 20min);
  s.cand->latency = 8s;
  s.traffic(20, 1min, 1min);
  s.cand->latency = 2s;
  s.traffic(20, 1min, 40min);
  CHECK(s.decisions("rollback").empty());
  CHECK(s.status().percent == 50);
}

TEST_CASE("11 auth failures at the candidate roll back and 10 do not") {
  story ten{config_text(50, "10s")};
  ten.cand->error = core::error_class::auth;
  ten.cand->errors_left = 10;
  ten.traffic(20, 1min, 20min);
  CHECK(ten.decisions("rollback").empty());

  story eleven{config_text(50, "10s")};
  eleven.cand->error = core::error_class::auth;
  eleven.cand->errors_left = 11;
  eleven.traffic(20, 1min, 20min);
  auto rollbacks = eleven.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  CHECK(eleven.since_start(rollbacks[0].at) < 3min); // at the first tick after the 11th
  const auto* t = item(rollbacks[0], "auth_failures");
  REQUIRE(t != nullptr);
  CHECK(t->observed == 11);
  CHECK(t->threshold == 10);
}

TEST_CASE("silence rolls back only when traffic is expected") {
  story quiet{config_text(50, "10s")};
  quiet.cand->silent = true;
  quiet.vt.advance(30min); // no traffic at all: nothing is expected from the candidate
  CHECK(quiet.decisions("rollback").empty());

  story s{config_text(50, "10s")};
  s.cand->silent = true;
  s.traffic(10, 1min, 10min); // jobs go to the candidate, which never answers
  auto rollbacks = s.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  const auto* t = item(rollbacks[0], "silence");
  REQUIRE(t != nullptr);
  CHECK(t->verdict == "fired");
}

TEST_CASE("a gradual rollback steps down through the phases with a dwell at each") {
  story s{config_text(100, "10s", "  on_trigger: gradual\n  gradual_dwell: 10m\n")};
  s.cand->error = core::error_class::auth;
  s.cand->errors_left = 1000;
  s.traffic(20, 1min, 40min);
  auto rollbacks = s.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  CHECK(rollbacks[0].percent == 50);
  auto steps = s.decisions("step_down");
  REQUIRE(steps.size() == 2);
  CHECK(steps[0].percent == 10);
  CHECK(steps[0].at - rollbacks[0].at >= 10min);
  CHECK(steps[0].at - rollbacks[0].at <= 10min + 10s);
  CHECK(steps[1].percent == 0);
  CHECK(steps[1].at - steps[0].at <= 10min + 10s);
  CHECK(s.status().state == core::rollout_phase_state::rolled_back);
}

TEST_CASE("after a rollback the rollout never re-advances until an operator resumes") {
  story s{config_text(50, "1m")};
  s.cand->error = core::error_class::auth;
  s.cand->errors_left = 11;
  s.traffic(20, 1min, 20min);
  REQUIRE(s.decisions("rollback").size() == 1);
  s.traffic(2, 10min, 4 * 24h); // healthy again, plenty of days: still nothing
  CHECK(s.decisions("promote").empty());
  CHECK(s.status().percent == 0);
  caf::scoped_actor self{*s.vt.sys};
  self->send(s.engine.rollout, msg::operator_action{"resume"});
  s.vt.run();
  self->receive([](const msg::operator_reply& r) { CHECK(r.error == msg::operator_error::none); });
  s.vt.advance(2min);
  auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 1);
  CHECK(promotes[0].percent == 10);
  CHECK(s.decisions("operator_resume").size() == 1);
}

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

TEST_CASE("a reload does not raise a rolled back rollout; an operator resumes it") {
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

TEST_CASE("a completed rollout runs again when a reload adds phases above its live percent") {
  auto no_phases = config_text(30, "1m");
  no_phases.erase(no_phases.find("  phases:"), no_phases.find("  triggers:") - no_phases.find("  phases:"));
  story s{no_phases};
  s.vt.advance(1min);
  REQUIRE(s.view().state == "completed"); // no phase to go to: it stays at the file's 30 %
  REQUIRE(s.view().percent == 30);
  s.reload(config_text(30, "1m")); // the percent is the same; phases 10, 50 and 100 are new
  auto v = s.view();
  CHECK(v.state == "running");
  CHECK(v.percent == 30);
  CHECK(v.phase == 0); // 10 <= 30 < 50: the gates of the 10 % phase lead on to 50 %
  CHECK(contains(s.decisions("reload").back().reason, "back to running: 30% is below the last phase (100%)"));
  s.vt.advance(1min);
  auto holds = s.decisions("hold");
  REQUIRE(holds.size() == 1); // evaluated again: too few samples yet
  CHECK(holds[0].percent == 30);
  CHECK(contains(holds[0].reason, "insufficient data"));
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
  for (const auto& a : s.reader->finished_attempts({at_10, 0, 0}, s.vt.now(), 1'000'000))
    if (a.provider == "cand") {
      rated = core::job_id{a.key.job};
      break;
    }
  {
    caf::scoped_actor self{*s.vt.sys};
    self->send(s.engine.rollout, msg::rate_job{rated, 0.95});
    s.vt.run();
    self->receive([](const msg::rated& r) { CHECK(r.found); });
  }
  s.restart(config_text(0, "1m"));
  s.traffic(40, 30min, 24h + 2h);
  promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 2);
  CHECK(promotes[1].percent == 50);
  CHECK(promotes[1].at - at_10 >= 3 * 24h);
  CHECK(promotes[1].at - at_10 <= 3 * 24h + 1min);
  // the samples behind it are every candidate attempt of the phase, before and after the restart, each once
  std::int64_t candidate_attempts = 0;
  for (const auto& a : s.reader->finished_attempts({at_10, 0, 0}, promotes[1].at, 1'000'000))
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
  // every candidate success of the phase is a rating, and the client's one more
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

TEST_CASE("a failing gate holds the phase, names the gate with its figures, and nothing advances") {
  story s{config_text(0, "1m")};
  s.cand->quality = 0.7; // parity 0.7 / 0.9 = 0.78, under the 0.9 the phase asks
  s.traffic(40, 30min, 4 * 24h);
  auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 1); // 0 -> 10 only, although samples and duration are met
  CHECK(s.status().percent == 10);
  CHECK(s.decisions("rollback").empty()); // a failing gate holds; it is not a trigger
  auto holds = s.decisions("hold");
  REQUIRE_FALSE(holds.empty());
  const auto& last = holds.back();
  CHECK(s.since_start(last.at) >= 3 * 24h); // the hold after the phase's 3 days names what still fails
  CHECK(contains(last.reason, "quality"));
  const auto* parity = item(last, "quality_parity_min");
  REQUIRE(parity != nullptr);
  CHECK(parity->verdict == "fail");
  CHECK(parity->observed == Approx(0.7 / 0.9).epsilon(0.01));
  CHECK(parity->threshold == Approx(0.9));
  const auto* samples = item(last, "min_samples");
  REQUIRE(samples != nullptr);
  CHECK(samples->verdict == "pass");
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
