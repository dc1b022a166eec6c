// The live rollback drill's states on core::rollout_machine, in virtual time: it rolls back, records the router's
// confirmation and the candidate's drain, and returns to the phase, percent, state and phase start it had, its
// figures untouched (no gate is re-run); while it runs nothing else moves the rollout; where a drill makes no sense
// it is refused.

#include "support/rollout_driver.hpp"

#include <catch2/catch.hpp>

using namespace cutover::testing;

namespace {
/// The driver at 10 % with `hours` of traffic behind it (100 jobs every 10 minutes, everyone healthy).
driver with_traffic(int percent, int hours) {
  driver s{make_config(percent)};
  s.traffic(100, 10min, std::chrono::hours(hours));
  return s;
}
} // namespace

TEST_CASE("a drill rolls back, records its timings and returns to the phase, percent, state and phase start it had") {
  auto s = with_traffic(10, 6);
  REQUIRE(s.m.status().phase == 0);
  const auto before = s.m.status();
  const auto samples = s.m.phase_stats().stats(cohort::candidate).samples;
  REQUIRE(samples > 0);

  auto started = s.m.drill_start(s.now, 30s);
  REQUIRE(started.outcome == operator_outcome::done);
  REQUIRE(started.decision);
  CHECK(started.decision->action == "drill_rollback");
  CHECK(started.decision->percent == 0);
  CHECK(started.decision->state == "rolled_back");
  CHECK(contains(started.decision->reason, "from 10%, phase 0, running since"));
  CHECK(item(*started.decision, "min_duration") != nullptr); // the gates' figures as they stood
  CHECK(s.m.rolled_back());
  CHECK(s.m.status().percent == 0);
  CHECK(s.m.drill_state() == drill_step::routing);
  // a restart now would come back to where the drill started, not to the drill's rollback
  CHECK(s.m.resting_status().percent == 10);
  CHECK(s.m.resting_status().since == before.since);

  const auto t = s.now;
  s.m.drill_routed(t + 2ms, 7);
  CHECK(s.m.drill_state() == drill_step::draining);
  auto restored = s.m.drill_finish(t + 1500ms, 0);
  REQUIRE(restored);
  CHECK_FALSE(s.m.drilling());
  CHECK_FALSE(s.m.rolled_back());
  CHECK(s.m.status().phase == before.phase);
  CHECK(s.m.status().percent == before.percent);
  CHECK(s.m.status().state == before.state);
  CHECK(s.m.status().since == before.since);
  CHECK(s.m.phase_stats().stats(cohort::candidate).samples == samples);

  const auto& rec = s.m.drill();
  CHECK(rec.passed());
  CHECK(rec.routed_after() == 2ms);
  CHECK(rec.drained_after() == 1500ms);
  CHECK(rec.at_candidate_when_routed == 7);
  CHECK(rec.left_at_candidate == 0);
  CHECK(rec.after.percent == 10);

  CHECK(restored->action == "drill_restore");
  CHECK(restored->percent == 10);
  CHECK(restored->phase == 0);
  CHECK(restored->state == "running");
  CHECK(contains(restored->reason, "rollback drill passed: back to 10%, phase 0, running since"));
  const auto* routed = item(*restored, "routed_to_baseline");
  REQUIRE(routed != nullptr);
  CHECK(routed->kind == "drill");
  CHECK(routed->verdict == "pass");
  CHECK(routed->observed == Approx(2.0));
  CHECK(routed->samples == 7);
  const auto* drained = item(*restored, "candidate_drained");
  REQUIRE(drained != nullptr);
  CHECK(drained->verdict == "pass");
  CHECK(drained->observed == Approx(1500.0));
  CHECK(drained->window == 1500ms);
  CHECK(drained->threshold == Approx(30000.0));
}

TEST_CASE("no gate is re-run after a drill: the phase is promoted when it would have been without it") {
  auto control = with_traffic(10, 0);
  control.traffic(100, 10min, 4 * 24h);
  const auto expected = control.decisions("promote");
  REQUIRE(expected.size() == 1);
  CHECK(expected[0].percent == 50);

  auto s = with_traffic(10, 24);
  REQUIRE(s.m.drill_start(s.now, 10min).outcome == operator_outcome::done);
  s.m.drill_routed(s.now, 0);
  s.advance(20min); // ticks during the drill decide nothing
  REQUIRE(s.m.drill_finish(s.now, 0));
  s.traffic(100, 10min, 3 * 24h - 20min);
  const auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 1);
  CHECK(promotes[0].at == expected[0].at);
}

TEST_CASE("while a drill runs, ticks decide nothing and operators' actions and steps are refused") {
  auto s = with_traffic(50, 1);
  REQUIRE(s.m.drill_start(s.now).outcome == operator_outcome::done);
  const auto decided = s.log.size();
  s.advance(2h);
  CHECK(s.log.size() == decided); // no hold, promote or rollback judged on the drill's traffic
  for (const char* action : {"promote", "hold", "resume", "rollback"}) {
    auto r = s.act(action);
    CHECK(r.outcome == operator_outcome::refused);
    CHECK(contains(r.message, "a rollback drill is under way"));
  }
  CHECK(s.m.step_down(10, s.now).outcome == operator_outcome::refused);
  // what the console is told: every action refused with the reason, and no percent to step down to
  const auto f = s.m.figures(s.now);
  REQUIRE_FALSE(f.actions.empty());
  for (const auto& a : f.actions)
    CHECK(contains(a.refusal, "a rollback drill is under way"));
  CHECK(f.step_down_to.empty());
  auto again = s.m.drill_start(s.now);
  CHECK(again.outcome == operator_outcome::refused);
  CHECK(contains(again.message, "a rollback drill is under way since"));
  REQUIRE(s.m.drill_finish(s.now, 0));
  CHECK(s.m.status().percent == 50);
  CHECK(s.act("hold").outcome == operator_outcome::done);
}

