// The rollout's phase/state machine on its own (core::rollout_machine): days of virtual time in microseconds.
// Promotion, holds, triggers, gradual rollbacks, reloads and the figures rebuilt after a restart. Operator actions
// and the verification phase are in rollout_machine_actions_test; the stories that need the actor tree (restarts,
// routing) are in rollout_test.

#include "support/rollout_driver.hpp"

#include <catch2/catch.hpp>

using namespace cutover::testing;

TEST_CASE("a healthy candidate goes 0, 10, 50, 100 only after 3 days with 500 samples and 7 days with 2000") {
  driver s{make_config(0)};
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
  REQUIRE_FALSE(promotes[1].items.empty());
  for (const auto& i : promotes[1].items)
    if (i.kind == "gate")
      CHECK(i.verdict == "pass");
  CHECK(promotes[2].percent == 100);
  CHECK(promotes[2].at - promotes[1].at >= 7 * 24h);
  CHECK(promotes[2].at - promotes[1].at <= 7 * 24h + 1min);
  CHECK(s.decisions("complete").size() == 1);
  CHECK(s.decisions("rollback").empty());
  CHECK(s.m.status().percent == 100);
  CHECK(s.m.status().state == rollout_phase_state::completed);
  // holds in between say why, with their figures
  auto holds = s.decisions("hold");
  REQUIRE_FALSE(holds.empty());
  CHECK(contains(holds.front().reason, "insufficient data"));
}

TEST_CASE("too few samples holds the phase with insufficient data") {
  driver s{make_config(0)};
  s.traffic(1, 10min, 4 * 24h); // about 58 candidate samples at 10 %
  REQUIRE(s.decisions("promote").size() == 1); // 0 -> 10 only
  CHECK(s.m.status().percent == 10);
  auto holds = s.decisions("hold");
  REQUIRE_FALSE(holds.empty());
  const auto& last = holds.back();
  CHECK(last.percent == 10);
  CHECK(contains(last.reason, "insufficient data"));
  const auto* samples = item(last, "min_samples");
  REQUIRE(samples != nullptr);
  CHECK(samples->verdict == "insufficient data");
  CHECK(samples->observed < 500);
  CHECK(samples->threshold == 500);
}

TEST_CASE("a hold whose verdicts do not change is written at most hourly, and quiet ticks decide nothing") {
  driver s{make_config(10)};
  s.advance(1min);
  REQUIRE(s.log.size() == 1); // the first hold: insufficient data
  s.advance(59min);
  CHECK(s.log.size() == 1); // 59 ticks with the same verdicts: nothing written
  s.advance(1min);
  CHECK(s.log.size() == 2); // an hour on: written again
}

TEST_CASE("a candidate p95 of 4x the baseline for 10 minutes rolls back within one tick of the window condition") {
  driver s{make_config(50, 10s)};
  s.traffic(20, 1min, 30min); // both cohorts answer, the candidate at 2 s, the baseline at 1 s
  REQUIRE(s.decisions("rollback").empty());
  s.cand.latency = 4s; // baseline 1 s: the candidate is now 4x
  const auto slow_from = s.now;
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
  const auto* t = item(r, "p95_vs_baseline");
  REQUIRE(t != nullptr);
  CHECK(t->kind == "trigger");
  CHECK(t->verdict == "fired");
  CHECK(t->observed >= 4.0);
  CHECK(t->baseline >= 1.0);
  CHECK(t->baseline < 1.1);
  CHECK(t->threshold >= 3 * t->baseline * 0.99);
  CHECK(contains(t->reason, "candidate p95"));
  CHECK(s.m.status().state == rollout_phase_state::rolled_back);
  CHECK(s.m.rolled_back());
}

TEST_CASE("a single slow minute does not roll back") {
  driver s{make_config(50, 10s)};
  s.traffic(20, 1min, 20min);
  s.cand.latency = 8s;
  s.traffic(20, 1min, 1min);
  s.cand.latency = 2s;
  s.traffic(20, 1min, 40min);
  CHECK(s.decisions("rollback").empty());
  CHECK(s.m.status().percent == 50);
}

