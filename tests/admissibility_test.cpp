// The admissibility view: per provider admissible now, or the instant it becomes admissible; a chain is
// admissible when one of its providers is, at the job's cost there.
#include "core/admissibility.hpp"

#include <catch2/catch.hpp>

using namespace cutover::core;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {
const instant t0 = instant{} + hours(24 * 20000) + hours(10);
const std::string everyone{admissibility::every_provider};
} // namespace

TEST_CASE("a provider with no block is admissible and so is its chain") {
  admissibility v;
  CHECK(v.admissible("gemini", t0));
  CHECK(v.admissible_at("gemini", t0) == t0);
  CHECK(v.check({{"gemini", 30'000}, {"photomaker", 40'000}}, t0).admissible);
  CHECK(v.check({}, t0).admissible); // nothing says no
  CHECK_FALSE(v.stopped_by("gemini", t0));
}

TEST_CASE("a budget line with no room left blocks the provider until the next budget day and no longer") {
  admissibility v;
  const auto next_day = t0 + hours(14);
  CHECK(v.block("gemini", block_reason::budget, next_day, "gemini 180.00 of stop line 180.00", -10));
  CHECK_FALSE(v.admissible("gemini", t0, 0)); // past the line: even free work is refused, as the ledger does
  CHECK(v.admissible_at("gemini", t0, 30'000) == next_day);
  CHECK(v.admissible("photomaker", t0, 40'000));
  CHECK(v.admissible("gemini", next_day, 30'000)); // the next budget day begins
  CHECK(v.stopped_by("gemini", t0) == block_reason::budget);
  CHECK_FALSE(v.stopped_by("gemini", next_day));
}

TEST_CASE("a budget line with some room left takes work that fits and refuses work that does not") {
  admissibility v;
  const auto next_day = t0 + hours(14);
  v.block("gemini", block_reason::budget, next_day, "gemini 179.95 of stop line 180.00", 50'000);
  CHECK(v.admissible("gemini", t0, 30'000));  // one sd image
  CHECK(v.admissible("gemini", t0, 50'000));  // exactly the room: the ledger admits up to the line
  CHECK(v.admissible_at("gemini", t0, 50'001) == next_day);
  CHECK(v.admissible_at("gemini", t0, 240'000) == next_day); // four 4k images
  // readiness: part of its traffic goes to the fallback
  CHECK(v.stopped_by("gemini", t0) == block_reason::budget);
  const std::vector<chain_link> chain{{"gemini", 240'000}};
  CHECK_FALSE(v.check(chain, t0).admissible);
  CHECK(v.check({{"gemini", 30'000}}, t0).admissible);
}

TEST_CASE("a global budget block holds for every provider") {
  admissibility v;
  v.block(everyone, block_reason::budget, t0 + hours(14), "global line", 0);
  CHECK_FALSE(v.admissible("gemini", t0, 30'000));
  CHECK_FALSE(v.admissible("sdxl", t0, 20'000));
  CHECK(v.admissible_at("sdxl", t0, 20'000) == t0 + hours(14));
  CHECK(v.stopped_by("sdxl", t0) == block_reason::budget);
}

TEST_CASE("an hourly limit blocks until its window frees, a daily limit until the day's start") {
  admissibility v;
  v.block("gemini", block_reason::hourly_limit, t0 + minutes(20), "limit: gemini 1000/1000 per hour");
  CHECK(v.admissible_at("gemini", t0) == t0 + minutes(20));
  CHECK(v.admissible_at("gemini", t0, 0) == t0 + minutes(20)); // a limit counts calls, not money
  CHECK(v.stopped_by("gemini", t0) == block_reason::hourly_limit);
  CHECK(v.admissible("gemini", t0 + minutes(20)));
  v.block("sdxl", block_reason::daily_limit, t0 + hours(14), "limit: sdxl 5000/5000 per day");
  CHECK(v.admissible_at("sdxl", t0 + hours(1)) == t0 + hours(14));
  CHECK(v.stopped_by("sdxl", t0) == block_reason::daily_limit);
}

TEST_CASE("an open breaker blocks until it half-opens, and a provider is admissible once every block on it has ended") {
  admissibility v;
  v.block("gemini", block_reason::breaker, t0 + seconds(30), "the circuit breaker is open");
  CHECK(v.admissible_at("gemini", t0) == t0 + seconds(30));
  CHECK(v.admissible("gemini", t0 + seconds(30))); // probes may go then
  v.block("gemini", block_reason::hourly_limit, t0 + minutes(20), "1000/1000 per hour");
  CHECK(v.admissible_at("gemini", t0) == t0 + minutes(20)); // the latest instant counts
  CHECK(v.stopped_by("gemini", t0) == block_reason::breaker); // the one that stops most is shown
  CHECK(v.clear("gemini", block_reason::hourly_limit));
  CHECK(v.admissible_at("gemini", t0) == t0 + seconds(30));
  CHECK_FALSE(v.clear("gemini", block_reason::hourly_limit)); // nothing left to clear
  CHECK(v.clear("gemini", block_reason::breaker));            // it closed early
  CHECK(v.admissible("gemini", t0));
}

TEST_CASE("a chain is refused only when none of its providers is admissible, with the earliest instant") {
  admissibility v;
  v.block("gemini", block_reason::budget, t0 + hours(14), "gemini line", 0);
  v.block("photomaker", block_reason::breaker, t0 + seconds(30), "open");
  const std::vector<chain_link> chain{{"gemini", 30'000}, {"photomaker", 40'000}, {"sdxl", 20'000}};
  CHECK(v.check(chain, t0).admissible); // sdxl can take it
  v.block("sdxl", block_reason::daily_limit, t0 + hours(14), "5000/5000 per day");
  auto c = v.check(chain, t0);
  REQUIRE_FALSE(c.admissible);
  CHECK(c.retry_at == t0 + seconds(30)); // the breaker half-opens first
  CHECK(c.reason.find("gemini: budget") != std::string::npos);
  CHECK(c.reason.find("photomaker: breaker") != std::string::npos);
  CHECK(c.reason.find("sdxl: daily_limit") != std::string::npos);
  CHECK(v.check(chain, t0 + seconds(30)).admissible);
}

TEST_CASE("a repeated identical block changes nothing, a new instant or room replaces the old one") {
  admissibility v;
  CHECK(v.block("gemini", block_reason::breaker, t0 + seconds(30), "open"));
  const auto copy = v;
  CHECK_FALSE(v.block("gemini", block_reason::breaker, t0 + seconds(30), "open"));
  CHECK(v == copy);
  CHECK(v.block("gemini", block_reason::breaker, t0 + seconds(60), "open again"));
  CHECK(v != copy);
  CHECK(v.admissible_at("gemini", t0) == t0 + seconds(60));
  CHECK(v.block("sdxl", block_reason::budget, t0 + hours(1), "line", 100));
  CHECK(v.block("sdxl", block_reason::budget, t0 + hours(1), "line", 50));
  CHECK_FALSE(v.admissible("sdxl", t0, 60));
}

TEST_CASE("blocks lists only the blocks in force and prune forgets the ended ones") {
  admissibility v;
  v.block("gemini", block_reason::breaker, t0 + seconds(30), "open");
  v.block("sdxl", block_reason::budget, t0 + hours(14), "line", 0);
  REQUIRE(v.blocks(t0).size() == 2);
  CHECK(v.blocks(t0 + seconds(30)).size() == 1);
  v.prune(t0 + seconds(30));
  CHECK(v.blocks(t0).size() == 1);
  CHECK(v.admissible("gemini", t0));
}
