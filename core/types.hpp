#pragma once
/// Vocabulary types shared by every layer: ids, money, time, tiers, job states and error classes.
/// Money is integer micro-dollars; time is microseconds on an injected clock (nothing here reads a clock).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cutover::core {

/// Money in micro-dollars (1 USD = 1,000,000). Never a floating-point number.
using micros = std::int64_t;
constexpr micros micros_per_usd = 1'000'000;

/// Durations and instants. `instant` is microseconds since the Unix epoch on the injected clock.
using duration = std::chrono::microseconds;
using instant = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

/// A job's identity: assigned by intake, unique for the life of the store.
struct job_id {
  std::uint64_t value = 0;
  friend bool operator==(job_id a, job_id b) { return a.value == b.value; }
  friend bool operator!=(job_id a, job_id b) { return a.value != b.value; }
  friend bool operator<(job_id a, job_id b) { return a.value < b.value; }
};
std::string to_string(job_id id);                       // "j" + decimal, e.g. "j42"
bool parse_job_id(std::string_view text, job_id& out);  // inverse of to_string

/// Rates and fractions as integer parts per million (1% = 10,000 ppm).
using ppm = std::int32_t;
constexpr ppm ppm_one = 1'000'000;

enum class tier : std::uint8_t { sd = 0, hd = 1, k4 = 2 };
constexpr int tier_count = 3;
std::string_view to_string(tier t);
bool parse_tier(std::string_view text, tier& out);

/// accepted -> queued -> submitted -> running -> succeeded | failed | dead_lettered | cancelled
enum class job_status : std::uint8_t {
  accepted, queued, submitted, running, succeeded, failed, dead_lettered, cancelled
};
std::string_view to_string(job_status s);
bool parse_job_status(std::string_view text, job_status& out);
constexpr bool is_final(job_status s) { return s >= job_status::succeeded; }

/// Why a provider call failed. Errors travel between actors as these values, never as exceptions.
enum class error_class : std::uint8_t {
  none, timeout, rate_limited, auth, quota, bad_request, content_policy, server, bad_response,
  breaker_open, budget_exhausted, cancelled, over_limit, ///< over_limit: our own limits for the provider
  /// The engine does not know how the call ended (it stopped while the call was on the wire); it is charged at
  /// its reservation, since the provider may have billed it.
  unknown
};
std::string_view to_string(error_class e);
bool parse_error_class(std::string_view text, error_class& out);
/// Whether the request itself is at fault, so another attempt anywhere would fail the same way.
constexpr bool is_request_fault(error_class e) {
  return e == error_class::bad_request || e == error_class::content_policy;
}
/// Outcomes that are the engine's own, not a provider's judgement: it never called the provider (breaker_open,
/// budget_exhausted, over_limit), stopped waiting (cancelled), or does not know the answer (unknown).
constexpr bool is_own_error(error_class e) {
  return e == error_class::breaker_open || e == error_class::budget_exhausted || e == error_class::over_limit ||
         e == error_class::cancelled || e == error_class::unknown;
}

/// How the engine's log lines are written (`log.format`): `key=value` text, or one JSON object per line.
enum class log_format : std::uint8_t { text, json };

/// Formats micro-dollars as a decimal USD string with six decimals, e.g. "0.039000".
std::string format_usd(micros m);
/// Formats an instant as RFC 3339 UTC with millisecond precision, e.g. "2026-11-25T12:00:00.000Z".
std::string format_rfc3339(instant t);
/// Parses RFC 3339 ("2026-11-25T12:00:00Z", fractions and +hh:mm offsets accepted); false when malformed.
bool parse_rfc3339(std::string_view text, instant& out);

} // namespace cutover::core