TEST_CASE("11 auth failures at the candidate roll back and 10 do not") {
  driver ten{make_config(50, 10s)};
  ten.cand.error = error_class::auth;
  ten.cand.errors_left = 10;
  ten.traffic(20, 1min, 20min);
  CHECK(ten.decisions("rollback").empty());

  driver eleven{make_config(50, 10s)};
  eleven.cand.error = error_class::auth;
  eleven.cand.errors_left = 11;
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
  driver quiet{make_config(50, 10s)};
  quiet.cand.silent = true;
  quiet.advance(30min); // no traffic at all: nothing is expected from the candidate
  CHECK(quiet.decisions("rollback").empty());

  driver s{make_config(50, 10s)};
  s.cand.silent = true;
  s.traffic(10, 1min, 10min); // jobs go to the candidate, which never answers
  auto rollbacks = s.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  const auto* t = item(rollbacks[0], "silence");
  REQUIRE(t != nullptr);
  CHECK(t->verdict == "fired");
}

TEST_CASE("a gradual rollback steps down through the phases with a dwell at each") {
  driver s{make_config(100, 10s, on_trigger_action::gradual)};
  s.cand.error = error_class::auth;
  s.cand.errors_left = 1000;
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
  CHECK(steps[1].at - steps[0].at >= 10min);
  CHECK(steps[1].at - steps[0].at <= 10min + 10s);
  CHECK(s.m.status().state == rollout_phase_state::rolled_back);
}

TEST_CASE("after a rollback the rollout never re-advances until an operator resumes") {
  driver s{make_config(50)};
  s.cand.error = error_class::auth;
  s.cand.errors_left = 11;
  s.traffic(20, 1min, 20min);
  REQUIRE(s.decisions("rollback").size() == 1);
  s.traffic(2, 10min, 4 * 24h); // healthy again, plenty of days: still nothing
  CHECK(s.decisions("promote").empty());
  CHECK(s.m.status().percent == 0);
  CHECK(s.act("resume").outcome == operator_outcome::done);
  s.advance(2min);
  auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 1);
  CHECK(promotes[0].percent == 10);
  CHECK(s.decisions("operator_resume").size() == 1);
}

TEST_CASE("a completed rollout runs again when a reload adds phases above its live percent") {
  driver s{make_config(30, 1min, on_trigger_action::immediate, false)};
  s.advance(1min);
  REQUIRE(s.m.status().state == rollout_phase_state::completed); // no phase to go to: it stays at 30 %
  REQUIRE(s.m.status().percent == 30);
  const auto d = s.m.reload(make_config(30), s.now); // the percent is the same; phases 10, 50 and 100 are new
  CHECK(s.m.status().state == rollout_phase_state::running);
  CHECK(s.m.status().percent == 30);
  CHECK(s.m.status().phase == 0); // 10 <= 30 < 50: the gates of the 10 % phase lead on to 50 %
  CHECK(d.action == "reload");
  CHECK(contains(d.reason, "back to running: 30% is below the last phase (100%)"));
  CHECK(s.m.status().config_hash == make_config(30)->hash);
  s.log.clear();
  s.advance(1min);
  auto holds = s.decisions("hold");
  REQUIRE(holds.size() == 1); // evaluated again: too few samples yet
  CHECK(holds[0].percent == 30);
  CHECK(contains(holds[0].reason, "insufficient data"));
}

TEST_CASE("a reload raises the live percent to the file's but never lowers it, and not while rolled back") {
  driver s{make_config(0)};
  REQUIRE(s.act("promote").outcome == operator_outcome::done); // 0 -> 10
  REQUIRE(s.act("promote").outcome == operator_outcome::done); // 10 -> 50
  const auto promoted_at = s.m.status().since;
  s.advance(10min);
  auto d = s.m.reload(make_config(10), s.now);
  CHECK(s.m.status().percent == 50);
  CHECK(s.m.status().since == promoted_at);
  CHECK(contains(d.reason, "rollout.percent 0 -> 10 in the file: the live percent stays 50%"));
  d = s.m.reload(make_config(100), s.now);
  CHECK(s.m.status().percent == 100);
  CHECK(s.m.status().phase == 2);
  CHECK(s.m.status().since == s.now);
  CHECK(contains(d.reason, "the live percent rises 50% -> 100%"));
  REQUIRE(s.act("rollback").outcome == operator_outcome::done);
  d = s.m.reload(make_config(50), s.now);
  CHECK(s.m.status().percent == 0);
  CHECK(s.m.rolled_back());
  CHECK(contains(d.reason, "not applied while rolled_back"));
}

