#include "core/batch_window.hpp"
#include "core/lifecycle.hpp"
#include "core/poll_schedule.hpp"

#include <catch2/catch.hpp>

using namespace cutover::core;
using namespace std::chrono_literals;

TEST_CASE("a batch window reports full at max_items and opens once per generation") {
  batch_window<int> w{{3, 45s}};
  instant t0{10s};
  auto a = w.add(1, t0);
  CHECK(a.opened);
  CHECK_FALSE(a.full);
  CHECK(a.deadline == t0 + 45s);
  auto b = w.add(2, t0 + 1s);
  CHECK_FALSE(b.opened);
  CHECK(b.deadline == t0 + 45s);
  CHECK(w.add(3, t0 + 2s).full);
  auto items = w.take();
  CHECK(items == std::vector<int>{1, 2, 3});
  CHECK_FALSE(w.timer_due(a.generation)); // the old timer is stale
  auto c = w.add(4, t0 + 50s);
  CHECK(c.opened);
  CHECK(c.generation != a.generation);
  CHECK(w.timer_due(c.generation));
}

TEST_CASE("items taken out of a batch window leave the rest, and an emptied window's timer is stale") {
  batch_window<int> w{{10, 45s}};
  instant t0{10s};
  auto a = w.add(1, t0);
  w.add(2, t0);
  w.add(3, t0);
  CHECK(w.remove_if([](int i) { return i == 2; }) == std::vector<int>{2});
  CHECK(w.size() == 2);
  CHECK(w.timer_due(a.generation)); // the others still leave at 45 s
  CHECK(w.remove_if([](int i) { return i != 0; }) == std::vector<int>{1, 3});
  CHECK_FALSE(w.timer_due(a.generation));
  auto b = w.add(4, t0 + 20s); // a new window: its own 45 s, not what is left of the old one
  CHECK(b.opened);
  CHECK(b.generation != a.generation);
  CHECK(w.remove_if([](int) { return false; }).empty());
}

TEST_CASE("the seed poll schedule polls at 5..30, 45..90, then every 60 s") {
  polling_config p{default_poll_schedule(), 30min};
  std::vector<long> at;
  duration t{0};
  while (auto next = next_poll_after(p, t)) {
    at.push_back(std::chrono::duration_cast<std::chrono::seconds>(*next).count());
    t = *next;
  }
  std::vector<long> expected{5, 10, 15, 20, 25, 30, 45, 60, 75, 90};
  for (long s = 150; s <= 1800; s += 60)
    expected.push_back(s);
  CHECK(at == expected);
}

TEST_CASE("a poll schedule resumes on schedule from any elapsed time") {
  polling_config p{default_poll_schedule(), 30min};
  CHECK(next_poll_after(p, 0s) == duration{5s});
  CHECK(next_poll_after(p, 12s) == duration{15s});
  CHECK(next_poll_after(p, 30s) == duration{45s});
  CHECK(next_poll_after(p, 91s) == duration{150s});
  CHECK(next_poll_after(p, 1800s) == std::nullopt);
  polling_config finite{{{10s, 2}}, 1min};
  CHECK(next_poll_after(finite, 20s) == duration{30s}); // goes on at the last interval
  CHECK(next_poll_after(finite, 55s) == duration{60s}); // a last poll at the deadline itself
  CHECK(next_poll_after(finite, 60s) == std::nullopt);
}

