#pragma once
/// Retries of one call within one provider attempt: which error classes may be retried, how long to wait
/// (exponential backoff with full jitter, never less than the provider's Retry-After), and parsers for the
/// wait hints providers send (Retry-After, retry-after-ms, Go-style durations such as "6m0s" or "1.5s").
/// Guarantees: auth, quota, bad_request, content_policy, breaker_open, budget_exhausted and cancelled are never
/// retried; bad_response is retried once per attempt; `max_attempts` counts the first call. Pure functions:
/// randomness (`unit`) and time (`now`) are supplied by the caller, so results are exact and repeatable.

#include "core/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cutover::core {

/// Whether a failed call of this class may be retried at the same provider. bad_response: only if no earlier
/// call of this attempt answered bad_response (providers.md: "yes, once"). Everything else ignores the count.
bool is_retryable(error_class e, int earlier_bad_responses = 0);

/// Delay before retry number `retry` (1 = first retry): full jitter, `unit` * min(max_backoff,
/// backoff * 2^(retry-1)), with `unit` in [0,1) supplied by the caller (clamped into [0,1]; rounded to the
/// microsecond). A `retry_after` > 0 from the provider is a floor: the delay is never less, even above max_backoff.
duration retry_delay(const retry_config& cfg, int retry, double unit, duration retry_after);

/// Decision after a failed call: retry after `delay`, or give up; `reason` says why, for the job's record.
struct retry_decision {
  bool retry = false;
  duration delay{0};
  std::string reason;
  /// When not retrying: the class the attempt fails as. The call's own class, except rate_limited when the
  /// provider asked for a wait above retry.max_retry_after (whatever its status said), so the item falls back.
  error_class fail_as = error_class::none;
};

/// `calls_made`: calls of this attempt so far, the failed one included (so the first failure passes 1);
/// cfg.max_attempts includes the first call. `earlier_bad_responses`: bad_response answers among the calls
/// before this one. The delay is retry_delay(cfg, calls_made, unit, retry_after).
retry_decision decide_retry(const retry_config& cfg, int calls_made, error_class e, duration retry_after,
                            double unit, int earlier_bad_responses);
/// As above, within the attempt's time bounds: a `retry_after` above cfg.max_retry_after is not waited for (no
/// retry, fail_as rate_limited); with a `deadline`, a retry that would start after `elapsed` + delay > deadline
/// is not made (`elapsed`: time since the attempt's first call).
retry_decision decide_retry(const retry_config& cfg, int calls_made, error_class e, duration retry_after,
                            double unit, int earlier_bad_responses, duration elapsed,
                            std::optional<duration> deadline);

/// Parses a Retry-After header value relative to `now`: delay-seconds ("120"; a decimal "1.5" is accepted too)
/// or an HTTP-date in IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"), RFC 850 ("Wednesday, 21-Oct-15 07:28:00
/// GMT") or asctime ("Wed Oct 21 07:28:00 2015") form. A date in the past gives 0; malformed gives nullopt.
std::optional<duration> parse_retry_after(std::string_view value, instant now);

/// Parses OpenAI's retry-after-ms header: milliseconds, "1500" or "1500.5"; nullopt if malformed.
std::optional<duration> parse_retry_after_ms(std::string_view value);

/// Parses a Go-style duration: Google's RetryInfo retryDelay ("12s", "1.5s") and OpenAI's x-ratelimit-reset-*
/// ("6m0s", "1s", "250ms", "1h2m3s"). Units ns, us (µs), ms, s, m, h; "0" alone is zero. A bare number
/// otherwise, a negative duration or anything malformed gives nullopt. Sub-microsecond parts are truncated.
std::optional<duration> parse_go_duration(std::string_view value);

} // namespace cutover::core
