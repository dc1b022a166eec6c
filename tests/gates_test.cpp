/// Promotion gates: three-valued verdicts at their exact thresholds, with the figures in the reasons.
#include "core/gates.hpp"

#include <catch2/catch.hpp>

using namespace cutover::core;
using namespace std::chrono_literals;

namespace {
/// The seed's second phase: 50 %, 7 days, 2000 samples, every gate.
phase_config seed_phase() {
  phase_config p;
  p.percent = 50;
  p.min_duration = 7 * 24h;
  p.min_samples = 2000;
  p.gates.cost_per_image_max = 50'000;
  p.gates.p95_max = 60s;
  p.gates.failure_rate_max = 50'000;
  p.gates.quality_parity_min = 0.9;
  p.gates.breaker_trips_max = 0;
  return p;
}

/// A candidate that passes every seed gate with room: 2500 samples, 2 % failures, p95 41.2 s, 0.039 per image.
cohort_stats good_candidate() {
  cohort_stats c;
  c.samples = 2500;
  c.failures = 50;
  c.failure_rate = 20'000;
  c.p95 = 41'200ms;
  c.latency_samples = 2450;
  c.images = 2450;
  c.cost = 39'000 * c.images;
  c.cost_per_image = 39'000;
  c.quality_mean = 0.9;
  c.quality_samples = 300;
  return c;
}

cohort_stats baseline() {
  cohort_stats b;
  b.samples = 20000;
  b.p95 = 12s;
  b.latency_samples = 20000;
  b.images = 20000;
  b.cost = 30'000 * b.images;
  b.cost_per_image = 30'000;
  b.quality_mean = 0.95;
  b.quality_samples = 2000;
  return b;
}

const duration in_phase = 8 * 24h;

const evaluation& find(const std::vector<evaluation>& all, const std::string& name) {
  for (const auto& e : all)
    if (e.name == name)
      return e;
  FAIL("no evaluation named " << name);
  return all.front();
}

verdict gate(const std::string& name, const phase_config& p, const cohort_stats& c, const cohort_stats& b,
             duration d = in_phase) {
  return find(evaluate_gates(p, c, b, d), name).v;
}
} // namespace

TEST_CASE("verdicts have stable names") {
  CHECK(to_string(verdict::pass) == "pass");
  CHECK(to_string(verdict::fail) == "fail");
  CHECK(to_string(verdict::insufficient) == "insufficient data");
}

TEST_CASE("a candidate within every seed gate passes them all with their figures") {
  const auto all = evaluate_gates(seed_phase(), good_candidate(), baseline(), in_phase);
  REQUIRE(all.size() == 7); // min_samples, min_duration and five gates
  CHECK(all_pass(all));
  const auto& p95 = find(all, "p95_max");
  CHECK(p95.observed == Approx(41.2));
  CHECK(p95.baseline == Approx(12.0));
  CHECK(p95.threshold == Approx(60.0));
  CHECK(p95.samples == 2500);
  CHECK(p95.window == in_phase);
  CHECK(p95.reason == "p95 41.2s <= 60s over 8d, 2500 samples");
  CHECK(find(all, "failure_rate_max").reason == "failure rate 2% (50 of 2500) <= 5% over 8d");
}

TEST_CASE("cost per image gate passes at its maximum and fails one micro-dollar above") {
  auto c = good_candidate();
  c.images = 100;
  c.cost = 50'000 * 100; // exactly 0.05 per image
  CHECK(gate("cost_per_image_max", seed_phase(), c, baseline()) == verdict::pass);
  c.cost = 50'001 * 100; // 0.050001 per image
  c.cost_per_image = 50'001;
  const auto e = find(evaluate_gates(seed_phase(), c, baseline(), in_phase), "cost_per_image_max");
  CHECK(e.v == verdict::fail);
  CHECK(e.observed == Approx(0.050001));
  CHECK(e.threshold == Approx(0.05));
  CHECK(e.reason.find("0.050001 USD > 0.050000 USD") != std::string::npos);
}

TEST_CASE("p95 gate passes at its maximum and fails one microsecond above") {
  auto c = good_candidate();
  c.p95 = 60s;
  CHECK(gate("p95_max", seed_phase(), c, baseline()) == verdict::pass);
  c.p95 = 60s + 1us;
  CHECK(gate("p95_max", seed_phase(), c, baseline()) == verdict::fail);
}

TEST_CASE("failure rate gate passes at five percent and fails above it") {
  auto c = good_candidate();
  c.samples = 2000;
  c.failures = 100; // exactly 5 %
  CHECK(gate("failure_rate_max", seed_phase(), c, baseline()) == verdict::pass);
  c.failures = 101;
  CHECK(gate("failure_rate_max", seed_phase(), c, baseline()) == verdict::fail);
}