TEST_CASE("a failing gate holds the phase, names the gate with its figures, and nothing advances") {
  driver s{make_config(0)};
  s.cand.quality = 0.7; // parity 0.7 / 0.9 = 0.78, under the 0.9 the phase asks
  s.traffic(40, 30min, 4 * 24h);
  REQUIRE(s.decisions("promote").size() == 1); // 0 -> 10 only, although samples and duration are met
  CHECK(s.m.status().percent == 10);
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

TEST_CASE("figures read back after a restart count in the phase from its start and in the window within its span") {
  driver s{make_config(50)};
  rollout_status stored = s.m.status();
  stored.since = s.now - 2h;
  s.m.restore(stored);
  const auto until = s.now;
  CHECK(s.m.restore_from(until) == stored.since); // the phase began before the window's reach (1 h)
  observation old;
  old.at = until - 3h; // before the phase: neither
  old.who = cohort::candidate;
  s.m.restore_observation(old, until);
  observation in_phase = old;
  in_phase.at = until - 90min; // in the phase, before the window
  s.m.restore_observation(in_phase, until);
  observation recent = old;
  recent.at = until - 10min; // both
  s.m.restore_observation(recent, until);
  s.m.restore_trip(cohort::candidate, until - 5min, until);
  CHECK(s.m.phase_stats().stats(cohort::candidate).samples == 2);
  CHECK(s.m.phase_stats().stats(cohort::candidate).breaker_trips == 1);
  CHECK(s.m.window().stats(cohort::candidate, until - 2h, until + 1s).samples == 1);
}

TEST_CASE("a second rating of the same job replaces the first in the phase figures and the window, never adds") {
  driver s{make_config(50)};
  const auto t0 = s.now;
  s.m.rate(job_id{7}, cohort::candidate, 0.2, t0);
  s.m.rate(job_id{8}, cohort::candidate, 1.0, t0 + 1s);
  s.m.rate(job_id{7}, cohort::candidate, 0.8, t0 + 30s); // job 7 again: 0.8 replaces 0.2
  const auto phase = s.m.phase_stats().stats(cohort::candidate);
  CHECK(phase.quality_samples == 2);
  CHECK(phase.quality_mean == Approx(0.9));
  const auto window = s.m.window().stats(cohort::candidate, t0 - 1min, t0 + 1min);
  CHECK(window.quality_samples == 2);
  CHECK(window.quality_mean == Approx(0.9));
}

TEST_CASE("after a restart only the latest rating per job is restored") {
  driver s{make_config(50)};
  rollout_status stored = s.m.status();
  stored.since = s.now - 2h;
  s.m.restore(stored);
  const auto until = s.now;
  // oldest first, as the feedback table is read: job 3 rated twice inside the window, job 4 once
  s.m.restore_rating(job_id{3}, cohort::candidate, 0.0, until - 20min, until);
  s.m.restore_rating(job_id{4}, cohort::candidate, 0.6, until - 15min, until);
  s.m.restore_rating(job_id{3}, cohort::candidate, 1.0, until - 10min, until);
  // job 5: first rated before the window's reach (phase only), then again inside it
  s.m.restore_rating(job_id{5}, cohort::candidate, 0.0, until - 90min, until);
  s.m.restore_rating(job_id{5}, cohort::candidate, 0.2, until - 5min, until);
  const auto phase = s.m.phase_stats().stats(cohort::candidate);
  CHECK(phase.quality_samples == 3);
  CHECK(phase.quality_mean == Approx((1.0 + 0.6 + 0.2) / 3));
  const auto window = s.m.window().stats(cohort::candidate, until - 2h, until + 1s);
  CHECK(window.quality_samples == 3);
  CHECK(window.quality_mean == Approx((1.0 + 0.6 + 0.2) / 3));
}
