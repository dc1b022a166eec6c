/// The provider worker and its circuit breaker in virtual time: an outcome counts only in the breaker generation
/// that admitted its call, and polls of remote jobs are not calls. The provider's answers are held by the test and
/// given when it chooses, so late answers arrive exactly where the scenario needs them.
#include "support/provider_rig.hpp"

using namespace cutover;
using namespace std::chrono_literals;

namespace {
constexpr std::int64_t closed = 0, open = 1, half_open = 2;
using rig = testing::provider_rig;
using testing::accepted;
using testing::failure;
using testing::images_for;
} // namespace

TEST_CASE("a sync call started before the trip that times out while half-open does not re-open the breaker") {
  rig r{false, core::breaker_config{500'000, 2, 60s, 30s, 1}};
  r.submit_batch(3); // three calls on the wire, one per item
  REQUIRE(r.port->held.size() == 3);
  r.answer(0, failure(core::error_class::server));
  r.answer(1, failure(core::error_class::server));
  REQUIRE(r.gauge() == open);
  r.vt.advance(30s);
  REQUIRE(r.gauge() == half_open);
  r.submit_batch(1); // the probe
  REQUIRE(r.port->held.size() == 4);
  r.vt.advance(30s);
  r.answer(2, failure(core::error_class::timeout)); // the third call, started before the trip, times out at 60 s
  CHECK(r.gauge() == half_open);
  r.answer(3, images_for(r.port->held[3].items)); // the probe answers: the provider has recovered
  CHECK(r.gauge() == closed);
  CHECK(r.outcomes->size() == 4);
}

TEST_CASE("pending polls of older remote jobs do not close a half-open breaker before its probe answers") {
  rig r{true, core::breaker_config{600'000, 2, 60s, 30s, 1}};
  r.port->scripted = {accepted("older"), failure(core::error_class::server), failure(core::error_class::server)};
  r.submit_batch(1); // a remote job that runs on
  r.submit_batch(1);
  r.submit_batch(1); // 2 of 3 creates failed: open
  REQUIRE(r.gauge() == open);
  r.vt.advance(30s);
  REQUIRE(r.gauge() == half_open);
  r.submit_batch(1); // the probe: a create that has not answered yet
  REQUIRE(r.port->held.size() == 1);
  const int polls_before = r.port->polls;
  r.vt.advance(20s); // the older job is polled meanwhile and answers pending
  REQUIRE(r.port->polls > polls_before);
  CHECK(r.gauge() == half_open);
  r.answer(0, failure(core::error_class::server)); // the probe decides
  CHECK(r.gauge() == open);
}

TEST_CASE("a provider whose creates all fail trips although the polls of its running jobs answer") {
  rig r{true, core::breaker_config{500'000, 4, 60s, 30s, 1}};
  r.port->scripted = {accepted("running")};
  r.submit_batch(1);
  r.vt.advance(30s); // 6 polls of the running job, all pending
  REQUIRE(r.port->polls >= 6);
  for (int i = 0; i < 4; ++i) {
    r.port->scripted.push_back(failure(core::error_class::server));
    r.submit_batch(1);
    r.vt.advance(5s);
  }
  CHECK(r.gauge() == open); // 4 of 5 calls failed (the accepted create is the one success)
}

TEST_CASE("polls answered while the breaker is open change nothing") {
  rig r{true, core::breaker_config{500'000, 2, 60s, 30s, 1}};
  r.port->scripted = {accepted("running"), failure(core::error_class::server), failure(core::error_class::server)};
  r.submit_batch(1);
  r.submit_batch(1);
  r.submit_batch(1);
  REQUIRE(r.gauge() == open);
  const int polls_before = r.port->polls;
  r.vt.advance(29s);
  REQUIRE(r.port->polls > polls_before);
  CHECK(r.gauge() == open);
  r.vt.advance(1s);
  CHECK(r.gauge() == half_open);
}
