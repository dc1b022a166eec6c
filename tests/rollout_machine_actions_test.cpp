// The rollout's phase/state machine on its own (core::rollout_machine): operator actions, stepping the percent
// down by hand, a verification phase at 0 %, and the breaker_trips trigger, in virtual time.

#include "support/rollout_driver.hpp"

#include <catch2/catch.hpp>

using namespace cutover::testing;

TEST_CASE("operator actions refuse what is not allowed now and say why") {
  driver s{make_config(0)};
  CHECK(s.act("hold").outcome == operator_outcome::done);
  auto again = s.act("hold");
  CHECK(again.outcome == operator_outcome::refused);
  CHECK(contains(again.message, "only a running rollout can be held (it is holding)"));
  CHECK_FALSE(again.decision);
  CHECK(s.act("rollback").outcome == operator_outcome::done);
  CHECK(s.act("rollback").outcome == operator_outcome::refused);
  CHECK(s.act("promote").message == "rolled back: resume first");
  CHECK(s.act("nonsense").outcome == operator_outcome::unknown);
  CHECK(s.act("resume").outcome == operator_outcome::done);
  CHECK(s.act("resume").outcome == operator_outcome::refused);
  CHECK(s.act("promote").outcome == operator_outcome::done); // -1 -> phase 0 (10 %)
  CHECK(s.act("promote").outcome == operator_outcome::done);
  CHECK(s.act("promote").outcome == operator_outcome::done);
  CHECK(s.m.status().percent == 100);
  CHECK(s.act("promote").message == "already at the last phase");
  const auto ops = s.decisions("operator_promote");
  REQUIRE(ops.size() == 3);
  CHECK(ops[2].reason == "promoted by an operator: 50% -> 100%");
}

// --- a verification phase at 0 %

namespace {
/// The stories' rollout with a first phase at 0 % for a day (min_duration only).
config_ptr with_verification(int percent, on_trigger_action on_trigger = on_trigger_action::immediate) {
  auto c = std::make_shared<config>(*make_config(percent, 1min, on_trigger));
  phase_config verify;
  verify.percent = 0;
  verify.min_duration = 24h;
  c->rollout.phases.insert(c->rollout.phases.begin(), verify);
  c->hash = "verify";
  return c;
}
} // namespace

TEST_CASE("a rollout at 0 % starts in its verification phase and leaves it only after its min_duration") {
  driver s{with_verification(0)};
  CHECK(s.m.status().phase == 0);
  CHECK(s.m.status().percent == 0);
  CHECK_FALSE(s.m.rolled_back());
  s.traffic(40, 30min, 24h - 30min); // no user is on the candidate at 0 %: nothing to judge, only time
  CHECK(s.decisions("promote").empty());
  CHECK(s.m.status().percent == 0);
  auto holds = s.decisions("hold");
  REQUIRE_FALSE(holds.empty());
  CHECK(contains(holds.back().reason, "insufficient data"));
  s.advance(31min);
  auto promotes = s.decisions("promote");
  REQUIRE(promotes.size() == 1);
  CHECK(promotes[0].percent == 10);
  CHECK(promotes[0].at - s.t0 >= 24h);
  CHECK(promotes[0].at - s.t0 <= 24h + 1min); // within one tick of its min_duration
  const auto* d = item(promotes[0], "min_duration");
  REQUIRE(d != nullptr);
  CHECK(d->verdict == "pass");
}

TEST_CASE("a rollback from the first phase above 0 % ends rolled back, not in the verification phase") {
  for (auto on_trigger : {on_trigger_action::immediate, on_trigger_action::gradual}) {
    driver s{with_verification(10, on_trigger)};
    REQUIRE(s.m.status().phase == 1);
    s.cand.error = error_class::auth;
    s.cand.errors_left = 1000;
    s.traffic(200, 1min, 10min);
    auto rollbacks = s.decisions("rollback");
    REQUIRE(rollbacks.size() == 1);
    CHECK(rollbacks[0].percent == 0);
    CHECK(rollbacks[0].phase == -1);
    CHECK(rollbacks[0].state == "rolled_back");
    CHECK(s.m.rolled_back());
  }
}

