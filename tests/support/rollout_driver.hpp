#pragma once
/// A small driver of core::rollout_machine for tests: it stands in for the router and the providers. Each job of a
/// user goes to the candidate iff the user's sticky bucket is within the live percent (and the rollout is not rolled
/// back); its outcome is fed back after the scripted latency, before the tick that follows it. Virtual time only.

#include "core/bucket.hpp"
#include "core/rollout_machine.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cutover::testing {

using namespace cutover::core;
using namespace std::chrono_literals;


/// The stories' rollout: phases 10 (3 days, 500 samples), 50 (7 days, 2000, no breaker trip), 100.
inline config_ptr make_config(int percent, duration tick = 1min, on_trigger_action on_trigger = on_trigger_action::immediate,
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

/// A scripted provider: answers after `latency` (plus its batch window, 1 s unless set), with `error` for the next
/// `errors_left` jobs, or never when `silent`.
struct scripted {
  duration latency = 1s;
  error_class error = error_class::none;
  int errors_left = 0;
  bool silent = false;
  double quality = 0.9;
  micros cost = 0;
  duration window = 1s; ///< the batch window before the call: users wait it, the provider call does not show it
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
    o.at = now + p.window + p.latency;
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
      o.user_wait = o.at - now; // the job was created now and is final with this answer
      o.route = o.who;
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

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

inline const decision_item* item(const decision_record& d, const std::string& name) {
  for (const auto& i : d.items)
    if (i.name == name)
      return &i;
  return nullptr;
}


} // namespace cutover::testing
