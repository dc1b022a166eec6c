// Whole-tree stories about money when the engine is in doubt, on the deterministic scheduler with a real SQLite
// file and simulated providers: a reload does not reprice calls in flight, and a call that was on the wire when
// the engine stopped is charged at its reservation (outcome `unknown`) before the job runs again, without the
// rollout taking it for a provider failure.

#include "support/engine_story.hpp"

#include <catch2/catch.hpp>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// The candidate answers after 20 s (sync), the baseline after 1 s; everyone is on the candidate.
std::string money_config(const std::string& candidate_price = "0.03") {
  return R"(providers:
  gemini:
    kind: simulated
    mode: sync
    cost_per_image: {sd: )" + candidate_price + R"(, hd: 0.039, 4k: 0.06}
    simulated: {latency_p50: 20s, latency_p95: 20s, failure_rate: 0%, quality: 0.9}
  photomaker: {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08},
               simulated: {latency_p50: 1s, latency_p95: 1s, failure_rate: 0%, quality: 0.9}}
tiers:
  sd: {batch: {max_items: 50, max_wait: 1s}}
fallback: {gemini: [photomaker]}
dead_letter: {max_attempts: 3, retention: 2h}
rollout:
  name: money
  baseline: photomaker
  candidate: gemini
  percent: 100
  phases: [{percent: 100}]
  triggers: {error_rate: {above: 5%, for: 1m, min_samples: 5}}
)";
}

core::config_ptr load(const std::string& text) { return testing::parse_config(text, "money.yaml"); }

using story = testing::engine_story;

} // namespace

TEST_CASE("a reload that raises the price while a call is in flight settles the call at its reservation") {
  testing::temp_dir dir;
  story s{dir, money_config("0.03")};
  auto ids = s.submit(1);
  s.vt.advance(5s); // the window flushed at 1 s: the call is on the wire until 21 s
  REQUIRE(s.job(ids[0]).status == core::job_status::submitted);
  s.engine.reload(load(money_config("0.09")));
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 2min, 1s));
  auto j = s.job(ids[0]);
  CHECK(j.status == core::job_status::succeeded);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].cost == 30'000); // the price at admission, not 90'000
  CHECK(j.cost == 30'000);
  s.vt.advance(2s); // the ledger's rows are written with the next commit
  const auto row = s.budget_row("gemini");
  CHECK(row.consumed == 30'000);
  CHECK(row.reserved == 0);
}

TEST_CASE("a sync call on the wire at a stop is charged at its reservation as unknown before the job runs again") {
  testing::temp_dir dir;
  std::vector<core::job_id> ids;
  constexpr int jobs = 10;
  {
    story first{dir, money_config()};
    ids = first.submit(jobs);
    first.vt.advance(5s); // the calls are on the wire until 21 s
    for (auto id : ids) {
      auto j = first.job(id);
      REQUIRE(j.attempts.size() == 1);
      REQUIRE(j.attempts[0].outcome == core::job_status::running);
    }
  } // the engine is gone mid-call: the provider may have done (and billed) the work
  story second{dir, money_config(), {30s}};
  REQUIRE(second.vt.advance_until([&] { return second.all_final(ids); }, 5min, 1s));
  REQUIRE(!ids.empty());
  for (auto id : ids) {
    auto j = second.job(id);
    CHECK(j.status == core::job_status::succeeded);
    REQUIRE(j.attempts.size() == 2);
    CHECK(j.attempts[0].error == core::error_class::unknown);
    CHECK(j.attempts[0].outcome == core::job_status::failed);
    CHECK(j.attempts[0].cost == 30'000); // its reservation: 1 sd image at 0.03
    CHECK(j.attempts[1].provider == "gemini");
    CHECK(j.attempts[1].outcome == core::job_status::succeeded);
    CHECK(j.cost == 60'000);
  }
  second.vt.advance(2min); // a minute of the trigger's window past the last outcome
  const auto row = second.budget_row("gemini");
  CHECK(row.consumed == jobs * 60'000); // the ledger may over-count, never under
  CHECK(row.reserved == 0);
  // 10 unknowns next to 10 successes would be a 50 % error rate: unknown is the engine's own outcome
  auto state = second.reader->audit().rollout_state(); // written at every change of the rollout's state
  CHECK((!state || (state->state != core::rollout_phase_state::rolled_back && state->percent == 100)));
}

TEST_CASE("a call in doubt after a stop is charged at the price of its admission, not at the price of the restart") {
  testing::temp_dir dir;
  std::vector<core::job_id> ids;
  {
    story first{dir, money_config("0.03")};
    ids = first.submit(3);
    first.vt.advance(5s); // reserved at 0.03 each, on the wire until 21 s
    REQUIRE(!ids.empty());
    for (auto id : ids)
      REQUIRE(first.job(id).attempts.at(0).reserved == 30'000);
  }
  story second{dir, money_config("0.01"), {30s}}; // the price was cut while the engine was down
  REQUIRE(second.vt.advance_until([&] { return second.all_final(ids); }, 5min, 1s));
  for (auto id : ids) {
    auto j = second.job(id);
    REQUIRE(j.attempts.size() == 2);
    CHECK(j.attempts[0].error == core::error_class::unknown);
    CHECK(j.attempts[0].cost == 30'000); // what the provider may have billed: the price it was sent at
    CHECK(j.attempts[1].cost == 10'000); // the new call, at the new price
  }
  second.vt.advance(2min);
  CHECK(second.budget_row("gemini").consumed == 3 * 40'000);
  CHECK(second.budget_row("gemini").reserved == 0);
}