TEST_CASE("a gradual rollback steps over the verification phase: 50, 10, then rolled back") {
  driver s{with_verification(100, on_trigger_action::gradual)};
  s.cand.error = error_class::auth;
  s.cand.errors_left = 100000;
  s.traffic(20, 1min, 40min);
  auto rollbacks = s.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  CHECK(rollbacks[0].percent == 50);
  auto steps = s.decisions("step_down");
  REQUIRE(steps.size() == 2);
  CHECK(steps[0].percent == 10);
  CHECK(steps[1].percent == 0);
  CHECK(steps[1].phase == -1);
  CHECK(steps[1].state == "rolled_back");
  CHECK(s.m.rolled_back());
}

TEST_CASE("a reload while rolled back keeps the rollout before its verification phase") {
  driver s{with_verification(10)};
  REQUIRE(s.act("rollback").outcome == operator_outcome::done);
  s.m.reload(with_verification(0), s.now);
  CHECK(s.m.status().phase == -1);
  CHECK(s.m.rolled_back());
}

// --- repeated breaker trips

TEST_CASE("more than N trips of the candidate's breaker within the window roll back, and N or older ones do not") {
  auto cfg = std::make_shared<config>(*make_config(50, 10s));
  cfg->rollout.triggers.breaker_trips = count_trigger{2, 30min};
  driver two{cfg};
  two.m.breaker_trip(cohort::candidate, two.now);
  two.m.breaker_trip(cohort::candidate, two.now + 5min);
  two.m.breaker_trip(cohort::baseline, two.now + 6min); // the baseline's trips are not the candidate's
  two.advance(20min);
  CHECK(two.decisions("rollback").empty());

  driver late{cfg};
  late.m.breaker_trip(cohort::candidate, late.now);
  late.m.breaker_trip(cohort::candidate, late.now + 5min);
  late.advance(40min);
  late.m.breaker_trip(cohort::candidate, late.now); // the first is 40 min old: 2 within 30 min
  late.advance(1min);
  CHECK(late.decisions("rollback").empty());

  driver three{cfg};
  three.m.breaker_trip(cohort::candidate, three.now);
  three.m.breaker_trip(cohort::candidate, three.now + 5min);
  three.advance(10min);
  REQUIRE(three.decisions("rollback").empty());
  three.m.breaker_trip(cohort::candidate, three.now);
  three.advance(10s);
  auto rollbacks = three.decisions("rollback");
  REQUIRE(rollbacks.size() == 1);
  CHECK(rollbacks[0].at == three.now); // at the first tick after the third trip
  const auto* t = item(rollbacks[0], "breaker_trips");
  REQUIRE(t != nullptr);
  CHECK(t->verdict == "fired");
  CHECK(t->observed == 3);
  CHECK(t->threshold == 2);
  CHECK(t->reason == "candidate breaker trips 3 > 2 over 30m");
}

// --- stepping down by hand

TEST_CASE("an operator steps the live percent down to a lower phase's percent and the rollout holds there") {
  driver s{make_config(100)};
  s.advance(1min);
  REQUIRE(s.m.status().state == rollout_phase_state::completed);
  s.advance(1h);
  auto r = s.m.step_down(50, s.now);
  REQUIRE(r.outcome == operator_outcome::done);
  REQUIRE(r.decision);
  CHECK(r.decision->action == "step_down");
  CHECK(r.decision->reason == "stepped down by an operator: 100% -> 50%; holding");
  CHECK(r.decision->percent == 50);
  CHECK(r.decision->state == "holding");
  CHECK(s.m.status().percent == 50);
  CHECK(s.m.status().phase == 1);
  CHECK(s.m.status().since == s.now);
  CHECK(s.m.status().state == rollout_phase_state::holding);
  s.log.clear();
  s.traffic(40, 30min, 8 * 24h); // the 50 % phase's gates pass, but the rollout holds
  CHECK(s.decisions("promote").empty());
  CHECK(s.m.status().percent == 50);
  CHECK(s.m.step_down(10, s.now).outcome == operator_outcome::done); // 50 -> 10
  CHECK(s.m.status().percent == 10);
  CHECK(s.act("resume").outcome == operator_outcome::done); // the gates may promote again
  s.traffic(40, 30min, 3 * 24h + 2h);
  CHECK(s.decisions("promote").size() == 1);
  CHECK(s.m.status().percent == 50);
}

