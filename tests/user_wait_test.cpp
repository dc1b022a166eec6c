// Latency as users see it (created -> final, by route cohort): the user-wait p95 gate, the `latency: user`
// trigger, the story of a fast provider behind a long batch window, and the figures rebuilt after a restart.

#include "support/rollout_driver.hpp"

#include <catch2/catch.hpp>

using namespace cutover::testing;

namespace {

phase_config user_gate_phase() {
  phase_config p;
  p.percent = 10;
  p.gates.p95_max = 60s;
  p.gates.user_p95_max = 120s;
  return p;
}

const evaluation& find(const std::vector<evaluation>& all, std::string_view name) {
  REQUIRE_FALSE(all.empty());
  for (const auto& e : all)
    if (e.name == name)
      return e;
  FAIL("no evaluation named " << name);
  return all.front();
}

/// A succeeded candidate attempt at `at` whose call took `call` and whose job waited `wait`, routed to `route`.
observation done(instant at, duration call, duration wait, cohort who = cohort::candidate, cohort route = cohort::candidate) {
  observation o;
  o.at = at;
  o.provider = who == cohort::candidate ? "cand" : "base";
  o.who = who;
  o.latency = call;
  o.images = 1;
  o.user_wait = wait;
  o.route = route;
  return o;
}

constexpr std::string_view user_gate = "p95_max (latency: user)";

} // namespace

TEST_CASE("the user-wait p95 gate passes at its threshold, fails above it, and waits for a succeeded job") {
  const auto phase = user_gate_phase();
  cohort_stats c, b;
  c.samples = 100;
  c.latency_samples = 100;
  c.p95 = 5s;
  SECTION("no succeeded candidate job yet: insufficient data") {
    const auto e = find(evaluate_gates(phase, c, b, 1h), user_gate);
    CHECK(e.v == verdict::insufficient);
    CHECK(e.reason == "insufficient data: no succeeded candidate jobs yet");
    CHECK(find(evaluate_gates(phase, c, b, 1h), "p95_max").v == verdict::pass);
  }
  c.user_wait_samples = 80;
  SECTION("at the threshold: pass") {
    c.user_p95 = 120s;
    const auto e = find(evaluate_gates(phase, c, b, 1h), user_gate);
    CHECK(e.v == verdict::pass);
    CHECK(e.samples == 80);
    CHECK(e.observed == Approx(120));
    CHECK(e.threshold == Approx(120));
  }
  SECTION("above it: fail, while the provider p95 passes") {
    c.user_p95 = 120'001ms;
    const auto all = evaluate_gates(phase, c, b, 1h);
    const auto e = find(all, user_gate);
    CHECK(e.v == verdict::fail);
    CHECK(e.reason == "user wait p95 120.001s > 120s (created -> final, 80 succeeded jobs) over 1h");
    CHECK(find(all, "p95_max").v == verdict::pass);
    CHECK_FALSE(all_pass(all));
  }
}

TEST_CASE("user waits count once per succeeded job for the cohort it was routed to, not the provider's latency") {
  metric_window w;
  cumulative_stats phase;
  const instant t{std::chrono::hours(1000)};
  // routed to the candidate, which failed it; the baseline ended it as a fallback: the wait is the candidate's
  auto fallback = done(t, 2s, 90s, cohort::baseline, cohort::candidate);
  auto own = done(t, 3s, 50s);
  observation failed = done(t, 1s, -1s);
  failed.error = error_class::server;
  for (const auto& o : {fallback, own, failed}) {
    w.add(o);
    phase.add(o);
  }
  for (const auto& s : {w.stats(cohort::candidate, t - 1min, t + 1min), phase.stats(cohort::candidate)}) {
    CHECK(s.user_wait_samples == 2);
    CHECK(s.user_p99 >= 88s); // the histogram's error bound (< 2 %)
    CHECK(s.user_p99 <= 92s);
    CHECK(s.latency_samples == 1); // the provider figures stay the candidate's own attempts
  }
  CHECK(phase.stats(cohort::baseline).user_wait_samples == 0);
  CHECK(phase.stats(cohort::baseline).latency_samples == 1);
}

