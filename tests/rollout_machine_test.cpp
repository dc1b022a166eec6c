// The rollout's phase/state machine on its own (core::rollout_machine): days of virtual time in microseconds.
// A small driver stands in for the router and the providers: each job of a user goes to the candidate iff the
// user's sticky bucket is within the live percent (and the rollout is not rolled back), and its outcome is fed
// back after the scripted latency. The stories that need the actor tree (restarts, routing) are in rollout_test.

#include "core/bucket.hpp"
#include "core/rollout_machine.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace cutover;
using namespace cutover::core;
using namespace std::chrono_literals;

namespace {

/// The stories' rollout: phases 10 (3 days, 500 samples), 50 (7 days, 2000, no breaker trip), 100.
config_ptr make_config(int percent, duration tick = 1min, on_trigger_action on_trigger = on_trigger_action::immediate,
                       bool with_phases = true) {
  auto c = std::make_shared<config>();
  c->hash = "h" + std::to_string(percent) + (with_phases ? "p" : "n");
  auto& r = c->rollout;
  r.name = "story";
  r.baseline = "base";
  r.candidate = "cand";
  r.percent = percent;
  r.tick = tick;
  r.on_trigger = on_trigger;
  r.gradual_dwell = 10min;
  if (with_phases) {
    phase_config p10;
    p10.percent = 10;
    p10.min_duration = 3 * 24h;
    p10.min_samples = 500;
    p10.gates.cost_per_image_max = 50'000;
    p10.gates.p95_max = 60s;
    p10.gates.failure_rate_max = 50'000;
    p10.gates.quality_parity_min = 0.9;
    auto p50 = p10;
    p50.percent = 50;
    p50.min_duration = 7 * 24h;
    p50.min_samples = 2000;
    p50.gates.breaker_trips_max = 0;
    phase_config p100;
    p100.percent = 100;
    r.phases = {p10, p50, p100};
  }
  r.triggers.error_rate = rate_trigger{500'000, 5min, 20};
  r.triggers.p95_vs_baseline = factor_trigger{3, 10min};
  r.triggers.auth_failures = count_trigger{10, 5min};
  r.triggers.silence = 2min;
  return c;
}

/// A scripted provider: answers after `latency` (plus the 1 s batch window), with `error` for the next
/// `errors_left` jobs, or never when `silent`.
struct scripted {
  duration latency = 1s;
  error_class error = error_class::none;
  int errors_left = 0;
  bool silent = false;
  double quality = 0.9;
  micros cost = 0;
};

struct driver {
  config_ptr cfg;
  instant t0{std::chrono::hours(24 * 20000)};
  instant now = t0;
  rollout_machine m;
  scripted cand{2s, error_class::none, 0, false, 0.93, 30'000};
  scripted base{1s, error_class::none, 0, false, 0.9, 40'000};
  std::multimap<instant, observation> pending; ///< outcomes not yet answered, by when they are
  std::vector<decision_record> log;
  int users = 0;

  explicit driver(config_ptr c) : cfg(c), m(std::move(c), t0) {}

  /// Time passes tick by tick; outcomes due by a tick are fed before it.
  void advance(duration d) {
    const auto end = now + d;
    const auto tick = m.cfg().rollout.tick;
    while (now + tick <= end) {
      now += tick;
      for (auto it = pending.begin(); it != pending.end() && it->first <= now; it = pending.erase(it))
        m.observe(it->second);
      if (auto dec = m.tick(now))
        log.push_back(std::move(*dec));
    }
  }
  /// One job of `user`, routed now by the live view.
  void submit(const std::string& user) {
    const auto& s = m.status();
    const bool on = !m.rolled_back() && in_rollout(sticky_bucket("story", user), s.percent);
    auto& p = on ? cand : base;
    m.dispatched(on ? cohort::candidate : cohort::baseline, now, 1);
    if (p.silent)
      return;
    observation o;
    o.at = now + 1s + p.latency;
    o.provider = on ? "cand" : "base";
    o.who = on ? cohort::candidate : cohort::baseline;
    o.latency = p.latency;
    if (p.errors_left > 0) {
      --p.errors_left;
      o.error = p.error;
    } else {
      o.cost = p.cost;
      o.images = 1;
      o.quality = p.quality;
    }
    pending.emplace(o.at, o);
  }
  /// `jobs` new users' jobs now, then `every` of virtual time; repeated until `total` has passed.
  void traffic(int jobs, duration every, duration total) {
    for (duration t{0}; t < total; t += every) {
      for (int i = 0; i < jobs; ++i)
        submit("user-" + std::to_string(users++));
      advance(every);
    }
  }
  std::vector<decision_record> decisions(const std::string& action) const {
    std::vector<decision_record> out;
    for (const auto& d : log)
      if (d.action == action)
        out.push_back(d);
    return out;
  }
  operator_result act(const std::string& action) {
    auto r = m.act(action, now);
    if (r.decision)
      log.push_back(*r.decision);
    return r;
  }
  duration since_start(instant t) const { return t - t0; }
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const decision_item* item(const decision_record& d, const std::string& name) {
  for (const auto& i : d.items)
    if (i.name == name)
      return &i;
  return nullptr;
}

} // namespace

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

// --- a verification phase at 0 % (issue 13 item 7)

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

// --- repeated breaker trips (issue 13 item 12)

TEST_CASE("more than N trips of the candidate's breaker within the window roll back; N or older ones do not") {
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

// --- stepping down by hand (issue 13 item 11)

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
