/// Rollback triggers driven tick by tick over virtual time: synthetic observations go into a metric_window and
/// the evaluator is asked at each tick. Nothing sleeps; every instant is chosen here.
#include "core/triggers.hpp"

#include <catch2/catch.hpp>

#include <optional>

using namespace cutover::core;
using namespace std::chrono_literals;

namespace {
const instant t0{std::chrono::seconds(1767225600)}; // 2026-01-01T00:00:00Z

struct rig {
  metric_window w;
  trigger_evaluator ev;
  triggers_config cfg;
  trigger_context ctx;

  void add(cohort who, instant at, duration latency, error_class e = error_class::none, micros cost = 0,
           int images = 0) {
    observation o;
    o.at = at;
    o.provider = who == cohort::candidate ? "gemini" : "photomaker";
    o.who = who;
    o.error = e;
    o.latency = latency;
    o.cost = cost;
    o.images = images;
    w.add(o);
  }
  /// One candidate and one baseline answer at `at`.
  void pair(instant at, duration candidate, duration baseline) {
    add(cohort::candidate, at, candidate);
    add(cohort::baseline, at, baseline);
  }
  evaluation tick(const std::string& name, instant now) {
    const auto all = ev.evaluate(cfg, w, ctx, now);
    for (const auto& e : all)
      if (e.name == name)
        return e;
    FAIL("no evaluation named " << name);
    return {};
  }
};

/// Runs ticks every `step` over [from, to): `traffic(t)` adds what happened at t, then the triggers are asked.
/// Returns the first tick at which `name` fired.
template <class F>
std::optional<instant> first_fire(rig& r, const std::string& name, instant from, instant to, duration step,
                                  F&& traffic) {
  for (instant t = from; t < to; t += step) {
    traffic(t);
    if (r.tick(name, t).v == verdict::fail)
      return t;
  }
  return std::nullopt;
}
} // namespace

TEST_CASE("a candidate p95 of four times the baseline for ten minutes fires on the tick where ten minutes is reached") {
  rig r;
  r.cfg.p95_vs_baseline = factor_trigger{3, 10min};
  const auto fired = first_fire(r, "p95_vs_baseline", t0, t0 + 20min, 1s, [&](instant t) { r.pair(t, 40s, 10s); });
  REQUIRE(fired);
  CHECK(*fired == t0 + 10min);
  const auto e = r.tick("p95_vs_baseline", *fired);
  CHECK(e.observed == Approx(40.0));
  CHECK(e.baseline == Approx(10.0));
  CHECK(e.threshold == Approx(30.0));
  CHECK(e.reason == "candidate p95 40s > 3 x baseline 10s for 10m (since 2026-01-01T00:00:00.000Z)");
  CHECK(any_fired(r.ev.evaluate(r.cfg, r.w, r.ctx, *fired)));
}

TEST_CASE("a p95 breach that starts mid-traffic fires within one tick of ten minutes of the window condition") {
  rig r;
  r.cfg.p95_vs_baseline = factor_trigger{3, 10min};
  std::optional<instant> condition_since;
  std::optional<instant> fired;
  for (instant t = t0; t < t0 + 30min && !fired; t += 10s) {
    for (auto s = 0s; s < 10s; s += 1s) // one answer per cohort per second between ticks
      r.pair(t + s - 9s, t + s - 9s < t0 + 5min ? 10s : 40s, 10s);
    const auto c = r.w.stats(cohort::candidate, t - 1min, t + 1us);
    const auto b = r.w.stats(cohort::baseline, t - 1min, t + 1us);
    if (!condition_since && c.p95.count() > 3 * b.p95.count())
      condition_since = t;
    if (r.tick("p95_vs_baseline", t).v == verdict::fail)
      fired = t;
  }
  REQUIRE(condition_since);
  REQUIRE(fired);
  CHECK(*fired - *condition_since >= 10min);
  CHECK(*fired - *condition_since < 10min + 10s);
}