TEST_CASE("quality parity gate compares the candidate mean to the baseline mean") {
  auto c = good_candidate();
  auto b = baseline();
  b.quality_mean = 1.0;
  c.quality_mean = 0.9; // parity exactly 0.9
  CHECK(gate("quality_parity_min", seed_phase(), c, b) == verdict::pass);
  c.quality_mean = 0.89;
  const auto e = find(evaluate_gates(seed_phase(), c, b, in_phase), "quality_parity_min");
  CHECK(e.v == verdict::fail);
  CHECK(e.observed == Approx(0.89));
  CHECK(e.baseline == Approx(1.0));
}

TEST_CASE("quality parity is insufficient data without baseline quality") {
  auto b = baseline();
  b.quality_samples = 0;
  b.quality_mean = 0;
  const auto e = find(evaluate_gates(seed_phase(), good_candidate(), b, in_phase), "quality_parity_min");
  CHECK(e.v == verdict::insufficient);
  CHECK(e.reason == "insufficient data: no baseline quality ratings yet");
  auto c = good_candidate();
  c.quality_samples = 0;
  CHECK(gate("quality_parity_min", seed_phase(), c, baseline()) == verdict::insufficient);
}

TEST_CASE("breaker trips max zero fails with one trip") {
  auto c = good_candidate();
  CHECK(gate("breaker_trips_max", seed_phase(), c, baseline()) == verdict::pass);
  c.breaker_trips = 1;
  const auto all = evaluate_gates(seed_phase(), c, baseline(), in_phase);
  CHECK(find(all, "breaker_trips_max").v == verdict::fail);
  CHECK(find(all, "breaker_trips_max").reason == "breaker trips 1 > 0 over 8d");
  CHECK_FALSE(all_pass(all));
}

TEST_CASE("every gate is insufficient data while min_samples is not met") {
  auto c = good_candidate();
  c.samples = 1999;
  const auto all = evaluate_gates(seed_phase(), c, baseline(), in_phase);
  for (const auto& e : all) {
    INFO(e.name << ": " << e.reason);
    if (e.name == "min_duration") {
      CHECK(e.v == verdict::pass);
      continue;
    }
    CHECK(e.v == verdict::insufficient);
    CHECK(e.reason.rfind("insufficient data: 1999 of 2000 candidate samples", 0) == 0);
  }
  CHECK_FALSE(all_pass(all));
}

TEST_CASE("every gate is insufficient data while min_duration is not met even when it would fail") {
  auto c = good_candidate();
  c.p95 = 90s;
  const auto all = evaluate_gates(seed_phase(), c, baseline(), 6 * 24h);
  CHECK(find(all, "min_samples").v == verdict::pass);
  CHECK(find(all, "min_duration").v == verdict::insufficient);
  const auto& p95 = find(all, "p95_max");
  CHECK(p95.v == verdict::insufficient);
  CHECK(p95.reason == "insufficient data: 6d of 7d in phase (p95 90s > 60s over 6d, 2500 samples)");
  CHECK_FALSE(all_pass(all));
}

TEST_CASE("a gate without its own figure is insufficient data") {
  auto c = good_candidate();
  c.images = 0;
  c.cost = 0;
  c.latency_samples = 0;
  CHECK(gate("cost_per_image_max", seed_phase(), c, baseline()) == verdict::insufficient);
  CHECK(gate("p95_max", seed_phase(), c, baseline()) == verdict::insufficient);
}

TEST_CASE("only configured gates are evaluated") {
  phase_config p;
  p.percent = 10;
  p.gates.p95_max = 60s;
  const auto all = evaluate_gates(p, good_candidate(), baseline(), 1h);
  REQUIRE(all.size() == 1);
  CHECK(all[0].name == "p95_max");
}

TEST_CASE("all_pass needs every gate to pass and a phase asking nothing passes") {
  CHECK(all_pass({}));
  phase_config last;
  last.percent = 100;
  CHECK(evaluate_gates(last, cohort_stats{}, cohort_stats{}, 0s).empty());
  evaluation pass_e, insufficient_e;
  insufficient_e.v = verdict::insufficient;
  CHECK(all_pass({pass_e, pass_e}));
  CHECK_FALSE(all_pass({pass_e, insufficient_e}));
}

TEST_CASE("explanations write durations percentages and money as the reasons show them") {
  CHECK(explain::span(3 * 24h) == "3d");
  CHECK(explain::span(26h) == "1d2h");
  CHECK(explain::span(90s) == "1m30s");
  CHECK(explain::span(500ms) == "500ms");
  CHECK(explain::seconds(41'200ms) == "41.2s");
  CHECK(explain::percent(0.05) == "5%");
  CHECK(explain::percent(0.0425) == "4.25%");
  CHECK(explain::usd(50'000) == "0.050000 USD");
}
