// A live rollback drill through the whole engine tree on the deterministic scheduler (real SQLite file): calls of
// 30 s are on the wire at the candidate when the drill starts; the router switches at once, the drill waits until
// the last of them has come back, and the rollout returns to its phase, percent and phase start. Virtual time, so
// the timings are exact.

#include "core/metric_catalog.hpp"
#include "support/engine_story.hpp"

#include <caf/after.hpp>

#include <catch2/catch.hpp>

#include <optional>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// The candidate answers in 30 s, the baseline in 1 s; half the users are on the candidate (phase 0 of 2).
const char* drill_config = R"(providers:
  cand:
    kind: simulated
    mode: sync
    timeout: 2m
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: {latency_p50: 30s, latency_p95: 30s, failure_rate: 0%, quality: 0.93}
  base:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}
    simulated: {latency_p50: 1s, latency_p95: 1s, failure_rate: 0%, quality: 0.9}
tiers:
  sd: {batch: {max_items: 50, max_wait: 1s}}
fallback: {cand: [base]}
rollout:
  name: drill
  baseline: base
  candidate: cand
  percent: 50
  phases: [{percent: 50, min_duration: 7d, min_samples: 10}, {percent: 100}]
)";

struct drill_story : testing::engine_story {
  explicit drill_story(testing::temp_dir& dir) : engine_story(dir, drill_config) {}

  /// Sends the drill; the answer is collected by `answer()` once virtual time has let it finish.
  void start(core::duration max_wait = core::duration{0}) {
    self = std::make_unique<caf::scoped_actor>(*vt.sys);
    (*self)->send(engine.rollout, msg::run_drill{max_wait});
    vt.run();
  }
  /// The drill's answer, if it has come (taken out of the mailbox once).
  std::optional<msg::drill_reply> answer() {
    std::optional<msg::drill_reply> out;
    (*self)->receive([&](msg::drill_reply& r) { out = std::move(r); }, caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }
  msg::rollout_view_reply view() {
    caf::scoped_actor s{*vt.sys};
    s->send(engine.rollout, msg::get_rollout{});
    vt.run();
    msg::rollout_view_reply out;
    s->receive([&](msg::rollout_view_reply& r) { out = std::move(r); });
    return out;
  }
  std::unique_ptr<caf::scoped_actor> self;
};

int on(const std::vector<core::job_record>& jobs, const std::string& provider) {
  int n = 0;
  for (const auto& j : jobs)
    n += j.provider == provider;
  return n;
}

} // namespace

