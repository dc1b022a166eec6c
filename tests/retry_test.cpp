/// Retry rules and the parsers of providers' wait hints: jitter and time are injected, so every figure is exact.
#include "core/retry_policy.hpp"

#include <catch2/catch.hpp>

using namespace cutover::core;
using namespace std::chrono_literals;

namespace {
const retry_config capped{5, 1s, 5s}; // caps at 1 s, 2 s, 4 s, 5 s, 5 s...
const retry_config three{3, 1s, 30s};
const error_class never_retried[] = {error_class::auth,         error_class::quota,
                                     error_class::bad_request,  error_class::content_policy,
                                     error_class::breaker_open, error_class::budget_exhausted,
                                     error_class::cancelled};
} // namespace

TEST_CASE("retry delay is full jitter over the doubling backoff up to max_backoff") {
  CHECK(retry_delay(capped, 1, 0.0, 0s) == 0s);
  CHECK(retry_delay(capped, 4, 0.0, 0s) == 0s);

  CHECK(retry_delay(capped, 1, 0.5, 0s) == 500ms);
  CHECK(retry_delay(capped, 2, 0.5, 0s) == 1s);
  CHECK(retry_delay(capped, 3, 0.5, 0s) == 2s);
  CHECK(retry_delay(capped, 4, 0.5, 0s) == 2500ms);
  CHECK(retry_delay(capped, 1000, 0.5, 0s) == 2500ms);

  CHECK(retry_delay(capped, 1, 0.999, 0s) == 999ms);
  CHECK(retry_delay(capped, 2, 0.999, 0s) == 1998ms);
  CHECK(retry_delay(capped, 3, 0.999, 0s) == 3996ms);
  CHECK(retry_delay(capped, 4, 0.999, 0s) == 4995ms);
}

TEST_CASE("retry delay honours retry_after as a floor even above max_backoff") {
  CHECK(retry_delay(capped, 1, 0.5, 3s) == 3s);          // longer than the jitter
  CHECK(retry_delay(capped, 3, 0.999, 1s) == 3996ms);    // the jitter is already longer
  CHECK(retry_delay(capped, 1, 0.5, 60s) == 60s);        // beyond max_backoff still waits
  CHECK(retry_delay(capped, 1, 0.0, 250ms) == 250ms);
}

TEST_CASE("non-retryable classes are never retried") {
  for (auto e : never_retried) {
    CAPTURE(to_string(e));
    CHECK_FALSE(is_retryable(e));
    const auto d = decide_retry(three, 1, e, 10s, 0.5, 0);
    CHECK_FALSE(d.retry);
    CHECK(d.reason == std::string(to_string(e)) + " is not retryable");
  }
  for (auto e : {error_class::timeout, error_class::rate_limited, error_class::server, error_class::bad_response})
    CHECK(is_retryable(e));
  CHECK_FALSE(decide_retry(three, 1, error_class::none, 0s, 0.5, 0).retry);
}

TEST_CASE("max_attempts counts the first call") {
  auto first = decide_retry(three, 1, error_class::server, 0s, 0.5, 0);
  CHECK(first.retry);
  CHECK(first.delay == 500ms);
  CHECK(first.reason == "server: retry 1 of 2 after 500ms");
  auto second = decide_retry(three, 2, error_class::timeout, 0s, 0.5, 0);
  CHECK(second.retry);
  CHECK(second.delay == 1s);
  auto third = decide_retry(three, 3, error_class::server, 0s, 0.5, 0);
  CHECK_FALSE(third.retry);
  CHECK(third.reason == "server after 3 calls: max_attempts 3 reached");
  CHECK_FALSE(decide_retry({1, 1s, 30s}, 1, error_class::server, 0s, 0.5, 0).retry);
}

TEST_CASE("a rate-limited call waits for the provider's retry_after") {
  auto d = decide_retry(three, 1, error_class::rate_limited, 20s, 0.5, 0);
  CHECK(d.retry);
  CHECK(d.delay == 20s);
  CHECK(d.reason == "rate_limited: retry 1 of 2 after 20s (Retry-After)");
}

TEST_CASE("bad_response is retried once only per attempt") {
  CHECK(is_retryable(error_class::bad_response, 0));
  CHECK_FALSE(is_retryable(error_class::bad_response, 1));
  CHECK(decide_retry(three, 1, error_class::bad_response, 0s, 0.5, 0).retry);
  auto again = decide_retry(three, 2, error_class::bad_response, 0s, 0.5, 1);
  CHECK_FALSE(again.retry);
  CHECK(again.reason == "bad_response already retried once in this attempt");
  CHECK(decide_retry(three, 2, error_class::server, 0s, 0.5, 1).retry); // other classes still retry
}

