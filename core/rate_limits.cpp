#include "core/rate_limits.hpp"

#include "core/ledger.hpp" // the budget day

#include <algorithm>
#include <cassert>
#include <utility>

namespace cutover::core {

namespace {

constexpr std::int64_t micros_per_minute = 60'000'000;
/// The current minute plus the 60 whole minutes before it: every 60-minute span fits in this many buckets.
constexpr std::int64_t hour_buckets = 61;
/// A token is this many units; each microsecond adds `per_minute` units, so refill is exact in integers.
constexpr std::int64_t units_per_token = micros_per_minute;

std::int64_t minute_of(instant t) {
  const std::int64_t us = t.time_since_epoch().count();
  return us / micros_per_minute - (us % micros_per_minute < 0 ? 1 : 0);
}

instant minute_start(std::int64_t minute) { return instant{duration{minute * micros_per_minute}}; }

std::string refusal(const std::string& provider, int used, int max, const char* per) {
  return "limit: " + provider + " " + std::to_string(used) + "/" + std::to_string(max) + " " + per;
}

} // namespace

std::string_view to_string(limit_verdict v) {
  switch (v) {
    case limit_verdict::ok: return "ok";
    case limit_verdict::concurrency: return "concurrency";
    case limit_verdict::hourly: return "hourly";
    case limit_verdict::daily: return "daily";
  }
  return "?";
}

provider_limits::provider_limits(std::string provider, limits_config cfg, duration day_starts)
  : provider_(std::move(provider)), cfg_(cfg), day_starts_(day_starts),
    day_index_(budget_day_index(instant{}, day_starts)) {}

void provider_limits::age(instant now) {
  const std::int64_t oldest = minute_of(now) - (hour_buckets - 1);
  while (!hour_.empty() && hour_.front().minute < oldest)
    hour_.pop_front();
  const std::int64_t today = budget_day_index(now, day_starts_);
  if (today > day_index_) {
    day_index_ = today;
    day_count_ = 0;
  }
}

int provider_limits::used_this_hour(instant now) const {
  const std::int64_t oldest = minute_of(now) - (hour_buckets - 1);
  int sum = 0;
  for (const auto& b : hour_)
    if (b.minute >= oldest)
      sum += b.count;
  return sum;
}

int provider_limits::used_today(instant now) const {
  return budget_day_index(now, day_starts_) > day_index_ ? 0 : day_count_;
}

limit_check provider_limits::windows(instant now, int items) {
  age(now);
  limit_check out;
  const int hour_count = used_this_hour(now);
  if (cfg_.max_per_day > 0 && day_count_ + items > cfg_.max_per_day) {
    out = {limit_verdict::daily, budget_day_start(day_index_ + 1, day_starts_),
           refusal(provider_, day_count_, cfg_.max_per_day, "per day")};
  }
  if (cfg_.max_per_hour > 0 && hour_count + items > cfg_.max_per_hour) {
    // The window admits again once enough of the oldest buckets have aged out.
    int remaining = hour_count;
    instant frees{};
    for (const auto& b : hour_) {
      remaining -= b.count;
      if (remaining + items <= cfg_.max_per_hour) {
        frees = minute_start(b.minute + hour_buckets);
        break;
      }
    }
    if (out.ok())
      out = {limit_verdict::hourly, frees, refusal(provider_, hour_count, cfg_.max_per_hour, "per hour")};
    else
      out.retry_at = std::max(*out.retry_at, frees);
  }
  return out;
}

limit_check provider_limits::try_acquire(instant now, int items) {
  auto out = windows(now, items);
  if (cfg_.max_concurrent > 0 && in_flight_ >= cfg_.max_concurrent && out.ok())
    out = {limit_verdict::concurrency, std::nullopt, refusal(provider_, in_flight_, cfg_.max_concurrent, "in flight")};
  if (!out.ok())
    return out;
  ++in_flight_;
  day_count_ += items;
  const std::int64_t minute = minute_of(now);
  if (!hour_.empty() && hour_.back().minute >= minute)
    hour_.back().count += items; // a clock that stepped back still counts in the newest bucket
  else
    hour_.push_back({minute, items});
  assert(static_cast<std::int64_t>(hour_.size()) <= hour_buckets);
  return out;
}

void provider_limits::restore(std::vector<instant> started, instant now) {
  age(now);
  std::sort(started.begin(), started.end());
  const std::int64_t oldest = minute_of(now) - (hour_buckets - 1);
  for (auto t : started) {
    if (t > now)
      continue;
    if (budget_day_index(t, day_starts_) == day_index_)
      ++day_count_;
    const std::int64_t minute = minute_of(t);
    if (minute < oldest)
      continue;
    // merged in order with the buckets already counted
    auto it = std::lower_bound(hour_.begin(), hour_.end(), minute,
                               [](const minute_bucket& b, std::int64_t m) { return b.minute < m; });
    if (it != hour_.end() && it->minute == minute)
      ++it->count;
    else
      hour_.insert(it, minute_bucket{minute, 1});
  }
}

bool provider_limits::release() {
  if (in_flight_ == 0)
    return false;
  --in_flight_;
  return true;
}

void provider_limits::reconfigure(limits_config cfg, duration day_starts) {
  cfg_ = cfg;
  day_starts_ = day_starts; // a later day index only: the count resets when it passes the current one
}

user_rate_limiter::user_rate_limiter(int per_minute, int burst) { reconfigure(per_minute, burst); }

void user_rate_limiter::reconfigure(int per_minute, int burst) {
  per_minute_ = std::max(per_minute, 0);
  capacity_ = std::int64_t{std::max(burst, 1)} * units_per_token;
  for (auto& [user, b] : users_)
    b.level = std::min(b.level, capacity_);
}

std::int64_t user_rate_limiter::level_at(const bucket& b, instant now) const {
  if (now <= b.at)
    return b.level;
  const std::int64_t elapsed = (now - b.at).count();
  const std::int64_t to_full = (capacity_ - b.level + per_minute_ - 1) / per_minute_;
  return elapsed >= to_full ? capacity_ : b.level + elapsed * per_minute_;
}

std::optional<duration> user_rate_limiter::admit(std::string_view user, instant now) {
  if (per_minute_ == 0)
    return std::nullopt;
  auto it = users_.find(user);
  if (it == users_.end())
    it = users_.emplace(std::string{user}, bucket{capacity_, now}).first;
  bucket& b = it->second;
  b.level = level_at(b, now);
  b.at = std::max(b.at, now);
  if (b.level >= units_per_token) {
    b.level -= units_per_token;
    return std::nullopt;
  }
  const std::int64_t missing = units_per_token - b.level;
  return (b.at - now) + duration{(missing + per_minute_ - 1) / per_minute_};
}

void user_rate_limiter::prune(instant now) {
  if (per_minute_ == 0) {
    users_.clear();
    return;
  }
  for (auto it = users_.begin(); it != users_.end();)
    it = level_at(it->second, now) >= capacity_ ? users_.erase(it) : std::next(it);
}

} // namespace cutover::core