TEST_CASE("a p95_vs_baseline trigger with latency user compares the cohorts' user waits") {
  metric_window w;
  const instant t{std::chrono::hours(1000)};
  // provider calls alike (2 s), user waits 10 s candidate vs 2 s baseline
  for (int i = 0; i < 20; ++i) {
    w.add(done(t + std::chrono::seconds(i), 2s, 10s));
    w.add(done(t + std::chrono::seconds(i), 2s, 2s, cohort::baseline, cohort::baseline));
  }
  triggers_config cfg;
  cfg.p95_vs_baseline = factor_trigger{3, 1s};
  trigger_evaluator provider_side, user_side;
  const auto now = t + 30s;
  auto quiet = provider_side.evaluate(cfg, w, {}, now);
  REQUIRE(quiet.size() == 1);
  CHECK(quiet[0].v == verdict::pass); // 2 s vs 2 s
  cfg.p95_vs_baseline->latency = latency_kind::user;
  user_side.evaluate(cfg, w, {}, now);
  auto fired = user_side.evaluate(cfg, w, {}, now + 1s);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].v == verdict::fail);
  CHECK(contains(fired[0].reason, "candidate user wait p95 10"));
}

TEST_CASE("a candidate with a fast provider call behind a long batch window is held by the user-wait gate") {
  auto cfg = make_config(0);
  auto& phases = std::const_pointer_cast<config>(cfg)->rollout.phases;
  for (auto& p : phases)
    if (p.percent == 10)
      p.gates.user_p95_max = 120s;
  driver s{cfg};
  s.cand.latency = 5s;     // the call: far under the 60 s provider gate
  s.cand.window = 3min;    // but users wait the batch window first
  s.traffic(40, 30min, 4 * 24h); // past the 3 days and 500 samples of phase 10
  CHECK(s.m.status().percent == 10);
  REQUIRE(s.decisions("promote").size() == 1); // 0 -> 10 only
  const auto holds = s.decisions("hold");
  REQUIRE_FALSE(holds.empty());
  const auto& last = holds.back();
  const auto* provider = item(last, "p95_max");
  const auto* user = item(last, "p95_max (latency: user)");
  REQUIRE(provider != nullptr);
  REQUIRE(user != nullptr);
  CHECK(provider->verdict == "pass");
  CHECK(user->verdict == "fail");
  CHECK(user->observed > 180); // 3 min window + 5 s call
  CHECK(contains(last.reason, "user wait p95"));
  CHECK(s.decisions("rollback").empty()); // the provider-latency trigger stays quiet
}

TEST_CASE("after a restart the user waits are rebuilt from the attempts on disk, for the phase and the window") {
  auto cfg = make_config(10);
  rollout_machine live{cfg, instant{std::chrono::hours(1000)}};
  const auto start = live.status().since;
  std::vector<observation> disk;
  for (int i = 0; i < 30; ++i)
    disk.push_back(done(start + std::chrono::minutes(i), 4s, std::chrono::seconds(100 + i)));
  disk.push_back(done(start - 1h, 4s, 900s)); // before the phase began: the window only (its reach is an hour)
  for (const auto& o : disk)
    live.observe(o);
  const auto until = start + 1h;
  rollout_machine again{cfg, until};
  again.restore(live.status());
  for (const auto& o : disk)
    if (o.at >= again.restore_from(until))
      again.restore_observation(o, until);
  const auto before = live.phase_stats().stats(cohort::candidate);
  const auto after = again.phase_stats().stats(cohort::candidate);
  CHECK(after.user_wait_samples == 30);
  CHECK(before.user_wait_samples == 31); // live heard the old one too
  CHECK(after.user_p95 >= 125s);
  CHECK(after.user_p95 <= 132s);
  const auto w = again.window().stats(cohort::candidate, until - 1h, until + 1us);
  CHECK(w.user_wait_samples == 30); // the one before the phase is also past the window's reach: not read
}
