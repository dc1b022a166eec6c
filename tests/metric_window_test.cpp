/// Latency histograms, metric windows and cumulative stats, in virtual time: every instant is chosen by the test.
#include "core/latency_histogram.hpp"
#include "core/metric_window.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace cutover::core;
using namespace std::chrono_literals;

namespace {
const instant t0{std::chrono::seconds(1767225600)}; // 2026-01-01T00:00:00Z

/// The exact nearest-rank quantile of sorted values.
duration exact_quantile(const std::vector<duration>& sorted, double q) {
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size()) - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::vector<duration> seeded_latencies(std::uint64_t seed, int n) {
  std::mt19937_64 rng{seed};
  std::uniform_real_distribution<double> log_seconds{std::log(0.0005), std::log(600.0)}; // 0.5 ms .. 10 min
  std::vector<duration> out;
  for (int i = 0; i < n; ++i)
    out.push_back(duration{static_cast<std::int64_t>(std::exp(log_seconds(rng)) * 1e6)});
  return out;
}

observation obs(cohort who, instant at, error_class e = error_class::none, duration latency = 10s, micros cost = 0,
                int images = 0, double quality = -1, std::string provider = "") {
  observation o;
  o.at = at;
  o.provider = provider.empty() ? std::string(who == cohort::candidate ? "gemini" : "photomaker") : provider;
  o.who = who;
  o.error = e;
  o.latency = latency;
  o.cost = cost;
  o.images = images;
  o.quality = quality;
  return o;
}
} // namespace

