#include "core/types.hpp"

#include <catch2/catch.hpp>

using namespace cutover::core;

TEST_CASE("job ids print and parse back") {
  job_id id{};
  REQUIRE(parse_job_id(to_string(job_id{42}), id));
  CHECK(id.value == 42);
  CHECK_FALSE(parse_job_id("42", id));
  CHECK_FALSE(parse_job_id("j", id));
  CHECK_FALSE(parse_job_id("j4x", id));
  CHECK_FALSE(parse_job_id("j99999999999999999999", id));
}

TEST_CASE("money formats as exact decimal dollars") {
  CHECK(format_usd(39'000) == "0.039000");
  CHECK(format_usd(200 * micros_per_usd) == "200.000000");
  CHECK(format_usd(-1) == "-0.000001");
}

TEST_CASE("instants format as RFC 3339 UTC") {
  CHECK(format_rfc3339(instant{duration{0}}) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(instant{duration{1'764'072'000'123'456}}) == "2025-11-25T12:00:00.123Z");
}

TEST_CASE("RFC 3339 instants parse back, with fractions and offsets") {
  instant t{};
  REQUIRE(parse_rfc3339("2025-11-25T12:00:00.123Z", t));
  CHECK(t == instant{duration{1'764'072'000'123'000}});
  REQUIRE(parse_rfc3339("2025-11-25T13:00:00+01:00", t));
  CHECK(t == instant{duration{1'764'072'000'000'000}});
  CHECK(format_rfc3339(t) == "2025-11-25T12:00:00.000Z");
  CHECK_FALSE(parse_rfc3339("2025-11-25 12:00:00Z", t));
  CHECK_FALSE(parse_rfc3339("2025-13-25T12:00:00Z", t));
  CHECK_FALSE(parse_rfc3339("yesterday", t));
}

TEST_CASE("tiers, statuses and error classes round-trip through their names") {
  tier t{};
  REQUIRE(parse_tier("4k", t));
  CHECK(t == tier::k4);
  CHECK_FALSE(parse_tier("8k", t));
  job_status s{};
  REQUIRE(parse_job_status("dead_lettered", s));
  CHECK(is_final(s));
  CHECK_FALSE(is_final(job_status::running));
  error_class e{};
  REQUIRE(parse_error_class("rate_limited", e));
  CHECK(to_string(e) == "rate_limited");
}
