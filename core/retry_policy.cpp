#include "core/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ratio>

namespace cutover::core {

namespace {
using std::chrono::seconds;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string span(duration d) {
  if (d % seconds(1) == duration{0})
    return std::to_string(std::chrono::duration_cast<seconds>(d).count()) + "s";
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

/// A non-negative decimal ("120", "1.5") times `unit_us` microseconds; at most 12 integer digits.
std::optional<duration> parse_decimal(std::string_view s, std::int64_t unit_us) {
  std::size_t i = 0;
  std::int64_t whole = 0, frac = 0, scale = 1;
  int significant = 0;
  bool any = false;
  for (; i < s.size() && is_digit(s[i]); ++i, any = true) {
    if (whole > 0 || s[i] != '0')
      if (++significant > 12)
        return std::nullopt;
    whole = whole * 10 + (s[i] - '0');
  }
  if (i < s.size() && s[i] == '.')
    for (++i; i < s.size() && is_digit(s[i]); ++i, any = true)
      if (scale < 10'000'000) { // digits past the seventh cannot reach a microsecond
        frac = frac * 10 + (s[i] - '0');
        scale *= 10;
      }
  if (!any || i != s.size())
    return std::nullopt;
  return duration{whole * unit_us + frac * unit_us / scale};
}

/// Reads an HTTP-date token by token.
struct cursor {
  std::string_view s;
  std::size_t i = 0;
  bool eat(char c) { return i < s.size() && s[i] == c ? (++i, true) : false; }
  bool done() const { return i == s.size(); }
  std::string_view word() {
    const auto start = i;
    while (i < s.size() && is_alpha(s[i]))
      ++i;
    return s.substr(start, i - start);
  }
  bool number(int min_digits, int max_digits, int& out) {
    int n = 0;
    out = 0;
    for (; n < max_digits && i < s.size() && is_digit(s[i]); ++n, ++i)
      out = out * 10 + (s[i] - '0');
    return n >= min_digits;
  }
  bool clock(int& h, int& m, int& sec) {
    return number(2, 2, h) && eat(':') && number(2, 2, m) && eat(':') && number(2, 2, sec) && h < 24 && m < 60 &&
           sec <= 60;
  }
};

constexpr std::array<std::string_view, 7> short_days{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> long_days{"Monday", "Tuesday", "Wednesday", "Thursday",
                                                    "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

template <std::size_t N> int index_of(const std::array<std::string_view, N>& names, std::string_view w) {
  for (std::size_t k = 0; k < N; ++k)
    if (iequals(names[k], w))
      return static_cast<int>(k);
  return -1;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in(std::int64_t y, int month) { // month 1..12
  constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap(y) ? 29 : days[month - 1];
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/// The civil year of an instant (inverse of the above, year only).
std::int64_t year_of(instant t) {
  using days = std::chrono::duration<std::int64_t, std::ratio<86400>>;
  const std::int64_t z = std::chrono::floor<days>(t.time_since_epoch()).count() + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  return yoe + era * 400 + (mp >= 10 ? 1 : 0);
}

/// IMF-fixdate, RFC 850 or asctime, as an instant; nullopt if malformed.
std::optional<instant> parse_http_date(std::string_view s, instant now) {
  cursor c{s};
  const auto day_name = c.word();
  int day = 0, month = 0, h = 0, m = 0, sec = 0;
  std::int64_t year = 0;
  if (c.eat(',')) {
    const bool imf = index_of(short_days, day_name) >= 0;
    if (!imf && index_of(long_days, day_name) < 0)
      return std::nullopt;
    const char sep = imf ? ' ' : '-';
    int y = 0;
    if (!c.eat(' ') || !c.number(1, 2, day) || !c.eat(sep) || (month = index_of(months, c.word()) + 1) == 0 ||
        !c.eat(sep) || !c.number(imf ? 4 : 2, imf ? 4 : 2, y) || !c.eat(' ') || !c.clock(h, m, sec) ||
        !c.eat(' ') || !iequals(c.word(), "GMT") || !c.done())
      return std::nullopt;
    year = y;
    if (!imf) { // RFC 7231: a two-digit year more than 50 years ahead is in the past century
      const auto now_year = year_of(now);
      year += now_year - now_year % 100;
      if (year > now_year + 50)
        year -= 100;
    }
  } else {
    int y = 0;
    if (index_of(short_days, day_name) < 0 || !c.eat(' ') || (month = index_of(months, c.word()) + 1) == 0 ||
        !c.eat(' '))
      return std::nullopt;
    c.eat(' '); // asctime pads a one-digit day with a space
    if (!c.number(1, 2, day) || !c.eat(' ') || !c.clock(h, m, sec) || !c.eat(' ') || !c.number(4, 4, y) ||
        !c.done())
      return std::nullopt;
    year = y;
  }
  if (day < 1 || day > days_in(year, month))
    return std::nullopt;
  const std::int64_t secs = days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + sec;
  return instant{seconds(secs)};
}
} // namespace

bool is_retryable(error_class e, int earlier_bad_responses) {
  switch (e) {
  case error_class::timeout:
  case error_class::rate_limited:
  case error_class::server: return true;
  case error_class::bad_response: return earlier_bad_responses <= 0;
  default: return false; // none, auth, quota, bad_request, content_policy, breaker_open, budget_exhausted, cancelled
  }
}

duration retry_delay(const retry_config& cfg, int retry, double unit, duration retry_after) {
  const duration ceiling = std::max(cfg.max_backoff, duration{0});
  duration cap = std::max(cfg.backoff, duration{0});
  for (int i = 1; i < retry && cap > duration{0} && cap < ceiling; ++i)
    cap *= 2;
  cap = std::min(cap, ceiling);
  const double u = std::isnan(unit) ? 0.0 : std::clamp(unit, 0.0, 1.0);
  const duration jitter{std::llround(static_cast<double>(cap.count()) * u)};
  return std::max(std::min(jitter, cap), retry_after);
}

retry_decision decide_retry(const retry_config& cfg, int calls_made, error_class e, duration retry_after,
                            double unit, int earlier_bad_responses) {
  return decide_retry(cfg, calls_made, e, retry_after, unit, earlier_bad_responses, duration{0}, std::nullopt);
}

retry_decision decide_retry(const retry_config& cfg, int calls_made, error_class e, duration retry_after,
                            double unit, int earlier_bad_responses, duration elapsed,
                            std::optional<duration> deadline) {
  const std::string what{to_string(e)};
  if (e == error_class::none)
    return {false, duration{0}, "the call succeeded", e};
  if (!is_retryable(e, earlier_bad_responses))
    return {false, duration{0},
            e == error_class::bad_response ? "bad_response already retried once in this attempt"
                                           : what + " is not retryable",
            e};
  // A wait the provider asks for is honoured up to the ceiling; past it, the item is better served elsewhere now
  // than here a day later.
  if (retry_after > cfg.max_retry_after)
    return {false, duration{0},
            what + ": Retry-After " + span(retry_after) + " is above retry.max_retry_after " +
              span(cfg.max_retry_after),
            error_class::rate_limited};
  calls_made = std::max(calls_made, 1);
  if (calls_made >= cfg.max_attempts)
    return {false, duration{0},
            what + " after " + std::to_string(calls_made) + " calls: max_attempts " +
              std::to_string(cfg.max_attempts) + " reached",
            e};
  const auto delay = retry_delay(cfg, calls_made, unit, retry_after);
  if (deadline && elapsed + delay > *deadline)
    return {false, duration{0},
            what + " after " + std::to_string(calls_made) + " calls: a retry in " + span(delay) + " would pass " +
              "retry.deadline " + span(*deadline) + " (" + span(elapsed) + " spent)",
            e};
  std::string reason = what + ": retry " + std::to_string(calls_made) + " of " +
                       std::to_string(cfg.max_attempts - 1) + " after " + span(delay);
  if (retry_after > duration{0} && delay == retry_after)
    reason += " (Retry-After)";
  return {true, delay, std::move(reason), error_class::none};
}

std::optional<duration> parse_retry_after(std::string_view value, instant now) {
  value = trim(value);
  if (value.empty())
    return std::nullopt;
  if (is_digit(value.front()))
    return parse_decimal(value, 1'000'000);
  const auto at = parse_http_date(value, now);
  if (!at)
    return std::nullopt;
  return *at > now ? *at - now : duration{0};
}

std::optional<duration> parse_retry_after_ms(std::string_view value) { return parse_decimal(trim(value), 1'000); }

std::optional<duration> parse_go_duration(std::string_view value) {
  std::string_view s = trim(value);
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  if (s == "0")
    return duration{0};
  if (s.empty())
    return std::nullopt;
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::int64_t total_ns = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::int64_t whole = 0, frac = 0, scale = 1;
    bool any = false;
    for (; i < s.size() && is_digit(s[i]); ++i, any = true) {
      if (whole > (max - 9) / 10)
        return std::nullopt;
      whole = whole * 10 + (s[i] - '0');
    }
    if (i < s.size() && s[i] == '.')
      for (++i; i < s.size() && is_digit(s[i]); ++i, any = true)
        if (scale < 1'000'000'000) { // digits past the ninth cannot reach a nanosecond
          frac = frac * 10 + (s[i] - '0');
          scale *= 10;
        }
    const auto start = i;
    while (i < s.size() && !is_digit(s[i]) && s[i] != '.')
      ++i;
    const auto unit = s.substr(start, i - start);
    std::int64_t unit_ns = 0;
    if (unit == "ns") unit_ns = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") unit_ns = 1'000;
    else if (unit == "ms") unit_ns = 1'000'000;
    else if (unit == "s") unit_ns = 1'000'000'000;
    else if (unit == "m") unit_ns = 60'000'000'000;
    else if (unit == "h") unit_ns = 3'600'000'000'000;
    if (!any || unit_ns == 0 || whole > max / unit_ns - 1)
      return std::nullopt; // no number, a missing or unknown unit (a bare number), or overflow
    // As Go's time.ParseDuration: the fraction scaled in floating point.
    const auto part = whole * unit_ns +
                      static_cast<std::int64_t>(static_cast<double>(frac) *
                                                (static_cast<double>(unit_ns) / static_cast<double>(scale)));
    if (part > max - total_ns)
      return std::nullopt;
    total_ns += part;
  }
  return duration{total_ns / 1'000};
}

} // namespace cutover::core