TEST_CASE("Retry-After in seconds parses to that delay") {
  const instant now{1'445'412'480s};
  CHECK(parse_retry_after("120", now) == duration{120s});
  CHECK(parse_retry_after(" 7 ", now) == duration{7s});
  CHECK(parse_retry_after("0", now) == duration{0s});
  CHECK(parse_retry_after("1.5", now) == duration{1500ms});
}

TEST_CASE("Retry-After as an HTTP-date is relative to now in all three date forms") {
  const instant date{1'445'412'480s}; // Wed, 21 Oct 2015 07:28:00 GMT
  const instant now = date - 60s;
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == duration{60s});
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", date - 750ms) == duration{750ms});
  CHECK(parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now) == duration{60s});
  CHECK(parse_retry_after("Wed Oct 21 07:28:00 2015", now) == duration{60s});
  CHECK(parse_retry_after("Mon Feb 29 00:00:00 2016", instant{1'456'704'000s} - 1s) == duration{1s});
  CHECK(parse_retry_after("Mon Feb  1 00:00:00 2016", now).has_value());
}

TEST_CASE("an RFC 850 two-digit year more than 50 years ahead is taken as the past century") {
  const instant new_year_2026{1'767'225'600s};
  CHECK(parse_retry_after("Tuesday, 01-Jan-30 00:00:00 GMT", new_year_2026) ==
        duration{1'893'456'000s - 1'767'225'600s});
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", new_year_2026) == duration{0s});
}

TEST_CASE("a Retry-After date in the past gives no wait") {
  const instant now{1'445'412'480s};
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == duration{0s});
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == duration{0s});
}

TEST_CASE("a malformed Retry-After gives nullopt") {
  const instant now{1'445'412'480s};
  for (const char* bad : {"", "soon", "12abc", "-5", "1e3", "9999999999999", "Wed, 32 Oct 2015 07:28:00 GMT",
                          "Wed, 21 Foo 2015 07:28:00 GMT", "Wed, 21 Oct 2015 25:28:00 GMT",
                          "Wed, 21 Oct 2015 07:28:00", "Wed, 21 Oct 2015 07:28:00 GMT junk",
                          "Sun, 29 Feb 2015 00:00:00 GMT", "Xyz, 21 Oct 2015 07:28:00 GMT"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_retry_after(bad, now).has_value());
  }
}

TEST_CASE("retry-after-ms parses milliseconds") {
  CHECK(parse_retry_after_ms("1500") == duration{1500ms});
  CHECK(parse_retry_after_ms("1500.5") == duration{1'500'500us});
  CHECK_FALSE(parse_retry_after_ms("1.5s").has_value());
  CHECK_FALSE(parse_retry_after_ms("").has_value());
}

TEST_CASE("Go-style durations parse exactly") {
  CHECK(parse_go_duration("6m0s") == duration{6min});
  CHECK(parse_go_duration("12s") == duration{12s});
  CHECK(parse_go_duration("1.5s") == duration{1500ms});
  CHECK(parse_go_duration("1.500s") == duration{1500ms});
  CHECK(parse_go_duration("250ms") == duration{250ms});
  CHECK(parse_go_duration("1h2m3s") == duration{1h + 2min + 3s});
  CHECK(parse_go_duration("0") == duration{0s});
  CHECK(parse_go_duration("0.1s") == duration{100ms});
  CHECK(parse_go_duration("100us") == duration{100us});
  CHECK(parse_go_duration("1500ns") == duration{1us}); // below a microsecond is truncated
}

TEST_CASE("malformed Go-style durations give nullopt") {
  for (const char* bad : {"", "1500", "s", "1x", "-1s", "abc", "1h 2m", ".s", "99999999999999999999h"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_go_duration(bad).has_value());
  }
}

TEST_CASE("a Retry-After above max_retry_after is not waited for and the attempt fails as rate_limited") {
  retry_config cfg;
  cfg.max_retry_after = 60s;
  auto d = decide_retry(cfg, 1, error_class::rate_limited, 86400s, 0.5, 0, 0s, std::nullopt);
  CHECK_FALSE(d.retry);
  CHECK(d.fail_as == error_class::rate_limited);
  CHECK(d.reason == "rate_limited: Retry-After 86400s is above retry.max_retry_after 60s");
  // whatever the status said: a 503 asking for an hour is a rate limit in all but name
  CHECK(decide_retry(cfg, 1, error_class::server, 1h, 0.5, 0, 0s, std::nullopt).fail_as == error_class::rate_limited);
  // at the ceiling it is waited for
  auto at = decide_retry(cfg, 1, error_class::rate_limited, 60s, 0.5, 0, 0s, std::nullopt);
  CHECK(at.retry);
  CHECK(at.delay == 60s);
}

TEST_CASE("a retry that would start after the attempt's deadline is not made") {
  retry_config cfg; // backoff 1 s: the first retry waits at most 1 s
  auto late = decide_retry(cfg, 1, error_class::timeout, 0s, 1.0, 0, 60s, 60s);
  CHECK_FALSE(late.retry);
  CHECK(late.fail_as == error_class::timeout);
  CHECK(late.reason == "timeout after 1 calls: a retry in 1s would pass retry.deadline 60s (60s spent)");
  CHECK(decide_retry(cfg, 1, error_class::timeout, 0s, 1.0, 0, 59s, 60s).retry);
  CHECK(decide_retry(cfg, 1, error_class::timeout, 0s, 1.0, 0, 600s, std::nullopt).retry); // no deadline: async
}