TEST_CASE("a single slow minute never fires the p95 trigger") {
  rig r;
  r.cfg.p95_vs_baseline = factor_trigger{3, 10min};
  bool breached = false;
  const auto fired = first_fire(r, "p95_vs_baseline", t0, t0 + 31min, 1s, [&](instant t) {
    const bool slow = t >= t0 + 10min && t < t0 + 11min;
    r.pair(t, slow ? 40s : 10s, 10s);
    breached = breached || r.ev.since("p95_vs_baseline").has_value();
  });
  CHECK_FALSE(fired);
  CHECK(breached); // the condition did hold for a while, and then stopped
  CHECK_FALSE(r.ev.since("p95_vs_baseline"));
}

TEST_CASE("p99 at more than five times the baseline for one minute fires after that minute and not before") {
  rig r;
  r.cfg.p99_vs_baseline = factor_trigger{5, 1min};
  const auto fired = first_fire(r, "p99_vs_baseline", t0, t0 + 5min, 1s, [&](instant t) { r.pair(t, 51s, 10s); });
  REQUIRE(fired);
  CHECK(*fired == t0 + 1min);
}

TEST_CASE("latency triggers make no judgement without baseline samples in the window") {
  rig r;
  r.cfg.p95_vs_baseline = factor_trigger{3, 10min};
  r.add(cohort::candidate, t0, 40s);
  const auto e = r.tick("p95_vs_baseline", t0);
  CHECK(e.v == verdict::insufficient);
  CHECK_FALSE(r.ev.since("p95_vs_baseline"));
}