TEST_CASE("a drill switches the routes at once, waits for the candidate's calls on the wire and restores the phase") {
  testing::temp_dir dir;
  drill_story s{dir};
  const auto before = s.view();
  REQUIRE(before.percent == 50);
  REQUIRE(before.phase == 0);
  auto first = s.submit(20, "first");
  s.advance_to(5s); // the windows flushed at 1 s: the candidate's calls end at 31 s
  std::vector<core::job_record> jobs;
  for (auto id : first)
    jobs.push_back(s.job(id));
  const int at_candidate = on(jobs, "cand");
  REQUIRE(at_candidate > 0);
  REQUIRE(on(jobs, "base") > 0);

  s.start(); // at 5 s
  const auto during = s.view();
  CHECK(during.state == "rolled_back");
  CHECK(during.percent == 0);
  // a restart now would come back at 50 %: the stored state is the one before the drill
  auto stored = s.reader->audit().rollout_state();
  REQUIRE(stored);
  CHECK(stored->percent == 50);
  CHECK(stored->since == before.since);
  // the same users, while the drill runs: every one to the baseline
  auto during_drill = s.submit(20, "first");
  s.advance_to(10s);
  for (auto id : during_drill)
    CHECK(s.job(id).provider == "base");

  s.advance_to(30s);
  CHECK_FALSE(s.answer()); // the candidate's calls are still on the wire
  s.advance_to(40s);
  const auto answered = s.answer();
  REQUIRE(answered);
  const auto& r = *answered;
  REQUIRE(r.error == msg::operator_error::none);
  CHECK(r.record.passed());
  CHECK(r.record.started_at == testing::virtual_epoch + 5s);
  CHECK(r.record.routed_after() == 0s); // one message to the router, in virtual time
  CHECK(r.record.at_candidate_when_routed == at_candidate);
  CHECK(r.record.drained_after() == 26s); // their calls ended at 31 s
  CHECK(r.record.left_at_candidate == 0);
  CHECK(r.view.percent == 50);
  CHECK(r.view.phase == 0);
  CHECK(r.view.state == "running");
  CHECK(r.view.since == before.since);
  for (auto id : first)
    CHECK(s.job(id).status == core::job_status::succeeded); // the calls on the wire were let finish

  // the audit: the rollback and the restore, with the timings
  const auto decisions = s.reader->audit().decisions({}, 0, 10);
  REQUIRE(decisions.size() >= 2);
  CHECK(decisions[0].action == "drill_restore");
  CHECK(decisions[0].percent == 50);
  CHECK(decisions[1].action == "drill_rollback");
  CHECK(decisions[1].percent == 0);
  REQUIRE(decisions[0].items.size() == 2);
  CHECK(decisions[0].items[1].name == "candidate_drained");
  CHECK(decisions[0].items[1].observed == Approx(26000.0));
  auto after = s.reader->audit().rollout_state();
  REQUIRE(after);
  CHECK(after->percent == 50);
  CHECK(after->since == before.since);
  // new jobs of the candidate's users go to the candidate again
  auto again = s.submit(20, "first");
  s.advance_to(41s);
  std::vector<core::job_record> later;
  for (auto id : again)
    later.push_back(s.job(id));
  CHECK(on(later, "cand") == at_candidate);
}

TEST_CASE("a drill whose candidate does not drain within max_wait fails, counts what is left and still restores") {
  testing::temp_dir dir;
  drill_story s{dir};
  s.submit(20, "first");
  s.advance_to(5s);
  s.start(10s);
  s.advance_to(14s);
  CHECK_FALSE(s.answer());
  s.advance_to(16s);
  const auto answered = s.answer();
  REQUIRE(answered);
  const auto& r = *answered;
  REQUIRE(r.error == msg::operator_error::none);
  CHECK_FALSE(r.record.passed());
  CHECK(r.record.routed);
  CHECK(r.record.left_at_candidate > 0);
  CHECK(r.record.finished_at == testing::virtual_epoch + 15s);
  CHECK(r.view.percent == 50);
}

TEST_CASE("a drill is refused while the rollout is rolled back, with why") {
  testing::temp_dir dir;
  drill_story s{dir};
  s.operate("rollback");
  s.start();
  const auto answered = s.answer();
  REQUIRE(answered);
  const auto& r = *answered;
  CHECK(r.error == msg::operator_error::not_allowed);
  CHECK(r.message.find("already rolled back") != std::string::npos);
  CHECK(r.view.state == "rolled_back");
}

TEST_CASE("while a drill runs cutover_rollout_drill_active is 1 beside the rolled_back state, and 0 once restored") {
  // the rollback alert excludes a drill by this gauge: it must be up whenever the drill's rolled_back is visible
  testing::temp_dir dir;
  drill_story s{dir};
  auto& m = *s.engine.metrics;
  auto& drill = m.get_gauge(core::metric::rollout_drill_active, {});
  auto& rolled_back = m.get_gauge(core::metric::rollout_state, {{"state", "rolled_back"}});
  auto& running = m.get_gauge(core::metric::rollout_state, {{"state", "running"}});
  s.submit(20, "first");
  s.advance_to(5s); // calls of 30 s at the candidate: the drill waits for them
  CHECK(drill.value() == 0);
  CHECK(running.value() == 1);
  s.start();
  CHECK(drill.value() == 1);
  CHECK(rolled_back.value() == 1);
  s.advance_to(40s);
  REQUIRE(s.answer());
  CHECK(drill.value() == 0);
  CHECK(rolled_back.value() == 0);
  CHECK(running.value() == 1);
  // a real rollback is not a drill
  s.operate("rollback");
  CHECK(rolled_back.value() == 1);
  CHECK(drill.value() == 0);
}