TEST_CASE("a failed attempt falls back along the chain, then dead-letters") {
  config cfg;
  for (auto name : {"gemini", "photomaker", "sdxl"}) {
    provider_config p;
    p.name = name;
    cfg.providers.push_back(p);
  }
  cfg.fallback["gemini"] = {"photomaker", "sdxl"};
  cfg.dead_letter.max_attempts = 3;
  auto chain = provider_chain(cfg, "gemini");
  REQUIRE(chain == std::vector<std::string>{"gemini", "photomaker", "sdxl"});

  auto a = decide_after_failure(cfg, chain, 0, 1, error_class::server);
  CHECK(a.kind == after_failure_kind::fall_back);
  CHECK(a.provider == "photomaker");
  CHECK(a.chain_pos == 1);
  CHECK(a.reason == "fallback after gemini: server");
  CHECK(decide_after_failure(cfg, chain, 1, 2, error_class::timeout).provider == "sdxl");
  CHECK(decide_after_failure(cfg, chain, 2, 3, error_class::timeout).kind == after_failure_kind::dead_letter);
  CHECK(decide_after_failure(cfg, chain, 0, 1, error_class::content_policy).kind == after_failure_kind::fail);
  // a position skipped for budget is no attempt: photomaker failed as the first attempt, sdxl is next
  CHECK(decide_after_failure(cfg, chain, 1, 1, error_class::server).provider == "sdxl");
  CHECK(decide_after_failure(cfg, chain, 2, 1, error_class::server).reason ==
        "fallback chain exhausted; last sdxl: server");

  cfg.dead_letter.max_attempts = 2;
  CHECK(decide_after_failure(cfg, chain, 1, 2, error_class::server).kind == after_failure_kind::dead_letter);
  auto short_chain = provider_chain(cfg, "sdxl");
  CHECK(decide_after_failure(cfg, short_chain, 0, 1, error_class::server).kind == after_failure_kind::dead_letter);
}

TEST_CASE("the candidate falls back on bad_request and content_policy and other providers fail the job") {
  config cfg;
  for (auto name : {"gemini", "photomaker", "sdxl"}) {
    provider_config p;
    p.name = name;
    cfg.providers.push_back(p);
  }
  cfg.fallback["gemini"] = {"photomaker", "sdxl"};
  cfg.fallback["photomaker"] = {"sdxl"};
  cfg.rollout.baseline = "photomaker";
  cfg.rollout.candidate = "gemini";
  auto chain = provider_chain(cfg, "gemini");
  for (auto e : {error_class::bad_request, error_class::content_policy}) {
    auto a = decide_after_failure(cfg, chain, 0, 1, e);
    CHECK(a.kind == after_failure_kind::fall_back);
    CHECK(a.provider == "photomaker");
    // the baseline accepts the request or rejects it for good
    CHECK(decide_after_failure(cfg, chain, 1, 2, e).kind == after_failure_kind::fail);
  }
  // every provider keeps today's set
  for (auto e : default_fallback_on()) {
    CHECK(takes_fallback(cfg, "gemini", e));
    CHECK(takes_fallback(cfg, "sdxl", e));
  }
  // recomputed with each snapshot: a new candidate gets the wider set, the old one loses it
  config next = cfg;
  next.rollout.candidate = "sdxl";
  CHECK_FALSE(takes_fallback(next, "gemini", error_class::bad_request));
  CHECK(takes_fallback(next, "sdxl", error_class::bad_request));
}

TEST_CASE("a provider's fallback_on is the exact list and the engine's own outcomes always fall back") {
  config cfg;
  for (auto name : {"gemini", "photomaker"}) {
    provider_config p;
    p.name = name;
    cfg.providers.push_back(p);
  }
  cfg.fallback["gemini"] = {"photomaker"};
  cfg.rollout.candidate = "gemini";
  cfg.providers[0].fallback_on = std::vector<error_class>{error_class::server};
  auto chain = provider_chain(cfg, "gemini");
  CHECK(decide_after_failure(cfg, chain, 0, 1, error_class::server).kind == after_failure_kind::fall_back);
  auto a = decide_after_failure(cfg, chain, 0, 1, error_class::timeout);
  CHECK(a.kind == after_failure_kind::fail);
  CHECK(a.reason == "gemini: timeout is not in its fallback_on");
  CHECK(decide_after_failure(cfg, chain, 0, 1, error_class::bad_request).kind == after_failure_kind::fail);
  for (auto e : {error_class::breaker_open, error_class::budget_exhausted, error_class::over_limit,
                 error_class::cancelled, error_class::unknown})
    CHECK(decide_after_failure(cfg, chain, 0, 1, e).kind == after_failure_kind::fall_back);
}
