#include "core/types.hpp"

#include <array>
#include <cinttypes>
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
constexpr std::array<std::string_view, 13> error_names{
  "none", "timeout", "rate_limited", "auth", "quota", "bad_request", "content_policy", "server",
  "bad_response", "breaker_open", "budget_exhausted", "cancelled", "over_limit"};
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

} // namespace cutover::core