TEST_CASE("stepping down to the live percent changes nothing, to 0 rolls back, and raising or a stranger is refused") {
  driver s{make_config(50)};
  auto same = s.m.step_down(50, s.now);
  CHECK(same.outcome == operator_outcome::no_change);
  CHECK_FALSE(same.decision);
  CHECK(s.m.status().state == rollout_phase_state::running);

  auto stranger = s.m.step_down(30, s.now);
  CHECK(stranger.outcome == operator_outcome::bad_request);
  CHECK(stranger.message == "no phase has 30% (the phases: 10, 50, 100; 0 rolls back)");
  CHECK(s.m.step_down(101, s.now).outcome == operator_outcome::bad_request);
  CHECK(s.m.step_down(-1, s.now).outcome == operator_outcome::bad_request);

  auto up = s.m.step_down(100, s.now);
  CHECK(up.outcome == operator_outcome::refused);
  CHECK(contains(up.message, "cannot raise the live percent (50% -> 100%)"));
  CHECK(s.m.status().percent == 50);

  auto zero = s.m.step_down(0, s.now);
  REQUIRE(zero.outcome == operator_outcome::done);
  REQUIRE(zero.decision);
  CHECK(zero.decision->action == "operator_rollback");
  CHECK(s.m.rolled_back());
  CHECK(s.m.status().percent == 0);
  CHECK(s.m.step_down(0, s.now).outcome == operator_outcome::no_change);
  CHECK(s.m.step_down(10, s.now).outcome == operator_outcome::refused); // resume, then the gates
}

// --- what an operator sees (the console and GET /v1/rollout)

namespace {
const action_check& check_of(const rollout_figures& f, const std::string& action) {
  for (const auto& a : f.actions)
    if (a.action == action)
      return a;
  FAIL("no action " << action);
  throw 0;
}
} // namespace

TEST_CASE("the figures say which operator action would be refused, with the sentence act() refuses it with") {
  driver s{make_config(10)};
  for (const auto& step : {"hold", "rollback", "resume", "promote", "promote"}) {
    const auto f = s.m.figures(s.now);
    REQUIRE(f.actions.size() == 4);
    for (const char* a : {"hold", "resume", "promote", "rollback"}) {
      const auto& c = check_of(f, a);
      driver copy = s; // act on a copy: the figures must predict what act() does
      const auto r = copy.act(a);
      CHECK(c.refusal.empty() == (r.outcome == operator_outcome::done));
      if (!c.refusal.empty())
        CHECK(c.refusal == r.message);
    }
    s.act(step);
  }
  CHECK(s.m.status().percent == 50);
  CHECK(s.m.figures(s.now).step_down_to == std::vector<int>{10});
  s.act("promote");
  CHECK(s.m.figures(s.now).step_down_to == std::vector<int>{50, 10});
  CHECK(check_of(s.m.figures(s.now), "promote").refusal == "already at the last phase");
}

TEST_CASE("the figures judge the current phase's gates now, and the triggers as the last tick judged them") {
  driver s{make_config(10)};
  s.traffic(20, 1min, 30min);
  const auto f = s.m.figures(s.now);
  REQUIRE(f.phases.size() == 3);
  CHECK(f.phases[0].percent == 10);
  CHECK(f.phases[0].min_duration == 3 * 24h);
  CHECK(f.phases[0].min_samples == 500);
  REQUIRE_FALSE(f.gates.empty());
  const decision_item* duration_gate = nullptr;
  for (const auto& g : f.gates)
    if (g.name == "min_duration")
      duration_gate = &g;
  REQUIRE(duration_gate);
  CHECK(duration_gate->verdict == "insufficient data");
  CHECK(duration_gate->threshold == Approx(3 * 86400.0));
  CHECK(duration_gate->observed == Approx(30 * 60.0)); // in the phase since t0, judged at now
  CHECK(contains(duration_gate->reason, "insufficient data"));
  REQUIRE_FALSE(f.triggers.empty());
  CHECK(f.triggers_at == s.now); // the last tick
  CHECK(f.candidate.samples > 0);
  CHECK(f.baseline.samples > 0);
  CHECK(f.candidate.samples + f.baseline.samples == s.m.phase_stats().stats(cohort::candidate).samples +
                                                      s.m.phase_stats().stats(cohort::baseline).samples);
  // a read moves nothing: the next tick decides as it would have without it
  driver twin = s;
  (void)s.m.figures(s.now + 30s);
  s.traffic(20, 1min, 20min);
  twin.traffic(20, 1min, 20min);
  CHECK(s.log.size() == twin.log.size());
}
