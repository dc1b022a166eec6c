/// The circuit breaker in virtual time: every instant is chosen by the test, nothing sleeps.
#include "core/circuit_breaker.hpp"

#include <catch2/catch.hpp>

using namespace cutover::core;
using namespace std::chrono_literals;

namespace {
breaker_config seed_config() { return {500'000, 20, 60s, 30s, 3}; } // 50%, 20 calls, 60 s window, 30 s open, 3 probes

const instant t0{1'000s};

void fail(circuit_breaker& b, int n, instant at, error_class e = error_class::server) {
  for (int i = 0; i < n; ++i) {
    auto ticket = b.allow(at);
    REQUIRE(ticket);
    b.record(*ticket, e, at);
  }
}

/// A breaker tripped at t0 by 20 failures of 20.
circuit_breaker tripped() {
  circuit_breaker b{seed_config()};
  fail(b, 20, t0);
  REQUIRE(b.state(t0) == breaker_state::open);
  b.take_transitions();
  return b;
}
} // namespace

TEST_CASE("breaker states have stable names") {
  CHECK(to_string(breaker_state::closed) == "closed");
  CHECK(to_string(breaker_state::open) == "open");
  CHECK(to_string(breaker_state::half_open) == "half_open");
}

TEST_CASE("breaker stays closed on a single failure") {
  circuit_breaker b{seed_config()};
  fail(b, 1, t0);
  CHECK(b.state(t0) == breaker_state::closed);
  CHECK(b.allow(t0));
  CHECK(b.window(t0).failure_rate == 1'000'000);
  CHECK(b.trips() == 0);
  CHECK(b.take_transitions().empty());
}

TEST_CASE("breaker opens only once the minimum of requests is reached") {
  circuit_breaker b{seed_config()};
  fail(b, 19, t0);
  CHECK(b.state(t0) == breaker_state::closed);
  fail(b, 1, t0 + 1s);
  CHECK(b.state(t0 + 1s) == breaker_state::open);
  CHECK_FALSE(b.allow(t0 + 1s));
  CHECK(b.trips() == 1);
}

TEST_CASE("breaker opens at exactly the failure rate and not below it") {
  circuit_breaker below{seed_config()};
  fail(below, 11, t0, error_class::none);
  fail(below, 9, t0);
  CHECK(below.window(t0).failure_rate == 450'000);
  CHECK(below.state(t0) == breaker_state::closed);

  circuit_breaker at{seed_config()};
  fail(at, 10, t0, error_class::none);
  fail(at, 10, t0);
  CHECK(at.state(t0) == breaker_state::open);
}

TEST_CASE("breaker counts server timeout rate_limited and bad_response as failures") {
  circuit_breaker b{seed_config()};
  for (auto e : {error_class::server, error_class::timeout, error_class::rate_limited, error_class::bad_response})
    fail(b, 5, t0, e);
  CHECK(b.window(t0).failures == 20);
  CHECK(b.state(t0) == breaker_state::open);
}

TEST_CASE("breaker never trips on auth bad_request content_policy and other non-provider outcomes") {
  circuit_breaker b{seed_config()};
  for (auto e : {error_class::auth, error_class::bad_request, error_class::content_policy, error_class::quota,
                 error_class::cancelled, error_class::budget_exhausted, error_class::breaker_open})
    fail(b, 100, t0, e);
  CHECK(b.state(t0) == breaker_state::closed);
  CHECK(b.window(t0).requests == 0);
  CHECK(b.trips() == 0);
}

TEST_CASE("breaker forgets failures that slid out of the window") {
  circuit_breaker b{seed_config()};
  fail(b, 19, t0);
  auto inside = b;
  fail(inside, 1, t0 + 59s); // the 19 still count: 20 of 20
  CHECK(inside.state(t0 + 59s) == breaker_state::open);
  fail(b, 1, t0 + 60s); // the 19 have left the 60 s window: 1 of 1
  CHECK(b.window(t0 + 60s).requests == 1);
  CHECK(b.state(t0 + 60s) == breaker_state::closed);
}

TEST_CASE("breaker keeps a long window in coarse buckets that still slide") {
  circuit_breaker b{{500'000, 20, 10min, 30s, 3}}; // 10 s buckets
  for (int s = 0; s < 20; ++s)
    fail(b, 1, t0 + std::chrono::seconds(s), error_class::none);
  CHECK(b.window(t0 + 599s).requests == 20);
  CHECK(b.window(t0 + 600s).requests == 10);
  CHECK(b.window(t0 + 610s).requests == 0);
}

TEST_CASE("breaker half-opens after open_for and not before") {
  auto b = tripped();
  CHECK(b.half_opens_at() == t0 + 30s);
  CHECK_FALSE(b.allow(t0 + 30s - 1us));
  CHECK(b.state(t0 + 30s - 1us) == breaker_state::open);
  CHECK(b.state(t0 + 30s) == breaker_state::half_open); // reported before any call turns it
  CHECK(b.allow(t0 + 30s));
  CHECK_FALSE(b.half_opens_at());
  auto ts = b.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].from == breaker_state::open);
  CHECK(ts[0].to == breaker_state::half_open);
  CHECK(ts[0].at == t0 + 30s);
}

TEST_CASE("breaker logs the half-open transition on time when advanced by a timer") {
  auto b = tripped();
  b.advance(t0 + 45s);
  auto ts = b.take_transitions();
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].at == t0 + 30s);
  CHECK(b.state(t0 + 45s) == breaker_state::half_open);
}

TEST_CASE("breaker admits no more than half_open_probes probes") {
  auto b = tripped();
  const auto t = t0 + 30s;
  auto first = b.allow(t);
  REQUIRE(first);
  CHECK(b.allow(t));
  CHECK(b.allow(t));
  CHECK_FALSE(b.allow(t));
  b.record(*first, error_class::auth, t); // says nothing about the provider: frees one slot
  CHECK(b.state(t) == breaker_state::half_open);
  CHECK(b.allow(t));
  CHECK_FALSE(b.allow(t));
}

TEST_CASE("breaker closes after its probes succeed and starts a clean window") {
  auto b = tripped();
  const auto t = t0 + 30s;
  std::vector<breaker_ticket> probes;
  for (int i = 0; i < 3; ++i) {
    auto p = b.allow(t);
    REQUIRE(p);
    probes.push_back(*p);
  }
  b.record(probes[0], error_class::none, t + 1s);
  b.record(probes[1], error_class::none, t + 2s);
  CHECK(b.state(t + 2s) == breaker_state::half_open);
  b.record(probes[2], error_class::none, t + 3s);
  CHECK(b.state(t + 3s) == breaker_state::closed);
  CHECK(b.window(t + 3s).requests == 0);
  fail(b, 1, t + 4s);
  CHECK(b.state(t + 4s) == breaker_state::closed);
}

TEST_CASE("breaker re-opens on a failed probe for a new open_for") {
  auto b = tripped();
  auto p1 = b.allow(t0 + 30s);
  auto p2 = b.allow(t0 + 30s);
  REQUIRE(p1);
  REQUIRE(p2);
  b.record(*p1, error_class::none, t0 + 31s);
  b.record(*p2, error_class::timeout, t0 + 32s);
  CHECK(b.state(t0 + 32s) == breaker_state::open);
  CHECK_FALSE(b.allow(t0 + 62s - 1us));
  CHECK(b.allow(t0 + 62s));
  CHECK(b.trips() == 2);
}

TEST_CASE("breaker ignores late outcomes while open") {
  circuit_breaker b{seed_config()};
  std::vector<breaker_ticket> before; // admitted while closed, answering after the trip
  for (int i = 0; i < 50; ++i)
    before.push_back(*b.allow(t0));
  fail(b, 20, t0);
  REQUIRE(b.state(t0) == breaker_state::open);
  for (int i = 0; i < 25; ++i)
    b.record(before[static_cast<std::size_t>(i)], error_class::none, t0 + 1s);
  CHECK(b.state(t0 + 1s) == breaker_state::open);
  b.record(before[25], error_class::none, t0 + 30s); // half-open now, but this call is no probe
  CHECK(b.state(t0 + 30s) == breaker_state::half_open);
  CHECK(b.trips() == 1);
}

TEST_CASE("a call admitted before the trip that times out while half-open does not re-open the breaker") {
  circuit_breaker b{seed_config()};
  const auto late = b.allow(t0); // a 60 s timeout, longer than open_for
  REQUIRE(late);
  fail(b, 20, t0);
  REQUIRE(b.state(t0) == breaker_state::open);
  const auto probe = b.allow(t0 + 30s);
  REQUIRE(probe);
  REQUIRE(probe->probe);
  b.record(*late, error_class::timeout, t0 + 60s);
  CHECK(b.state(t0 + 60s) == breaker_state::half_open);
  CHECK(b.trips() == 1);
  // the probe still decides
  b.record(*probe, error_class::server, t0 + 61s);
  CHECK(b.state(t0 + 61s) == breaker_state::open);
  CHECK(b.trips() == 2);
}

TEST_CASE("late successes of calls admitted before the trip do not close a half-open breaker") {
  circuit_breaker b{seed_config()};
  std::vector<breaker_ticket> before;
  for (int i = 0; i < 3; ++i)
    before.push_back(*b.allow(t0));
  fail(b, 20, t0);
  std::vector<breaker_ticket> probes;
  for (int i = 0; i < 3; ++i)
    probes.push_back(*b.allow(t0 + 30s));
  REQUIRE(!before.empty());
  for (const auto& t : before)
    b.record(t, error_class::none, t0 + 31s);
  CHECK(b.state(t0 + 31s) == breaker_state::half_open); // the probes have not answered
  CHECK_FALSE(b.allow(t0 + 31s));
  for (const auto& p : probes)
    b.record(p, error_class::none, t0 + 32s);
  CHECK(b.state(t0 + 32s) == breaker_state::closed);
}

TEST_CASE("late failures of calls admitted before the trip do not count in the window after it closes") {
  circuit_breaker b{{500'000, 2, 60s, 30s, 1}};
  std::vector<breaker_ticket> before;
  for (int i = 0; i < 4; ++i)
    before.push_back(*b.allow(t0));
  fail(b, 2, t0);
  REQUIRE(b.state(t0) == breaker_state::open);
  const auto probe = b.allow(t0 + 30s);
  REQUIRE(probe);
  b.record(*probe, error_class::none, t0 + 31s);
  REQUIRE(b.state(t0 + 31s) == breaker_state::closed);
  REQUIRE(!before.empty());
  for (const auto& t : before)
    b.record(t, error_class::timeout, t0 + 60s);
  CHECK(b.window(t0 + 60s).requests == 0);
  CHECK(b.state(t0 + 60s) == breaker_state::closed);
  CHECK(b.trips() == 1);
}

TEST_CASE("a probe answering after another probe re-opened the breaker changes nothing") {
  auto b = tripped();
  const auto p1 = b.allow(t0 + 30s);
  const auto p2 = b.allow(t0 + 30s);
  REQUIRE(p1);
  REQUIRE(p2);
  b.record(*p1, error_class::server, t0 + 31s); // re-opens until t0 + 61s
  REQUIRE(b.state(t0 + 31s) == breaker_state::open);
  // p2 answers in the next half-open: it was a probe of the earlier one, and may not decide this one
  const auto p3 = b.allow(t0 + 61s);
  REQUIRE(p3);
  b.record(*p2, error_class::server, t0 + 62s);
  CHECK(b.state(t0 + 62s) == breaker_state::half_open);
  b.record(*p2, error_class::none, t0 + 62s);
  CHECK(b.state(t0 + 62s) == breaker_state::half_open);
  CHECK(b.trips() == 2);
}

TEST_CASE("every transition starts a new generation") {
  auto b = tripped();
  const auto open_gen = b.generation();
  b.advance(t0 + 30s);
  CHECK(b.generation() == open_gen + 1);
  const auto p = b.allow(t0 + 30s);
  REQUIRE(p);
  CHECK(p->generation == b.generation());
  CHECK(p->probe);
}

TEST_CASE("breaker transitions carry their figures oldest first and are taken once") {
  circuit_breaker b{seed_config()};
  fail(b, 8, t0, error_class::none);
  fail(b, 12, t0 + 5s);
  auto probe = b.allow(t0 + 35s);
  REQUIRE(probe);
  b.record(*probe, error_class::server, t0 + 36s);
  auto ts = b.take_transitions();
  REQUIRE(ts.size() == 3);
  CHECK(ts[0].from == breaker_state::closed);
  CHECK(ts[0].to == breaker_state::open);
  CHECK(ts[0].at == t0 + 5s);
  CHECK(ts[0].requests == 20);
  CHECK(ts[0].failures == 12);
  CHECK(ts[0].failure_rate == 600'000);
  CHECK(ts[0].reason == "12 of 20 calls failed in 60s: 600000 ppm >= 500000 ppm");
  CHECK(ts[1].to == breaker_state::half_open);
  CHECK(ts[1].at == t0 + 35s);
  CHECK(ts[2].from == breaker_state::half_open);
  CHECK(ts[2].to == breaker_state::open);
  CHECK(ts[2].requests == 1);
  CHECK(ts[2].failures == 1);
  CHECK(ts[2].failure_rate == 1'000'000);
  CHECK(ts[2].reason == "probe failed (server) after 0 of 3 succeeded");
  CHECK(b.take_transitions().empty());
}

TEST_CASE("breaker trips counts every opening and no other transition") {
  auto b = tripped(); // 1
  const auto t = t0 + 30s;
  fail(b, 1, t, error_class::bad_response); // 2
  std::vector<breaker_ticket> probes;
  for (int i = 0; i < 3; ++i) {
    auto p = b.allow(t + 30s);
    REQUIRE(p);
    probes.push_back(*p);
  }
  for (const auto& p : probes)
    b.record(p, error_class::none, t + 30s); // closed
  CHECK(b.trips() == 2);
  fail(b, 20, t + 31s); // 3
  CHECK(b.trips() == 3);
}

TEST_CASE("breaker reconfigure keeps the state and the window") {
  circuit_breaker b{seed_config()};
  fail(b, 9, t0);
  b.reconfigure({500'000, 10, 60s, 30s, 3});
  CHECK(b.window(t0).failures == 9);
  CHECK(b.state(t0) == breaker_state::closed);
  fail(b, 1, t0 + 1s);
  CHECK(b.state(t0 + 1s) == breaker_state::open);
  b.reconfigure({500'000, 10, 2min, 10s, 1}); // coarser buckets, shorter open_for
  CHECK(b.state(t0 + 11s) == breaker_state::half_open);
}