TEST_CASE("histogram quantiles stay within two percent above the exact nearest-rank quantiles of seeded samples") {
  for (std::uint64_t seed : {1u, 7u, 42u}) {
    auto values = seeded_latencies(seed, 5000);
    latency_histogram h;
    for (auto v : values)
      h.add(v);
    std::sort(values.begin(), values.end());
    REQUIRE(h.count() == 5000);
    for (double q : {0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
      const auto exact = exact_quantile(values, q);
      const auto got = h.quantile(q);
      INFO("seed " << seed << " q " << q << " exact " << exact.count() << "us got " << got.count() << "us");
      CHECK(got >= exact);
      if (exact > latency_histogram::floor_bound)
        CHECK(static_cast<double>(got.count()) <=
              static_cast<double>(exact.count()) * (1 + latency_histogram::max_relative_error));
      else
        CHECK(got <= latency_histogram::floor_bound);
    }
  }
}

TEST_CASE("histogram bucket bounds grow by at most two percent up to a day") {
  const auto n = latency_histogram::bucket_count();
  CHECK(n < 1000);
  CHECK(latency_histogram::bucket_upper(0) == 1ms);
  CHECK(latency_histogram::bucket_upper(n - 1) >= 24h);
  for (std::size_t i = 1; i < n; ++i) {
    const auto ratio = static_cast<double>(latency_histogram::bucket_upper(i).count()) /
                       static_cast<double>(latency_histogram::bucket_upper(i - 1).count());
    REQUIRE(ratio > 1.0);
    REQUIRE(ratio <= 1.02);
  }
}

TEST_CASE("histogram merge equals adding every value to one histogram") {
  auto a_values = seeded_latencies(3, 700);
  auto b_values = seeded_latencies(4, 300);
  latency_histogram a, b, all;
  for (auto v : a_values) {
    a.add(v);
    all.add(v);
  }
  for (auto v : b_values) {
    b.add(v);
    all.add(v);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  for (double q : {0.0, 0.1, 0.5, 0.95, 0.99, 1.0})
    CHECK(a.quantile(q) == all.quantile(q));
  latency_histogram empty;
  empty.merge(all);
  CHECK(empty.quantile(0.95) == all.quantile(0.95));
}

TEST_CASE("histogram merge keeps every rank, whether the other's values lie below, among or above ours") {
  using namespace std::chrono;
  auto fill = [](latency_histogram& h, microseconds from, microseconds step, int n) {
    for (int i = 0; i < n; ++i)
      h.add(from + step * i);
  };
  struct shape {
    microseconds from, step;
    int n;
  };
  const std::vector<std::pair<shape, shape>> cases{
      {{20ms, 1ms, 40}, {1ms, 500us, 30}},   // theirs wholly below ours
      {{1ms, 500us, 30}, {20ms, 1ms, 40}},   // wholly above
      {{1ms, 3ms, 50}, {2ms, 7ms, 25}},      // interleaved, some bins shared
      {{5ms, 2ms, 10}, {5ms, 2ms, 10}},      // the same bins
      {{5ms, 2ms, 1}, {1ms, 100ms, 60}},     // one bin against many
  };
  REQUIRE_FALSE(cases.empty());
  for (const auto& [ours, theirs] : cases) {
    latency_histogram a, b, all;
    fill(a, ours.from, ours.step, ours.n);
    fill(all, ours.from, ours.step, ours.n);
    fill(b, theirs.from, theirs.step, theirs.n);
    fill(all, theirs.from, theirs.step, theirs.n);
    a.merge(b);
    REQUIRE(a.count() == all.count());
    for (std::int64_t rank = 1; rank <= all.count(); ++rank) {
      const double q = static_cast<double>(rank) / static_cast<double>(all.count());
      INFO("rank " << rank << " of " << all.count());
      CHECK(a.quantile(q) == all.quantile(q));
    }
  }
}

TEST_CASE("empty histogram answers zero for every quantile") {
  latency_histogram h;
  CHECK(h.count() == 0);
  CHECK(h.quantile(0.0) == 0us);
  CHECK(h.quantile(0.95) == 0us);
  CHECK(h.quantile(1.0) == 0us);
  h.add(5s);
  h.clear();
  CHECK(h.count() == 0);
  CHECK(h.quantile(0.5) == 0us);
}

TEST_CASE("histogram counts negative durations as zero and clamps very large ones to a day") {
  latency_histogram h;
  h.add(-3s);
  CHECK(h.quantile(1.0) == 0us);
  h.add(100 * 24h);
  CHECK(h.count() == 2);
  CHECK(h.quantile(1.0) == 24h);
  CHECK(h.quantile(0.5) <= latency_histogram::floor_bound); // 0 shares bucket 0 with everything up to 1 ms
}

TEST_CASE("histogram of one value answers that value exactly") {
  latency_histogram h;
  h.add(41'234ms);
  CHECK(h.quantile(0.5) == 41'234ms);
  CHECK(h.quantile(0.99) == 41'234ms);
}

TEST_CASE("cohorts have stable names") {
  CHECK(to_string(cohort::candidate) == "candidate");
  CHECK(to_string(cohort::baseline) == "baseline");
  CHECK(to_string(cohort::other) == "other");
}

TEST_CASE("metric window keeps cohorts apart") {
  metric_window w;
  w.add(obs(cohort::candidate, t0, error_class::none, 40s));
  w.add(obs(cohort::candidate, t0, error_class::server, 40s));
  w.add(obs(cohort::baseline, t0, error_class::none, 10s));
  w.add(obs(cohort::other, t0, error_class::timeout, 60s, 0, 0, -1, "sdxl"));
  const auto c = w.stats(cohort::candidate, t0, t0 + 1s);
  const auto b = w.stats(cohort::baseline, t0, t0 + 1s);
  const auto o = w.stats(cohort::other, t0, t0 + 1s);
  CHECK(c.samples == 2);
  CHECK(c.failures == 1);
  CHECK(c.p95 == 40s);
  CHECK(b.samples == 1);
  CHECK(b.failures == 0);
  CHECK(b.p95 == 10s);
  CHECK(o.samples == 1);
  CHECK(o.errors_of(error_class::timeout) == 1);
}

TEST_CASE("failure rate excludes breaker_open budget_exhausted over_limit and cancelled outcomes") {
  metric_window w;
  w.add(obs(cohort::candidate, t0, error_class::none));
  w.add(obs(cohort::candidate, t0, error_class::none));
  w.add(obs(cohort::candidate, t0, error_class::none));
  w.add(obs(cohort::candidate, t0, error_class::server));
  for (auto own : {error_class::breaker_open, error_class::budget_exhausted, error_class::over_limit,
                   error_class::cancelled})
    w.add(obs(cohort::candidate, t0, own));
  const auto s = w.stats(cohort::candidate, t0, t0 + 10s);
  CHECK(s.samples == 4);
  CHECK(s.failures == 1);
  CHECK(s.failure_rate == 250'000);
  CHECK(s.errors_of(error_class::breaker_open) == 1); // still listed, for the audit
  CHECK(s.errors_of(error_class::over_limit) == 1);
  CHECK(s.errors.size() == 5);
}

TEST_CASE("unknown outcomes (the engine stopped mid-call) are neither samples nor failures but keep their cost") {
  metric_window w;
  w.add(obs(cohort::candidate, t0, error_class::none));
  for (int i = 0; i < 10; ++i) {
    auto o = obs(cohort::candidate, t0, error_class::unknown);
    o.cost = 30'000;
    w.add(o);
  }
  const auto s = w.stats(cohort::candidate, t0, t0 + 10s);
  CHECK(s.samples == 1);
  CHECK(s.failures == 0);
  CHECK(s.failure_rate == 0);
  CHECK(s.errors_of(error_class::unknown) == 10); // listed, for the audit
  CHECK(s.cost >= 10 * 30'000);                   // the money counts: it may have been spent
}

TEST_CASE("latency quantiles come from succeeded samples only") {
  metric_window w;
  for (int i = 0; i < 10; ++i)
    w.add(obs(cohort::candidate, t0, error_class::none, 8s));
  w.add(obs(cohort::candidate, t0, error_class::timeout, 60s));
  const auto s = w.stats(cohort::candidate, t0, t0 + 10s);
  CHECK(s.latency_samples == 10);
  CHECK(s.p99 == 8s);
}

TEST_CASE("cost per image is exact in micro-dollars") {
  metric_window w;
  w.add(obs(cohort::candidate, t0, error_class::none, 10s, 117'000, 3)); // 3 images at 0.039
  w.add(obs(cohort::candidate, t0 + 1s, error_class::none, 10s, 39'000, 1));
  const auto s = w.stats(cohort::candidate, t0, t0 + 10s);
  CHECK(s.cost == 156'000);
  CHECK(s.images == 4);
  CHECK(s.cost_per_image == 39'000);
  CHECK(w.stats(cohort::baseline, t0, t0 + 10s).cost_per_image == 0); // no images: 0, not a division by zero
}

TEST_CASE("quality mean mixes provider scores and feedback") {
  metric_window w;
  w.add(obs(cohort::candidate, t0, error_class::none, 10s, 0, 1, 0.8)); // provider score
  w.add(obs(cohort::candidate, t0, error_class::none, 10s, 0, 1));      // no score
  w.add_quality(cohort::candidate, 1.0, t0 + 1s);                        // feedback
  w.add_quality(cohort::candidate, 0.6, t0 + 2s);
  w.add_quality(cohort::candidate, 1.5, t0 + 2s); // out of range: ignored
  w.add_quality(cohort::baseline, 0.5, t0 + 2s);
  const auto s = w.stats(cohort::candidate, t0, t0 + 10s);
  CHECK(s.quality_samples == 3);
  CHECK(s.quality_mean == Approx(0.8));
  CHECK(w.stats(cohort::baseline, t0, t0 + 10s).quality_mean == Approx(0.5));
}

TEST_CASE("dispatches breaker trips and last response are kept per cohort") {
  metric_window w;
  CHECK(w.last_response(cohort::candidate) == instant{});
  w.add_dispatch(cohort::candidate, t0, 5);
  w.add_dispatch(cohort::candidate, t0 + 20s, 2);
  w.add_dispatch(cohort::baseline, t0, 1);
  w.add_breaker_trip(cohort::candidate, t0 + 20s);
  w.add(obs(cohort::candidate, t0 + 30s));
  w.add(obs(cohort::candidate, t0 + 40s, error_class::breaker_open)); // ours: not a response
  w.add(obs(cohort::baseline, t0 + 50s));
  CHECK(w.dispatches(cohort::candidate, t0, t0 + 1min) == 7);
  CHECK(w.dispatches(cohort::candidate, t0 + 10s, t0 + 1min) == 2);
  CHECK(w.dispatches(cohort::baseline, t0, t0 + 1min) == 1);
  CHECK(w.stats(cohort::candidate, t0, t0 + 1min).breaker_trips == 1);
  CHECK(w.stats(cohort::baseline, t0, t0 + 1min).breaker_trips == 0);
  CHECK(w.last_response(cohort::candidate) == t0 + 30s);
  CHECK(w.last_response(cohort::baseline) == t0 + 50s);
}

TEST_CASE("old buckets drop out of the window after its span") {
  metric_window w{1h, 10s};
  w.add(obs(cohort::candidate, t0));
  w.add(obs(cohort::candidate, t0 + 30min));
  CHECK(w.stats(cohort::candidate, t0, t0 + 2h).samples == 2);
  w.add(obs(cohort::candidate, t0 + 1h)); // t0's bucket is now older than the span
  CHECK(w.stats(cohort::candidate, t0, t0 + 2h).samples == 2);
  CHECK(w.stats(cohort::candidate, t0 + 30min, t0 + 30min + 10s).samples == 1);
  w.add(obs(cohort::candidate, t0)); // arrives too late for its bucket
  CHECK(w.dropped() == 1);
  CHECK(w.stats(cohort::candidate, t0, t0 + 2h).samples == 2);
}

TEST_CASE("ten hours of data in a one hour window leave only the last hour in its statistics") {
  metric_window w{1h, 10s};
  CHECK(w.bucket_count() == 360);
  CHECK(w.span() == 1h);
  const instant end = t0 + 10h;
  for (instant t = t0; t < end; t += 10s) {
    w.add(obs(cohort::candidate, t, error_class::none, 10s, 1'000, 1));
    w.add_dispatch(cohort::candidate, t);
  }
  const auto s = w.stats(cohort::candidate, t0, end);
  CHECK(s.samples == 360);
  CHECK(s.images == 360);
  CHECK(w.dispatches(cohort::candidate, t0, end) == 360);
  CHECK(w.bucket_count() == 360);
  CHECK(w.stats(cohort::candidate, end - 30min, end).samples == 180);
  // a part of the ring after it wrapped, one reaching past the newest bucket, one wholly before the span
  CHECK(w.dispatches(cohort::candidate, end - 30min, end) == 180);
  CHECK(w.dispatches(cohort::candidate, end - 30min, end + 1h) == 180);
  CHECK(w.dispatches(cohort::candidate, t0, end - 2h) == 0);
  CHECK(w.dispatches(cohort::baseline, t0, end) == 0);
}

TEST_CASE("breakdown lists each provider tier and cohort") {
  metric_window w;
  auto a = obs(cohort::candidate, t0);
  a.tier_ = tier::hd;
  w.add(a);
  w.add(obs(cohort::candidate, t0));
  w.add(obs(cohort::other, t0, error_class::server, 10s, 0, 0, -1, "sdxl"));
  const auto rows = w.breakdown(t0, t0 + 10s);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].provider == "gemini");
  CHECK(rows[0].tier_ == tier::sd);
  CHECK(rows[1].provider == "gemini");
  CHECK(rows[1].tier_ == tier::hd);
  CHECK(rows[2].provider == "sdxl");
  CHECK(rows[2].stats.failures == 1);
}

TEST_CASE("cumulative stats add up since the start and reset to nothing") {
  cumulative_stats c;
  for (int i = 0; i < 100; ++i)
    c.add(obs(cohort::candidate, t0 + std::chrono::hours(i), i % 10 == 0 ? error_class::server : error_class::none,
              10s, 39'000, 1));
  c.add_quality(cohort::candidate, 0.9);
  c.add_breaker_trip(cohort::candidate);
  auto s = c.stats(cohort::candidate);
  CHECK(s.samples == 100);
  CHECK(s.failures == 10);
  CHECK(s.failure_rate == 100'000);
  CHECK(s.cost_per_image == 39'000);
  CHECK(s.quality_samples == 1);
  CHECK(s.breaker_trips == 1);
  CHECK(c.stats(cohort::baseline).samples == 0);
  c.reset();
  s = c.stats(cohort::candidate);
  CHECK(s.samples == 0);
  CHECK(s.breaker_trips == 0);
  CHECK(s.p95 == 0us);
}

namespace {
/// The figures a window gives, as text (every field a trigger or the API reads).
std::string figures(const cohort_stats& s) {
  std::string out = std::to_string(s.samples) + " " + std::to_string(s.failures) + " " +
                    std::to_string(s.failure_rate) + " " + std::to_string(s.p50.count()) + " " +
                    std::to_string(s.p95.count()) + " " + std::to_string(s.p99.count()) + " " +
                    std::to_string(s.latency_samples) + " " + std::to_string(s.user_p95.count()) + " " +
                    std::to_string(s.user_wait_samples) + " " + std::to_string(s.cost) + " " +
                    std::to_string(s.images) + " " + std::to_string(s.quality_samples) + " " +
                    std::to_string(s.breaker_trips) + " " + std::to_string(s.dispatches);
  for (const auto& [e, n] : s.errors)
    out += " " + std::string{to_string(e)} + "=" + std::to_string(n);
  return out;
}
} // namespace

TEST_CASE("a window asked every tick gives the figures of a window summed afresh, late observations included") {
  // the sums kept between ticks must never show stale figures: same observations, one window asked every
  // second (keeping sums), one built anew at each check
  std::mt19937_64 rng{11};
  std::uniform_int_distribution<int> jitter{0, 40}; // seconds an observation's instant lags the tick (late adds)
  std::uniform_int_distribution<int> pick{0, 9};
  std::vector<observation> seen;
  std::vector<std::pair<cohort, instant>> dispatches;
  metric_window asked{10min, 10s};
  std::int64_t compared = 0, nonempty = 0;
  for (int second = 0; second < 3600; ++second) {
    const auto now = t0 + std::chrono::seconds(second);
    for (int k = 0; k < 3; ++k) {
      const auto who = pick(rng) < 6 ? cohort::candidate : cohort::baseline;
      auto o = obs(who, now - std::chrono::seconds(jitter(rng) < 35 ? 0 : jitter(rng)),
                   pick(rng) == 0 ? error_class::server : error_class::none,
                   std::chrono::milliseconds(100 + 97 * pick(rng) * pick(rng)), 1000, 1);
      if (pick(rng) == 0)
        o.user_wait = std::chrono::seconds(20 + pick(rng));
      seen.push_back(o);
      asked.add(o);
      dispatches.emplace_back(who, now);
      asked.add_dispatch(who, now);
    }
    for (auto span : {5min, 10min, 2min}) {
      for (auto c : {cohort::candidate, cohort::baseline}) {
        const auto from = now - span, to = now + 1us;
        const auto got = figures(asked.stats(c, from, to));
        if (second % 97 == 0) { // a fresh window at some ticks (rebuilding one every tick is slow)
          metric_window fresh{10min, 10s};
          for (const auto& s : seen)
            fresh.add(s);
          for (const auto& [w, t] : dispatches)
            fresh.add_dispatch(w, t);
          CHECK(got == figures(fresh.stats(c, from, to)));
          ++compared;
          nonempty += fresh.stats(c, from, to).samples > 0 ? 1 : 0;
        }
      }
    }
  }
  CHECK(compared > 100);
  CHECK(nonempty > 100);
}

TEST_CASE("a window whose first bucket moves on takes the old buckets away and matches a fresh sum to the bit") {
  // on-time observations (so kept sums slide rather than being rebuilt), sparse enough that the extremes clamp
  // the quantiles, with quality scores (a double sum that cannot be taken back exactly) and rare late ones
  std::mt19937_64 rng{29};
  std::uniform_int_distribution<int> pick{0, 9};
  std::uniform_int_distribution<int> rare{0, 499};
  std::vector<observation> seen;
  metric_window asked{10min, 10s};
  std::int64_t compared = 0, nonempty = 0;
  auto exact = [](const cohort_stats& s) {
    std::uint64_t bits = 0;
    static_assert(sizeof bits == sizeof s.quality_mean);
    std::memcpy(&bits, &s.quality_mean, sizeof bits);
    return figures(s) + " " + std::to_string(s.user_p50.count()) + " " + std::to_string(s.user_p99.count()) + " " +
           std::to_string(s.quality_samples) + " q=" + std::to_string(bits);
  };
  for (int second = 0; second < 3600; ++second) {
    const auto now = t0 + std::chrono::seconds(second);
    if (pick(rng) < 4) {
      const auto who = pick(rng) < 6 ? cohort::candidate : cohort::baseline;
      auto o = obs(who, rare(rng) == 0 ? now - 30s : now, pick(rng) == 0 ? error_class::server : error_class::none,
                   std::chrono::milliseconds(50 + 37 * pick(rng) * pick(rng) * pick(rng)), 1000, 1,
                   pick(rng) < 7 ? 0.1 * pick(rng) + 0.013 * pick(rng) : -1);
      if (pick(rng) < 3)
        o.user_wait = std::chrono::milliseconds(900 * pick(rng) + 7 * pick(rng));
      seen.push_back(o);
      asked.add(o);
    }
    for (auto span : {1min, 5min, 10min}) {
      for (auto c : {cohort::candidate, cohort::baseline}) {
        const auto from = now - span, to = now + 1us;
        const auto got = exact(asked.stats(c, from, to));
        if (second % 7 == 0) {
          metric_window fresh{10min, 10s};
          for (const auto& s : seen)
            if (s.at >= now - 11min)
              fresh.add(s);
          const auto want = fresh.stats(c, from, to);
          CHECK(got == exact(want));
          ++compared;
          nonempty += want.quality_samples > 0 && want.latency_samples > 0 ? 1 : 0;
        }
      }
    }
  }
  CHECK(compared > 1000);
  CHECK(nonempty > 1000);
}

TEST_CASE("figures asked again in the same tick show every change made in between") {
  // the window keeps the last figures per cohort: any add or removal in between must show in the next ask
  metric_window w{10min, 10s};
  const auto now = t0 + 5s, from = now - 5min, to = now + 1us;
  w.add(obs(cohort::candidate, now, error_class::none, 2s, 1000, 1));
  const auto first = w.stats(cohort::candidate, from, to);
  REQUIRE(first.samples == 1);
  CHECK(w.stats(cohort::candidate, from, to).samples == 1); // asked again: the same
  w.add(obs(cohort::candidate, now, error_class::server, 3s, 1000, 1)); // the same, open bucket
  auto s = w.stats(cohort::candidate, from, to);
  CHECK(s.samples == 2);
  CHECK(s.failures == 1);
  w.add_quality(cohort::candidate, 0.5, now);
  s = w.stats(cohort::candidate, from, to);
  CHECK(s.quality_samples == 1);
  w.remove_quality(cohort::candidate, 0.5, now);
  CHECK(w.stats(cohort::candidate, from, to).quality_samples == 0);
  w.add_breaker_trip(cohort::candidate, now);
  CHECK(w.stats(cohort::candidate, from, to).breaker_trips == 1);
  w.add_dispatch(cohort::candidate, now, 3);
  CHECK(w.stats(cohort::candidate, from, to).dispatches == 3);
  // the other cohort's figures are their own
  CHECK(w.stats(cohort::baseline, from, to).samples == 0);
}
