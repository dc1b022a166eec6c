// The metrics core: the histogram type and its exposition, declared families, the ratio window behind the
// fallback rate, and readiness judged from plain facts.
#include "core/metric_catalog.hpp"
#include "core/metrics.hpp"
#include "core/ratio_window.hpp"
#include "core/readiness.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

core::instant at(core::duration d) { return core::instant{d}; }

} // namespace

TEST_CASE("a histogram counts a value equal to a bound in that bound's bucket and reads cumulatively") {
  core::histogram h{{100ms, 1s, 10s}};
  h.observe(50ms);
  h.observe(100ms); // le="0.1" includes 0.1
  h.observe(101ms);
  h.observe(10s);
  h.observe(11s);
  const auto r = h.read();
  CHECK(r.cumulative == std::vector<std::int64_t>{2, 3, 4, 5});
  CHECK(r.count == 5);
  CHECK(r.sum == 50ms + 100ms + 101ms + 10s + 11s);
}

TEST_CASE("histogram bounds must be positive and strictly ascending") {
  CHECK_THROWS(core::histogram{{}});
  CHECK_THROWS(core::histogram{{1s, 1s}});
  CHECK_THROWS(core::histogram{{2s, 1s}});
  CHECK_THROWS(core::histogram{{0s, 1s}});
}

TEST_CASE("a histogram renders _bucket with le (cumulative, +Inf last), _sum in seconds and _count") {
  core::metrics_registry m;
  m.declare("t_wait_seconds", core::metric_type::histogram, "A wait.");
  auto& h = m.get_histogram("t_wait_seconds", {{"cohort", "candidate"}}, {}, {500ms, 2s});
  h.observe(400ms);
  h.observe(3s);
  const auto text = m.render();
  CHECK(has_line(text, "# HELP t_wait_seconds A wait."));
  CHECK(has_line(text, "# TYPE t_wait_seconds histogram"));
  CHECK(has_line(text, "t_wait_seconds_bucket{cohort=\"candidate\",le=\"0.5\"} 1"));
  CHECK(has_line(text, "t_wait_seconds_bucket{cohort=\"candidate\",le=\"2\"} 1"));
  CHECK(has_line(text, "t_wait_seconds_bucket{cohort=\"candidate\",le=\"+Inf\"} 2"));
  CHECK(has_line(text, "t_wait_seconds_sum{cohort=\"candidate\"} 3.400000"));
  CHECK(has_line(text, "t_wait_seconds_count{cohort=\"candidate\"} 2"));
  // without labels, le is the only one
  m.get_histogram("t_bare_seconds", {}, "Bare.", {1s}).observe(1s);
  CHECK(has_line(m.render(), "t_bare_seconds_bucket{le=\"1\"} 1"));
}

TEST_CASE("a declared family shows HELP and TYPE before it has a series, with the declared type and help") {
  core::metrics_registry m;
  m.declare("t_things_total", core::metric_type::counter, "Things.");
  CHECK(has_line(m.render(), "# TYPE t_things_total counter"));
  m.get_counter("t_things_total", {{"kind", "a"}}, "another help, ignored").add(3);
  const auto text = m.render();
  CHECK(has_line(text, "# HELP t_things_total Things."));
  CHECK(has_line(text, "t_things_total{kind=\"a\"} 3"));
}

TEST_CASE("the engine's catalog declares every family with units in gauge names and _total on counters") {
  core::metrics_registry m;
  core::declare_engine_metrics(m, {"gemini", "sdxl"});
  const auto names = m.family_names();
  REQUIRE(names.size() >= 40);
  const auto text = m.render();
  for (const auto& n : names) {
    INFO(n);
    CHECK(text.find("# HELP " + n + " ") != std::string::npos);
    const bool counter = text.find("# TYPE " + n + " counter\n") != std::string::npos;
    CHECK(counter == (n.size() > 6 && n.compare(n.size() - 6, 6, "_total") == 0));
  }
  // idle, each provider's series are there at 0
  CHECK(has_line(text, "cutover_breaker_trips_total{provider=\"sdxl\"} 0"));
  CHECK(has_line(text, "cutover_queue_depth_items{provider=\"gemini\",stage=\"window\"} 0"));
  CHECK(has_line(text, "cutover_provider_limit_used{provider=\"gemini\",window=\"hour\"} 0"));
  CHECK(has_line(text, "cutover_rollout_state{state=\"rolled_back\"} 0"));
  CHECK(has_line(text, "cutover_image_cache_hits_total 0"));
}