TEST_CASE("error rate above five percent for five minutes with twenty samples fires after five minutes") {
  rig r;
  r.cfg.error_rate = rate_trigger{50'000, 5min, 20};
  int n = 0;
  const auto fired = first_fire(r, "error_rate", t0, t0 + 10min, 10s, [&](instant t) {
    r.add(cohort::candidate, t, 10s, n++ % 2 == 0 ? error_class::server : error_class::none); // 50 %, failing first
  });
  REQUIRE(fired);
  CHECK(*fired == t0 + 5min);
  const auto e = r.tick("error_rate", *fired);
  CHECK(e.samples >= 20);
  CHECK(e.reason.find("> 5% over 1m for 5m (since 2026-01-01T00:00:00.000Z)") != std::string::npos);
}

TEST_CASE("error rate does not fire with only ten samples however long the breach") {
  rig r;
  r.cfg.error_rate = rate_trigger{50'000, 5min, 20};
  int sent = 0;
  auto traffic = [&](instant t) {
    if (sent < 10 && (t - t0) % 35s == 0s) { // 10 failures, one every 35 s, then nothing
      r.add(cohort::candidate, t, 10s, error_class::server);
      ++sent;
    }
  };
  CHECK_FALSE(first_fire(r, "error_rate", t0, t0 + 5min + 20s, 5s, traffic));
  REQUIRE(sent == 10);
  // The last failure was at 5m15s: at 5m20s the breach is 5m20s old and still has only 10 samples.
  const auto e = r.tick("error_rate", t0 + 5min + 20s);
  CHECK(e.v == verdict::insufficient);
  CHECK(e.reason.find("but only 10 of 20 samples") != std::string::npos);
  CHECK_FALSE(first_fire(r, "error_rate", t0 + 5min + 25s, t0 + 15min, 5s, traffic));
}

TEST_CASE("error rate at exactly its threshold does not breach") {
  rig r;
  r.cfg.error_rate = rate_trigger{50'000, 0s, 1};
  for (int i = 0; i < 20; ++i)
    r.add(cohort::candidate, t0, 10s, i == 0 ? error_class::server : error_class::none); // 1 of 20 = 5 %
  CHECK(r.tick("error_rate", t0).v == verdict::pass);
  CHECK_FALSE(r.ev.since("error_rate"));
  r.add(cohort::candidate, t0, 10s, error_class::server); // 2 of 21
  CHECK(r.tick("error_rate", t0).v == verdict::fail);
}

TEST_CASE("eleven auth failures in five minutes fire and ten do not") {
  for (int failures : {10, 11}) {
    rig r;
    r.cfg.auth_failures = count_trigger{10, 5min};
    for (int i = 0; i < failures; ++i)
      r.add(cohort::candidate, t0 + i * 20s, 1s, error_class::auth);
    const auto e = r.tick("auth_failures", t0 + 4min);
    CHECK(e.observed == failures);
    CHECK((e.v == verdict::fail) == (failures == 11));
  }
}

TEST_CASE("auth failures older than the window do not count") {
  rig r;
  r.cfg.auth_failures = count_trigger{10, 5min};
  for (int i = 0; i < 6; ++i)
    r.add(cohort::candidate, t0, 1s, error_class::auth);
  for (int i = 0; i < 5; ++i)
    r.add(cohort::candidate, t0 + 6min, 1s, error_class::auth);
  const auto e = r.tick("auth_failures", t0 + 6min);
  CHECK(e.observed == 5);
  CHECK(e.v == verdict::pass);
}

TEST_CASE("silence fires only when traffic is expected") {
  for (bool expected : {false, true}) {
    rig r;
    r.cfg.silence = 2min;
    r.ctx.traffic_expected = expected;
    const auto fired = first_fire(r, "silence", t0, t0 + 20min, 10s, [&](instant t) {
      r.w.add_dispatch(cohort::candidate, t);
      if (t < t0 + 5min) // the candidate answers for five minutes, then goes quiet
        r.add(cohort::candidate, t, 5s);
    });
    if (expected) {
      REQUIRE(fired);
      // the last answer is at 4:50; items sent from the next 10 s bucket (5:00) on are overdue 2 m later
      CHECK(*fired == t0 + 5min + 2min);
    } else {
      CHECK_FALSE(fired);
    }
  }
}

TEST_CASE("silence gives the first dispatch its whole window to be answered") {
  rig r;
  r.cfg.silence = 2min;
  r.ctx.traffic_expected = true;
  const auto fired = first_fire(r, "silence", t0, t0 + 10min, 10s, [&](instant t) { r.w.add_dispatch(cohort::candidate, t); });
  REQUIRE(fired);
  CHECK(*fired == t0 + 2min);
}

TEST_CASE("quota exhaustion fires at once") {
  rig r;
  r.cfg.quota_exhausted = true;
  r.add(cohort::candidate, t0, 1s);
  CHECK(r.tick("quota_exhausted", t0).v == verdict::pass);
  r.add(cohort::candidate, t0 + 1s, 1s, error_class::quota);
  CHECK(r.tick("quota_exhausted", t0 + 1s).v == verdict::fail);
}

TEST_CASE("cost over budget fires above reference times one and a half and not at it") {
  rig r;
  r.cfg.cost_over_budget = 500'000; // 50 %
  r.ctx.cost_reference = 40'000;    // 0.04 per image: the limit is 0.06
  CHECK(r.tick("cost_over_budget", t0).v == verdict::insufficient); // no images yet
  r.add(cohort::candidate, t0, 10s, error_class::none, 60'000 * 4, 4);
  auto e = r.tick("cost_over_budget", t0);
  CHECK(e.v == verdict::pass);
  CHECK(e.threshold == Approx(0.06));
  r.add(cohort::candidate, t0, 10s, error_class::none, 60'004, 1); // 5 images for 0.300004: 0.0600008 each
  e = r.tick("cost_over_budget", t0);
  CHECK(e.v == verdict::fail);
  r.ctx.cost_reference.reset();
  CHECK(r.tick("cost_over_budget", t0).v == verdict::insufficient);
}

TEST_CASE("content policy rate waits for twenty samples when none are configured") {
  rig r;
  r.cfg.content_policy_rate = rate_trigger{50'000, 10min, 0};
  for (int i = 0; i < 5; ++i)
    r.add(cohort::candidate, t0, 5s, i == 0 ? error_class::content_policy : error_class::none);
  CHECK(r.tick("content_policy_rate", t0).v == verdict::insufficient); // 20 % of 5
  for (int i = 0; i < 15; ++i)
    r.add(cohort::candidate, t0 + 1min, 5s);
  CHECK(r.tick("content_policy_rate", t0 + 1min).v == verdict::pass); // 1 of 20 = 5 %
  r.add(cohort::candidate, t0 + 2min, 5s, error_class::content_policy);
  CHECK(r.tick("content_policy_rate", t0 + 2min).v == verdict::fail); // 2 of 21
}

TEST_CASE("reset clears breaches so a sustained trigger starts over") {
  rig r;
  r.cfg.p95_vs_baseline = factor_trigger{3, 10min};
  auto slow = [&](instant t) { r.pair(t, 40s, 10s); };
  CHECK_FALSE(first_fire(r, "p95_vs_baseline", t0, t0 + 9min, 1s, slow));
  CHECK(r.ev.since("p95_vs_baseline") == t0);
  r.ev.reset();
  CHECK_FALSE(r.ev.since("p95_vs_baseline"));
  const auto fired = first_fire(r, "p95_vs_baseline", t0 + 9min, t0 + 30min, 1s, slow);
  REQUIRE(fired);
  CHECK(*fired == t0 + 19min);
}

TEST_CASE("only configured triggers are evaluated") {
  rig r;
  CHECK(r.ev.evaluate(r.cfg, r.w, r.ctx, t0).empty());
  CHECK_FALSE(any_fired({}));
  r.cfg.quota_exhausted = true;
  r.cfg.silence = 2min;
  const auto all = r.ev.evaluate(r.cfg, r.w, r.ctx, t0);
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "quota_exhausted");
  CHECK(all[1].name == "silence");
  CHECK(all[1].reason == "no candidate traffic expected");
}

TEST_CASE("silence does not fire on a sparse but answered candidate: each item gets its whole window") {
  // found by `cutover simulate` (seed scenario at night, 10 %): one item every 3 minutes, each answered a minute
  // after it was sent; the last answer is more than 2 minutes old whenever the next item is 2 minutes from its own
  rig r;
  r.cfg.silence = 2min;
  r.ctx.traffic_expected = true;
  const auto fired = first_fire(r, "silence", t0, t0 + 60min, 1s, [&](instant t) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(t - t0).count();
    if (s % 180 == 0)
      r.w.add_dispatch(cohort::candidate, t);
    if (s % 180 == 60)
      r.add(cohort::candidate, t, 60s);
  });
  CHECK_FALSE(fired);
}

TEST_CASE("silence fires the window after the first unanswered item, however sparse the traffic") {
  rig r;
  r.cfg.silence = 2min;
  r.ctx.traffic_expected = true;
  const auto fired = first_fire(r, "silence", t0, t0 + 60min, 1s, [&](instant t) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(t - t0).count();
    if (s % 180 == 0)
      r.w.add_dispatch(cohort::candidate, t);
    if (s % 180 == 60 && s < 600) // answers stop after the item sent at 6:00 (answered 7:00)
      r.add(cohort::candidate, t, 60s);
  });
  REQUIRE(fired);
  CHECK(*fired == t0 + 9min + 2min); // the item sent at 9:00 is never answered
}

TEST_CASE("p95_vs_baseline does not judge a sparse breach: it waits for min_samples on each side") {
  // found by `cutover simulate` (seed scenario at night, 10 %): one answer a minute from each side, the candidate's
  // batch 20 s and the baseline's call 4 s, held "for 10 m" on one sample per window
  for (int per_minute : {1, 3}) {
    rig r;
    r.cfg.p95_vs_baseline = factor_trigger{3, 10min};
    const auto fired = first_fire(r, "p95_vs_baseline", t0, t0 + 15min, 1s, [&](instant t) {
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(t - t0).count();
      if (s % (60 / per_minute) == 0)
        r.pair(t, 20s, 4s);
    });
    if (per_minute == 1) {
      CHECK_FALSE(fired); // 15 samples at most: fewer than the default 20
    } else {
      REQUIRE(fired);
      CHECK(*fired == t0 + 10min); // 31 samples over the breach and its window
    }
  }
}

TEST_CASE("silence does not take an item answered within its own 10 s bucket for one still waiting") {
  // found by `cutover simulate` (seed scenario at 50 %): sent at 2:21, answered at 2:27, nothing sent since
  rig r;
  r.cfg.silence = 2min;
  r.ctx.traffic_expected = true;
  const auto fired = first_fire(r, "silence", t0, t0 + 10min, 1s, [&](instant t) {
    if (t == t0 + 141s)
      r.w.add_dispatch(cohort::candidate, t);
    if (t == t0 + 147s)
      r.add(cohort::candidate, t, 6s);
  });
  CHECK_FALSE(fired);
}

TEST_CASE("silence takes an answered poll for liveness: a lone remote job with a long tail is not silence") {
  // found by `cutover simulate` (dq-healthy, seed 2, 10 %): one async job polled once a minute after 90 s, its
  // remote run 6 minutes long; the provider answered every poll "still running", yet silence fired at 5 m
  for (bool answered : {true, false}) {
    rig r;
    r.cfg.silence = 2min;
    r.ctx.traffic_expected = true;
    const auto fired = first_fire(r, "silence", t0, t0 + 8min, 1s, [&](instant t) {
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(t - t0).count();
      if (s == 0)
        r.w.add_dispatch(cohort::candidate, t);
      if (answered && s >= 90 && (s - 90) % 60 == 0 && s < 360) // polls at 1:30, 2:30, ... answered
        r.w.add_poll_answer(cohort::candidate, t);
      if (s == 360)
        r.add(cohort::candidate, t, 360s); // the job ends at 6:00
    });
    if (answered) {
      CHECK_FALSE(fired);
      CHECK(r.w.stats(cohort::candidate, t0, t0 + 8min).samples == 1); // a poll answer is not a sample
    } else {
      REQUIRE(fired); // polls that fail or never come back: nothing answered the item sent at 0:00
      CHECK(*fired == t0 + 2min);
    }
  }
}

TEST_CASE("a latency breach is not kept over minutes where a side has no sample") {
  // found by `cutover simulate` (dq-healthy, seed 5, 100 %): the baseline answered a few times an hour past
  // midnight; the breach was kept over the empty minutes between and reached its 10 m on them
  for (int baseline_every : {300, 30}) {
    rig r;
    r.cfg.p95_vs_baseline = factor_trigger{3, 10min, 2};
    const auto fired = first_fire(r, "p95_vs_baseline", t0, t0 + 30min, 1s, [&](instant t) {
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(t - t0).count();
      if (s % 10 == 0)
        r.add(cohort::candidate, t, 20s);
      if (s % baseline_every == 0)
        r.add(cohort::baseline, t, 2s);
    });
    if (baseline_every == 300) {
      CHECK_FALSE(fired); // each baseline sample judges ~1 m, then 4 m with none: the breach ends each time
    } else {
      REQUIRE(fired); // a baseline sample every 30 s: judged throughout, fires at `for`
      CHECK(*fired == t0 + 10min);
    }
  }
}

TEST_CASE("an error_rate breach is not kept over minutes without candidate samples") {
  for (int every : {300, 20}) {
    rig r;
    r.cfg.error_rate = rate_trigger{100000, 5min, 1}; // 10 %
    const auto fired = first_fire(r, "error_rate", t0, t0 + 30min, 1s, [&](instant t) {
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(t - t0).count();
      if (s % every == 0)
        r.add(cohort::candidate, t, 1s, error_class::server);
    });
    if (every == 300) {
      CHECK_FALSE(fired); // one failure every 5 m: never a minute-by-minute breach of 5 m
    } else {
      REQUIRE(fired);
      CHECK(*fired == t0 + 5min);
    }
  }
}
