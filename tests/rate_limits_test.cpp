#include "core/rate_limits.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

using namespace cutover::core;
using namespace std::chrono_literals;

namespace {

constexpr instant nov25{std::chrono::seconds(1795564800)}; // 2026-11-25T00:00:00Z

limits_config limits(int concurrent, int per_hour, int per_day) { return {concurrent, per_hour, per_day}; }

/// Acquires and at once releases `n` calls at `now`; how many were admitted.
int burst(provider_limits& l, int n, instant now) {
  int ok = 0;
  for (int i = 0; i < n; ++i)
    if (l.try_acquire(now).ok()) {
      l.release();
      ++ok;
    }
  return ok;
}

} // namespace

TEST_CASE("concurrency never goes above max_concurrent under random acquires, releases and reconfigures") {
  std::mt19937_64 rng{42};
  provider_limits l{"gemini", limits(10, 0, 0)};
  int max = 10, held = 0, refused = 0;
  instant now = nov25;
  for (int step = 0; step < 20'000; ++step) {
    now += std::chrono::milliseconds(rng() % 500);
    const auto roll = rng() % 100;
    if (roll < 55) {
      auto c = l.try_acquire(now);
      REQUIRE(c.ok() == (held < max));
      if (c.ok()) {
        ++held;
        REQUIRE(l.in_flight() <= max);
      } else {
        REQUIRE(c.verdict == limit_verdict::concurrency);
        REQUIRE_FALSE(c.retry_at.has_value());
        ++refused;
      }
    } else if (roll < 98) {
      REQUIRE(l.release() == (held > 0));
      held = std::max(held - 1, 0);
    } else {
      max = 1 + static_cast<int>(rng() % 12);
      l.reconfigure(limits(max, 0, 0), 0s);
    }
    REQUIRE(l.in_flight() == held);
  }
  CHECK(refused > 1000);
}

TEST_CASE("the hourly cap refuses the 1001st call until the oldest calls age out of the sliding hour") {
  provider_limits l{"gemini", limits(0, 1000, 0)};
  const instant first = nov25 + 10h + 30s, second = nov25 + 10h + 20min;
  REQUIRE(burst(l, 500, first) == 500);
  REQUIRE(burst(l, 500, second) == 500);
  auto c = l.try_acquire(nov25 + 10h + 59min + 59s);
  CHECK(c.verdict == limit_verdict::hourly);
  CHECK(c.reason == "limit: gemini 1000/1000 per hour");
  REQUIRE(c.retry_at);
  CHECK(*c.retry_at == nov25 + 11h + 1min); // the 10:00 minute leaves the window whole, 60 to 61 min later
  CHECK_FALSE(l.try_acquire(first + 60min).ok()); // across the clock-hour edge the calls still count
  CHECK_FALSE(l.try_acquire(nov25 + 11h + 1min - 1us).ok());
  CHECK(burst(l, 501, nov25 + 11h + 1min) == 500);
  auto next = l.try_acquire(nov25 + 11h + 2min);
  CHECK(next.verdict == limit_verdict::hourly);
  CHECK(next.retry_at == nov25 + 11h + 21min);
  CHECK(l.used_this_hour(nov25 + 11h + 2min) == 1000);
}

TEST_CASE("no 60-minute span ever holds more than max_per_hour calls") {
  std::mt19937_64 rng{7};
  provider_limits l{"gemini", limits(0, 50, 0)};
  std::vector<instant> admitted;
  instant now = nov25;
  for (int i = 0; i < 20'000; ++i) {
    now += std::chrono::microseconds(rng() % 20'000'000);
    auto c = l.try_acquire(now);
    if (c.ok()) {
      l.release();
      admitted.push_back(now);
    } else {
      REQUIRE(c.retry_at);
      REQUIRE(*c.retry_at > now);
    }
  }
  REQUIRE(admitted.size() > 1000);
  for (std::size_t i = 0; i < admitted.size(); ++i) {
    auto end = std::lower_bound(admitted.begin(), admitted.end(), admitted[i] + 60min);
    REQUIRE(end - (admitted.begin() + static_cast<long>(i)) <= 50);
  }
}

TEST_CASE("the daily cap refuses until the budget day rolls over at day_starts") {
  provider_limits l{"gemini", limits(0, 0, 5), 6h};
  REQUIRE(burst(l, 5, nov25 + 5h) == 5);
  auto c = l.try_acquire(nov25 + 5h + 30min);
  CHECK(c.verdict == limit_verdict::daily);
  CHECK(c.retry_at == nov25 + 6h);
  CHECK(c.reason == "limit: gemini 5/5 per day");
  CHECK_FALSE(l.try_acquire(nov25 + 6h - 1us).ok());
  CHECK(l.used_today(nov25 + 6h) == 0);
  CHECK(burst(l, 6, nov25 + 6h) == 5);
  CHECK(l.try_acquire(nov25 + 30h - 1us).verdict == limit_verdict::daily);
  CHECK(l.try_acquire(nov25 + 30h).ok());
}