TEST_CASE("the ratio window counts the last 5 minutes and forgets older slots") {
  core::ratio_window w{5min, 10s};
  CHECK(w.empty(at(0s)));
  CHECK(w.ratio_ppm(at(0s)) == 0);
  w.add(at(1s), 0, 10);
  w.add(at(2s), 2, 0);
  CHECK(w.ratio_ppm(at(3s)) == 200'000);
  w.add(at(4min), 0, 10);
  CHECK(w.ratio_ppm(at(4min)) == 100'000);
  // the first slot (0..10 s) ages out once its 5 minutes are over: 2 fallbacks and 10 jobs go
  CHECK(w.ratio_ppm(at(5min + 10s)) == 0);
  CHECK_FALSE(w.empty(at(5min + 10s)));
  CHECK(w.empty(at(9min + 10s)));
  // fallbacks with no job finished yet: as if one had
  w.add(at(10min), 3, 0);
  CHECK(w.ratio_ppm(at(10min)) == 3'000'000);
}

namespace {

core::readiness_facts healthy(const core::admissibility& view) {
  core::readiness_facts f;
  f.view = &view;
  f.now = at(1h);
  f.config_hash = "abcdef0123456789";
  f.providers = {{"gemini", 30'000, false}, {"sdxl", 10'000, false}};
  f.store_last_commit = at(1h - 5s);
  f.store_stale_after = 30s;
  f.degraded_fallback_ppm = 100'000;
  return f;
}

std::string check(const core::readiness_verdict& v, const std::string& name) {
  for (const auto& [k, value] : v.checks)
    if (k == name)
      return value;
  return "(none)";
}

} // namespace

TEST_CASE("readiness is ok with a recent commit, a config, admissible providers and few fallbacks") {
  core::admissibility view;
  const auto v = core::assess_readiness(healthy(view));
  CHECK(v.status == "ok");
  CHECK(check(v, "store") == "ok");
  CHECK(check(v, "config") == "loaded abcdef012345");
  CHECK(check(v, "gemini") == "ok");
  CHECK(check(v, "fallback_rate_5m") == "0.0% <= 10.0%");
}

TEST_CASE("readiness is unavailable when the store's last commit failed or none came lately") {
  core::admissibility view;
  auto f = healthy(view);
  f.store_failing = true;
  auto v = core::assess_readiness(f);
  CHECK(v.status == "unavailable");
  CHECK(check(v, "store") == "commit failing");
  f = healthy(view);
  f.store_last_commit = at(1h - 31s);
  v = core::assess_readiness(f);
  CHECK(v.status == "unavailable");
  CHECK(check(v, "store") == "no commit for 31 s");
  f.store_last_commit.reset();
  CHECK(core::assess_readiness(f).status == "unavailable");
  // without a probe (stale_after 0) the age is not judged
  f.store_stale_after = 0s;
  CHECK(core::assess_readiness(f).status == "ok");
}

TEST_CASE("readiness is unavailable without a configuration, without the ledger, or when draining") {
  core::admissibility view;
  auto f = healthy(view);
  f.config_hash.clear();
  auto v = core::assess_readiness(f);
  CHECK(v.status == "unavailable");
  CHECK(check(v, "config") == "not loaded");
  f = healthy(view);
  f.view = nullptr;
  v = core::assess_readiness(f);
  CHECK(v.status == "unavailable");
  CHECK(check(v, "ledger") == "no answer");
  f = healthy(view);
  f.draining = true;
  CHECK(core::assess_readiness(f).status == "unavailable");
}

TEST_CASE("readiness is unavailable when no provider is admissible, degraded when one is stopped") {
  core::admissibility view;
  view.block("gemini", core::block_reason::breaker, at(2h), "open");
  auto v = core::assess_readiness(healthy(view));
  CHECK(v.status == "degraded");
  CHECK(check(v, "gemini") == "breaker_open");
  CHECK(check(v, "sdxl") == "ok");
  view.block("sdxl", core::block_reason::daily_limit, at(3h), "day");
  v = core::assess_readiness(healthy(view));
  CHECK(v.status == "unavailable");
  CHECK(check(v, "providers") == "none admissible");
}

TEST_CASE("readiness is degraded when the 5-minute fallback rate is above health.degraded_fallback_rate") {
  core::admissibility view;
  auto f = healthy(view);
  f.fallback_ppm = 100'000; // at the threshold: not above
  CHECK(core::assess_readiness(f).status == "ok");
  f.fallback_ppm = 100'001;
  const auto v = core::assess_readiness(f);
  CHECK(v.status == "degraded");
  CHECK(check(v, "fallback_rate_5m") == "10.0% > 10.0%");
}
