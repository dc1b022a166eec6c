// Waiting for a job's end at intake, on the deterministic scheduler with the real tree and a real SQLite file: a
// submission that waits (the OpenAI endpoint) hears the end from the router, not from a read of the store, and
// every wait ends at its own time although one timer serves them all.

#include "support/engine_story.hpp"

#include <catch2/catch.hpp>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// Every job goes to photomaker (0 % at the candidate); `max_wait` holds jobs in their batch window (a job that cannot end before it).
std::string config_with_window(const std::string& max_wait) {
  return R"(providers:
  photomaker: {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08},
               simulated: {latency_p50: 1s, latency_p95: 1s, failure_rate: 0%, quality: 0.9}}
  sdxl: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}}
tiers:
  sd: {batch: {max_items: 50, max_wait: )" + max_wait + R"(}}
rollout: {name: waits, baseline: photomaker, candidate: sdxl, percent: 0, phases: [{percent: 100}]}
)";
}

core::job_spec kite(const std::string& user) {
  core::job_spec spec;
  spec.user_id = user;
  spec.prompt = "a kite";
  return spec;
}

/// Whether `self` holds an answer now (it never blocks: the test scheduler ran everything due).
template <class Self>
bool has_answer(Self& self) {
  return !self->mailbox().empty();
}

} // namespace

TEST_CASE("a submission that waits is answered at its job's end with what the store holds") {
  testing::temp_dir dir;
  testing::engine_story s{dir, config_with_window("0s")};
  caf::scoped_actor self{*s.vt.sys};
  self->send(s.engine.intake, msg::submit_and_wait{msg::submit_job{kite("ann"), {}, {}}, 10min});
  REQUIRE(s.vt.advance_until([&] { return has_answer(self); }, 1min));
  msg::submit_outcome out;
  self->receive([&](msg::submit_outcome& o) { out = std::move(o); });
  REQUIRE(out.accepted.error == msg::submit_error::none);
  REQUIRE(out.job.found);
  const auto stored = s.job(out.accepted.id);
  CHECK(stored.status == core::job_status::succeeded);
  CHECK(out.job.job.id == stored.id);
  CHECK(out.job.job.status == stored.status);
  CHECK(out.job.job.provider == "photomaker");
  CHECK(out.job.job.provider == stored.provider);
  REQUIRE_FALSE(stored.images.empty());
  CHECK(out.job.job.images == stored.images);
  CHECK(out.job.job.cost == stored.cost);
  CHECK(out.job.job.error == stored.error);
  CHECK(out.job.job.updated_at == stored.updated_at);
}

TEST_CASE("waits end at their own time: a shorter wait that came later is answered first") {
  testing::temp_dir dir;
  testing::engine_story s{dir, config_with_window("1h")}; // the job sits in its batch window for an hour
  const auto t0 = s.vt.now();
  auto ids = s.submit(1);
  caf::scoped_actor long_wait{*s.vt.sys};
  caf::scoped_actor short_wait{*s.vt.sys};
  caf::scoped_actor submitter{*s.vt.sys};
  long_wait->send(s.engine.intake, msg::await_job{ids[0], 5min, {}});
  short_wait->send(s.engine.intake, msg::await_job{ids[0], 1min, {}});
  submitter->send(s.engine.intake, msg::submit_and_wait{msg::submit_job{kite("bob"), {}, {}}, 2min});
  s.vt.run();
  CHECK_FALSE(has_answer(short_wait));

  s.vt.advance(1min - 1ms);
  CHECK_FALSE(has_answer(short_wait));
  s.vt.advance(1ms);
  REQUIRE(has_answer(short_wait));
  short_wait->receive([&](const msg::job_lookup& l) {
    REQUIRE(l.found);
    CHECK_FALSE(core::is_final(l.job.status)); // the wait ended, not the job
  });
  CHECK_FALSE(has_answer(long_wait));
  CHECK_FALSE(has_answer(submitter));

  s.vt.advance(1min);
  REQUIRE(has_answer(submitter));
  submitter->receive([&](const msg::submit_outcome& o) {
    REQUIRE(o.accepted.error == msg::submit_error::none);
    REQUIRE(o.job.found);
    CHECK(o.job.job.id == o.accepted.id);
    CHECK_FALSE(core::is_final(o.job.job.status));
  });
  CHECK_FALSE(has_answer(long_wait));

  s.vt.advance(3min - 1ms);
  CHECK_FALSE(has_answer(long_wait));
  s.vt.advance(1ms);
  REQUIRE(has_answer(long_wait));
  CHECK(s.vt.now() - t0 == 5min);
  long_wait->receive([&](const msg::job_lookup& l) { CHECK(l.found); });
}