TEST_CASE("a refusal by both windows names the day and waits for the later of the two") {
  provider_limits l{"gemini", limits(0, 5, 5)};
  REQUIRE(burst(l, 5, nov25 + 23h + 50min) == 5);
  auto c = l.try_acquire(nov25 + 23h + 55min);
  CHECK(c.verdict == limit_verdict::daily);
  CHECK(c.retry_at == nov25 + 24h + 51min);
  auto after_midnight = l.try_acquire(nov25 + 24h);
  CHECK(after_midnight.verdict == limit_verdict::hourly);
  CHECK(after_midnight.retry_at == nov25 + 24h + 51min);
  CHECK(l.try_acquire(nov25 + 24h + 51min).ok());
}

TEST_CASE("zero limits are unlimited") {
  provider_limits l{"sdxl", limits(0, 0, 0)};
  for (int i = 0; i < 100'000; ++i)
    REQUIRE(l.try_acquire(nov25).ok());
  CHECK(l.in_flight() == 100'000);
}

TEST_CASE("reconfigure applies to the next acquire and keeps held slots and window counts") {
  provider_limits l{"gemini", limits(2, 10, 0)};
  REQUIRE(l.try_acquire(nov25).ok());
  REQUIRE(l.try_acquire(nov25).ok());
  l.reconfigure(limits(1, 10, 0), 0s);
  CHECK(l.in_flight() == 2);
  CHECK(l.try_acquire(nov25).verdict == limit_verdict::concurrency);
  CHECK(l.release());
  CHECK(l.try_acquire(nov25).verdict == limit_verdict::concurrency);
  CHECK(l.release());
  CHECK(l.try_acquire(nov25).ok());
  CHECK(l.release());
  l.reconfigure(limits(0, 3, 0), 0s);
  CHECK(l.try_acquire(nov25 + 1min).verdict == limit_verdict::hourly); // 3 already counted
  l.reconfigure(limits(0, 4, 0), 0s);
  CHECK(l.try_acquire(nov25 + 1min).ok());
  CHECK(l.used_this_hour(nov25 + 1min) == 4);
}

TEST_CASE("releasing without a held slot returns false and changes nothing") {
  provider_limits l{"gemini", limits(1, 0, 0)};
  CHECK_FALSE(l.release());
  CHECK(l.in_flight() == 0);
  CHECK(l.try_acquire(nov25).ok());
  CHECK(l.try_acquire(nov25).reason == "limit: gemini 1/1 in flight");
}

TEST_CASE("a user gets a burst then one request per refill interval") {
  user_rate_limiter u{60, 3};
  for (int i = 0; i < 3; ++i)
    REQUIRE_FALSE(u.admit("alice", nov25));
  CHECK(u.admit("alice", nov25) == duration{1s});
  CHECK(u.admit("alice", nov25 + 400ms) == duration{600ms}); // a refused request takes nothing
  CHECK_FALSE(u.admit("alice", nov25 + 1s));
  CHECK(u.admit("alice", nov25 + 1s) == duration{1s});
  for (int i = 0; i < 3; ++i) // refilled, but never past the burst
    REQUIRE_FALSE(u.admit("alice", nov25 + 1h));
  CHECK(u.admit("alice", nov25 + 1h).has_value());
}

TEST_CASE("the Retry-After duration is exact for a rate that does not divide a minute") {
  user_rate_limiter u{7, 1}; // one token every 8.571428... s
  REQUIRE_FALSE(u.admit("bob", nov25));
  CHECK(u.admit("bob", nov25) == duration{8'571'429us});
  CHECK(u.admit("bob", nov25 + 8'571'428us) == duration{1us});
  CHECK_FALSE(u.admit("bob", nov25 + 8'571'429us));
}

TEST_CASE("a per-user rate refills without drift over an hour") {
  user_rate_limiter u{7, 2};
  REQUIRE_FALSE(u.admit("bob", nov25));
  REQUIRE_FALSE(u.admit("bob", nov25));
  int admitted = 0;
  for (instant t = nov25 + 1s; t <= nov25 + 60min; t += 1s) // polled faster than it refills: nothing is capped
    admitted += !u.admit("bob", t).has_value();
  CHECK(admitted == 7 * 60);
}

TEST_CASE("different users have independent buckets and idle ones are pruned") {
  user_rate_limiter u{60, 1};
  REQUIRE_FALSE(u.admit("alice", nov25));
  CHECK(u.admit("alice", nov25).has_value());
  CHECK_FALSE(u.admit("bob", nov25));
  CHECK(u.tracked_users() == 2);
  REQUIRE_FALSE(u.admit("alice", nov25 + 1s));
  u.prune(nov25 + 1500ms); // bob is full again, alice is not
  CHECK(u.tracked_users() == 1);
  CHECK(u.admit("alice", nov25 + 1500ms) == duration{500ms});
  u.prune(nov25 + 2s);
  CHECK(u.tracked_users() == 0);
}

TEST_CASE("a per-user reconfigure keeps each user's tokens up to the new burst") {
  user_rate_limiter u{60, 5};
  REQUIRE_FALSE(u.admit("dave", nov25));
  u.reconfigure(6, 2); // dave had 4 tokens: capped at 2, refilled at one per 10 s
  REQUIRE_FALSE(u.admit("dave", nov25));
  REQUIRE_FALSE(u.admit("dave", nov25));
  CHECK(u.admit("dave", nov25) == duration{10s});
}

TEST_CASE("a per-user rate of zero admits everyone") {
  user_rate_limiter u{0, 1};
  for (int i = 0; i < 1000; ++i)
    REQUIRE_FALSE(u.admit("carol", nov25));
  CHECK(u.tracked_users() == 0);
}