TEST_CASE("a drill that does not drain within max_wait fails, says how many jobs were left, and still returns") {
  auto s = with_traffic(50, 1);
  REQUIRE(s.m.drill_start(s.now, 1min).outcome == operator_outcome::done);
  s.m.drill_routed(s.now, 4);
  auto d = s.m.drill_finish(s.now + 1min, 3);
  REQUIRE(d);
  CHECK_FALSE(s.m.drill().passed());
  CHECK(s.m.drill().left_at_candidate == 3);
  CHECK(s.m.status().percent == 50);
  CHECK_FALSE(s.m.rolled_back());
  CHECK(contains(d->reason, "rollback drill failed"));
  CHECK(contains(d->reason, "3 jobs were still at the candidate after 60000.000 ms"));
  const auto* drained = item(*d, "candidate_drained");
  REQUIRE(drained != nullptr);
  CHECK(drained->verdict == "fail");
  CHECK(drained->samples == 3);

  // the router never confirmed: failed as well
  REQUIRE(s.m.drill_start(s.now, 1min).outcome == operator_outcome::done);
  REQUIRE(s.m.drill_finish(s.now + 1min, -1));
  CHECK_FALSE(s.m.drill().routed);
  CHECK_FALSE(s.m.drill().passed());
  CHECK_FALSE(s.m.drill_finish(s.now, 0)); // no drill under way: nothing to finish
}

TEST_CASE("a drill is refused where it makes no sense: rolled back, kill switch, nobody on the candidate") {
  SECTION("rolled back") {
    auto s = with_traffic(10, 1);
    REQUIRE(s.act("rollback").outcome == operator_outcome::done);
    auto r = s.m.drill_start(s.now);
    CHECK(r.outcome == operator_outcome::refused);
    CHECK(contains(r.message, "already rolled back"));
    CHECK_FALSE(r.decision);
  }
  SECTION("rolling back step by step") {
    driver s{make_config(50, 1min, on_trigger_action::gradual)};
    s.cand.error = error_class::auth;
    s.cand.errors_left = 1000;
    s.traffic(200, 1min, 10min);
    REQUIRE(s.m.status().state == rollout_phase_state::rolling_back);
    CHECK(contains(s.m.drill_start(s.now).message, "a gradual rollback is under way"));
  }
  SECTION("the kill switch") {
    auto c = std::make_shared<config>(*make_config(50));
    c->rollout.enabled = false;
    driver s{c};
    auto r = s.m.drill_start(s.now);
    CHECK(r.outcome == operator_outcome::refused);
    CHECK(contains(r.message, "kill switch"));
  }
  SECTION("0 % and no override to the candidate; an override to it makes a drill possible") {
    auto c = std::make_shared<config>(*make_config(0));
    driver s{c};
    CHECK(contains(s.m.drill_start(s.now).message, "no user reaches the candidate at 0 %"));
    c->rollout.segment_overrides["internal"] = override_target::candidate;
    driver with_override{c};
    CHECK(with_override.m.drill_start(with_override.now).outcome == operator_outcome::done);
  }
  SECTION("a max_wait out of bounds") {
    auto s = with_traffic(10, 1);
    CHECK(s.m.drill_start(s.now, 500ms).outcome == operator_outcome::bad_request);
    CHECK(s.m.drill_start(s.now, 2h).outcome == operator_outcome::bad_request);
    CHECK_FALSE(s.m.drilling());
  }
}

TEST_CASE("a drill without max_wait waits as long as a rollback is designed to take") {
  auto c = std::make_shared<config>(*make_config(50));
  provider_config cand;
  cand.name = "cand";
  cand.timeout = 20s;
  cand.retry.max_attempts = 2;
  cand.retry.max_backoff = 5s;
  c->providers.push_back(cand);
  driver s{c};
  REQUIRE(s.m.drill_start(s.now).outcome == operator_outcome::done);
  CHECK(s.m.drill().max_wait == c->rollback.cancel_in_flight_after + retry_deadline(cand));
  CHECK(s.m.drill_deadline() == s.now + s.m.drill().max_wait);
}

TEST_CASE("a completed or held rollout comes back completed or held after a drill") {
  for (const char* action : {"hold", "promote-to-end"}) {
    auto s = with_traffic(50, 1);
    if (std::string{action} == "hold") {
      REQUIRE(s.act("hold").outcome == operator_outcome::done);
    } else {
      REQUIRE(s.act("promote").outcome == operator_outcome::done);
      s.advance(1min);
      REQUIRE(s.m.status().state == rollout_phase_state::completed);
    }
    const auto before = s.m.status();
    REQUIRE(s.m.drill_start(s.now).outcome == operator_outcome::done);
    s.m.drill_routed(s.now, 0);
    REQUIRE(s.m.drill_finish(s.now + 1s, 0));
    CHECK(s.m.status().state == before.state);
    CHECK(s.m.status().percent == before.percent);
    CHECK(s.m.status().since == before.since);
  }
}
