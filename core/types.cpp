#include "core/types.hpp"

#include <array>
#include <cinttypes>
#include <cstdlib>
#include <cstdio>
#include <ctime>

namespace cutover::core {

namespace {
template <class E, std::size_t N>
bool parse_enum(std::string_view text, const std::array<std::string_view, N>& names, E& out) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == text) {
      out = static_cast<E>(i);
      return true;
    }
  return false;
}
constexpr std::array<std::string_view, 3> tier_names{"sd", "hd", "4k"};
constexpr std::array<std::string_view, 8> status_names{
  "accepted", "queued", "submitted", "running", "succeeded", "failed", "dead_lettered", "cancelled"};
constexpr std::array<std::string_view, 14> error_names{
  "none", "timeout", "rate_limited", "auth", "quota", "bad_request", "content_policy", "server",
  "bad_response", "breaker_open", "budget_exhausted", "cancelled", "over_limit", "unknown"};
} // namespace

std::string to_string(job_id id) { return "j" + std::to_string(id.value); }

bool parse_job_id(std::string_view text, job_id& out) {
  if (text.size() < 2 || text.size() > 21 || text[0] != 'j')
    return false;
  std::uint64_t v = 0;
  for (char c : text.substr(1)) {
    if (c < '0' || c > '9')
      return false;
    auto next = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != v)
      return false; // overflow
    v = next;
  }
  out = job_id{v};
  return true;
}

std::string_view to_string(tier t) { return tier_names[static_cast<std::size_t>(t)]; }
bool parse_tier(std::string_view text, tier& out) { return parse_enum(text, tier_names, out); }
std::string_view to_string(job_status s) { return status_names[static_cast<std::size_t>(s)]; }
bool parse_job_status(std::string_view text, job_status& out) { return parse_enum(text, status_names, out); }
std::string_view to_string(error_class e) { return error_names[static_cast<std::size_t>(e)]; }
bool parse_error_class(std::string_view text, error_class& out) { return parse_enum(text, error_names, out); }

std::string format_usd(micros m) {
  char buf[40];
  const char* sign = m < 0 ? "-" : "";
  std::uint64_t a = m < 0 ? static_cast<std::uint64_t>(-(m + 1)) + 1 : static_cast<std::uint64_t>(m);
  std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%06" PRIu64, sign, a / 1'000'000, a % 1'000'000);
  return buf;
}

std::string format_rfc3339(instant t) {
  auto us = t.time_since_epoch().count();
  auto secs = static_cast<std::time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  auto ms = static_cast<int>((us - static_cast<std::int64_t>(secs) * 1'000'000) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

bool parse_rfc3339(std::string_view text, instant& out) {
  int y, mo, d, h, mi, s, consumed = 0;
  const std::string str{text};
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6 || consumed != 19)
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return false;
  std::int64_t micros_part = 0;
  std::size_t i = 19;
  if (i < str.size() && str[i] == '.') {
    std::int64_t scale = 100'000;
    for (++i; i < str.size() && str[i] >= '0' && str[i] <= '9'; ++i, scale /= 10)
      micros_part += (str[i] - '0') * scale;
  }
  std::int64_t offset_s = 0;
  if (i < str.size() && (str[i] == 'Z' || str[i] == 'z')) {
    ++i;
  } else if (i + 6 == str.size() && (str[i] == '+' || str[i] == '-') && str[i + 3] == ':') {
    const int oh = std::atoi(str.substr(i + 1, 2).c_str()), om = std::atoi(str.substr(i + 4, 2).c_str());
    offset_s = (str[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return false;
  }
  if (i != str.size())
    return false;
  // days from civil (Howard Hinnant's algorithm)
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = (153u * static_cast<unsigned>(mo + (mo > 2 ? -3 : 9)) + 2u) / 5u + static_cast<unsigned>(d) - 1u;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_s;
  out = instant{duration{secs * 1'000'000 + micros_part}};
  return true;
}

} // namespace cutover::core
