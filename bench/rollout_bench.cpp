/// cutover-rollout-bench: what one controller tick costs with 3 providers x 3 tiers of live figures (an hour of
/// outcomes in the rolling window, a phase's worth in the cumulative figures), and routing decisions per second.
///   cutover-rollout-bench [--per-second N] [--ticks N] [--routes N]

#include "core/gates.hpp"
#include "core/rollout_machine.hpp"
#include "core/routing.hpp"
#include "core/triggers.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

using namespace cutover::core;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  long per_second = 100, ticks = 10000, routes = 5'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--per-second"))
      per_second = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--ticks"))
      ticks = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--routes"))
      routes = std::atol(argv[i + 1]);
  }
  // 3 providers (candidate, baseline, a fallback) x 3 tiers, an hour of outcomes
  const std::string providers[] = {"gemini", "photomaker", "sdxl"};
  const cohort cohorts[] = {cohort::candidate, cohort::baseline, cohort::other};
  metric_window window;
  cumulative_stats phase;
  std::mt19937_64 rng{7};
  std::lognormal_distribution<double> latency{std::log(8.0), 0.55};
  const instant start{std::chrono::hours(24 * 20000)};
  long added = 0;
  for (long s = 0; s < 3600; ++s)
    for (long k = 0; k < per_second; ++k, ++added) {
      const auto p = static_cast<std::size_t>(rng() % 3);
      observation o;
      o.at = start + std::chrono::seconds(s);
      o.provider = providers[p];
      o.tier_ = static_cast<tier>(rng() % 3);
      o.who = cohorts[p];
      o.error = rng() % 100 == 0 ? error_class::server : error_class::none;
      o.latency = std::chrono::duration_cast<duration>(std::chrono::duration<double>(latency(rng)));
      o.cost = 30'000;
      o.images = 1;
      o.quality = 0.9;
      window.add(o);
      phase.add(o);
    }
  config cfg;
  phase_config ph;
  ph.percent = 50;
  ph.min_duration = 7 * 24h;
  ph.min_samples = 2000;
  ph.gates.cost_per_image_max = 50'000;
  ph.gates.p95_max = 60s;
  ph.gates.failure_rate_max = 50'000;
  ph.gates.quality_parity_min = 0.9;
  ph.gates.breaker_trips_max = 0;
  triggers_config tc;
  tc.error_rate = rate_trigger{50'000, 5min, 20};
  tc.p95_vs_baseline = factor_trigger{3, 10min};
  tc.p99_vs_baseline = factor_trigger{5, 1min};
  tc.cost_over_budget = 500'000;
  tc.auth_failures = count_trigger{10, 5min};
  tc.content_policy_rate = rate_trigger{50'000, 10min, 20};
  tc.quota_exhausted = true;
  tc.silence = 2min;
  trigger_evaluator triggers;
  const auto now = start + std::chrono::seconds(3600);
  std::size_t sink = 0;
  auto t0 = clock_type::now();
  for (long i = 0; i < ticks; ++i) {
    trigger_context ctx;
    ctx.traffic_expected = true;
    ctx.cost_reference = 50'000;
    auto fired = triggers.evaluate(tc, window, ctx, now + std::chrono::seconds(i % 10));
    auto gates = evaluate_gates(ph, phase.stats(cohort::candidate), phase.stats(cohort::baseline), 8 * 24h);
    sink += fired.size() + gates.size() + all_pass(gates);
  }
  const double tick_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("rollout tick window_observations=%ld (3 providers x 3 tiers, 1 h) ticks=%ld us_per_tick=%.1f\n", added,
              ticks, tick_s / static_cast<double>(ticks) * 1e6);

  // the same figures in a rollout_machine, ticked once a second while its phase holds (min_duration not met):
  // the quiet tick that simulate repeats about 1.2 million times over 14 days
  {
    auto cfg = std::make_shared<config>();
    cfg->rollout.name = "gemini-imagen3";
    cfg->rollout.baseline = "photomaker";
    cfg->rollout.candidate = "gemini";
    cfg->rollout.percent = 50;
    phase_config first = ph;
    first.percent = 10;
    phase_config last;
    last.percent = 100;
    cfg->rollout.phases = {first, ph, last};
    cfg->rollout.triggers = tc;
    rollout_machine m{cfg, start};
    std::mt19937_64 rng2{7};
    for (long s = 0; s < 3600; ++s) {
      m.dispatched(cohort::candidate, start + std::chrono::seconds(s), per_second / 3);
      for (long k = 0; k < per_second; ++k) {
        const auto p = static_cast<std::size_t>(rng2() % 3);
        observation o;
        o.at = start + std::chrono::seconds(s);
        o.provider = providers[p];
        o.tier_ = static_cast<tier>(rng2() % 3);
        o.who = cohorts[p];
        o.error = rng2() % 100 == 0 ? error_class::server : error_class::none;
        o.latency = std::chrono::duration_cast<duration>(std::chrono::duration<double>(latency(rng2)));
        o.cost = 30'000;
        o.images = 1;
        o.quality = 0.9;
        m.observe(o);
      }
    }
    long decisions = 0;
    auto m0 = clock_type::now();
    for (long i = 0; i < ticks; ++i)
      decisions += m.tick(now + std::chrono::seconds(i % 10)).has_value(); // as the evaluation above
    const double machine_s = std::chrono::duration<double>(clock_type::now() - m0).count();
    std::printf("rollout_machine quiet tick (phase holds) ticks=%ld decisions_written=%ld us_per_tick=%.1f\n", ticks,
                decisions, machine_s / static_cast<double>(ticks) * 1e6);
  }

  rollout_config r;
  r.name = "gemini-imagen3";
  r.baseline = "photomaker";
  r.candidate = "gemini";
  r.endpoint_overrides["/v1/avatars"] = override_target::baseline;
  r.segment_overrides["enterprise"] = override_target::baseline;
  std::vector<std::string> users;
  for (int i = 0; i < 10000; ++i)
    users.push_back("user-" + std::to_string(i));
  t0 = clock_type::now();
  for (long i = 0; i < routes; ++i)
    sink += decide_route(r, {false, 50}, {users[static_cast<std::size_t>(i % 10000)], "/v1/jobs", "pro"}).candidate;
  const double route_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("routing decisions=%ld per_s=%.0f ns_each=%.1f (sink %zu)\n", routes, static_cast<double>(routes) / route_s,
              route_s / static_cast<double>(routes) * 1e9, sink);
}
