/// One provider attempt in virtual time, bounded in time and in money: a Retry-After above retry.max_retry_after
/// is not waited for, a sync attempt ends at retry.deadline, its price is the one fixed at admission, and an async
/// job given up at its polling deadline is charged at its reservation unless it never started.
#include "support/provider_rig.hpp"

using namespace cutover;
using namespace std::chrono_literals;

namespace {
using rig = testing::provider_rig;
using testing::accepted;
using testing::images_for;

const core::breaker_config calm{500'000, 1000, 60s, 30s, 1}; ///< never trips in these stories

core::provider_reply asked_to_wait(core::error_class e, core::duration retry_after) {
  auto r = testing::failure(e);
  r.retry_after = retry_after;
  return r;
}

void retries(core::provider_config& p, int max_attempts) {
  p.retry.max_attempts = max_attempts;
  p.retry.backoff = 1s;
  p.retry.max_backoff = 30s;
}
} // namespace

TEST_CASE("a 429 asking to wait a day fails the attempt as rate_limited at once instead of parking the item") {
  rig r{false, calm, [](core::provider_config& p) { retries(p, 3); }};
  r.port->scripted = {asked_to_wait(core::error_class::rate_limited, 86400s)};
  r.submit_batch(1);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::rate_limited);
  CHECK(r.outcomes->front().message.find("above retry.max_retry_after 60s") != std::string::npos);
  CHECK(r.port->submits == 1);
}

TEST_CASE("a 5xx whose Retry-After is above the ceiling fails as rate_limited, so the item falls back") {
  rig r{false, calm, [](core::provider_config& p) {
          retries(p, 3);
          p.retry.max_retry_after = 10s;
        }};
  r.port->scripted = {asked_to_wait(core::error_class::server, 11s)};
  r.submit_batch(1);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::rate_limited);
}

TEST_CASE("a Retry-After at the ceiling is waited for and the call made again") {
  rig r{false, calm, [](core::provider_config& p) { retries(p, 3); }};
  r.port->scripted = {asked_to_wait(core::error_class::rate_limited, 60s)};
  r.submit_batch(1);
  CHECK(r.outcomes->empty());
  r.vt.advance(60s - 1ms);
  CHECK(r.port->submits == 1);
  r.vt.advance(1ms);
  CHECK(r.port->submits == 2); // held by the port now; the item is still in its attempt
  CHECK(r.outcomes->empty());
}

TEST_CASE("a sync attempt gives up when a retry would start after retry.deadline") {
  rig r{false, calm, [](core::provider_config& p) {
          retries(p, 5);
          p.retry.deadline = 20s;
        }};
  r.submit_batch(1);
  REQUIRE(r.port->held.size() == 1);
  r.vt.advance(10s);
  r.answer(0, asked_to_wait(core::error_class::server, 15s)); // 10 s spent + 15 s wait > 20 s
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::server);
  CHECK(r.outcomes->front().finished_at - r.outcomes->front().started_at == 10s);
  CHECK(r.port->submits == 1);
}

TEST_CASE("within retry.deadline the same failure is retried") {
  rig r{false, calm, [](core::provider_config& p) {
          retries(p, 5);
          p.retry.deadline = 30s;
        }};
  r.submit_batch(1);
  r.vt.advance(10s);
  r.answer(0, asked_to_wait(core::error_class::server, 15s)); // 25 s <= 30 s
  CHECK(r.outcomes->empty());
  r.vt.advance(15s);
  CHECK(r.port->submits == 2);
}

TEST_CASE("a call in flight when a reload raises the price is settled at the price fixed at its admission") {
  rig r{false, calm};
  r.submit_batch(1, 2, 60'000); // admitted at 0.06 per image: 0.12 reserved
  REQUIRE(r.port->held.size() == 1);
  auto dearer = r.cfg;
  dearer.cost_per_image = {90'000, 99'000, 150'000};
  r.reload(dearer);
  core::provider_reply answer;
  for (const auto& i : r.port->held[0].items)
    answer.items.push_back({i.id, core::error_class::none, "", {"iVBORw0KGgo=", "iVBORw0KGgo="}, 0.9});
  r.answer(0, answer);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::none);
  CHECK(r.outcomes->front().cost == 2 * 60'000); // its reservation, not 2 x 90'000
}

TEST_CASE("an async job given up at its polling deadline is charged at its reservation") {
  rig r{true, calm};
  r.port->scripted = {accepted("r-1")};
  r.submit_batch(2, 3, 30'000); // 3 images each at 0.03: 0.09 reserved per item
  r.vt.advance(30min);
  REQUIRE(r.outcomes->size() == 2);
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::timeout);
    CHECK(o.cost == 3 * 30'000);
  }
}

TEST_CASE("an async job given up while the provider still said it had not started is not charged") {
  rig r{true, calm};
  auto starting = accepted("r-1");
  starting.not_started = true;
  r.port->scripted = {starting};
  r.port->not_started = true; // every poll: still queued (Replicate `starting`, Gemini batch PENDING)
  r.submit_batch(1, 1, 30'000);
  r.vt.advance(30min);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::timeout);
  CHECK(r.outcomes->front().cost == 0);
  CHECK(r.outcomes->front().message.find("had not started") != std::string::npos);
}

TEST_CASE("an async job that started after a not-started answer is charged when given up") {
  rig r{true, calm};
  auto starting = accepted("r-1");
  starting.not_started = true;
  r.port->scripted = {starting}; // polls answer pending without not_started: it runs
  r.submit_batch(1, 1, 30'000);
  r.vt.advance(30min);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().cost == 30'000);
}
