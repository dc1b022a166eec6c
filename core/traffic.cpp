#include "core/traffic.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace cutover::core {

namespace {
constexpr duration hour = std::chrono::hours(1);

/// The start of the UTC hour `t` is in, and that hour of the day.
std::pair<instant, int> hour_of(instant t) {
  const auto h = std::chrono::floor<std::chrono::hours>(t);
  const auto of_day = (h.time_since_epoch().count() % 24 + 24) % 24;
  return {std::chrono::time_point_cast<duration>(h), static_cast<int>(of_day)};
}
} // namespace

traffic_generator::traffic_generator(const scenario& s, std::uint64_t seed)
  : s_(s), rng_(seed * 0x9E3779B97F4A7C15ull + 0x7261ff1c), t_(s.start) {
  const int users = std::max(1, s.traffic.users);
  user_cdf_.reserve(static_cast<std::size_t>(users));
  double sum = 0;
  for (int i = 0; i < users; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), s.traffic.skew);
    user_cdf_.push_back(sum);
  }
  for (auto& c : user_cdf_)
    c /= sum;
}

template <class T>
const T* traffic_generator::pick(const mix<T>& m) {
  const auto draw = static_cast<ppm>(rng_() % ppm_one);
  ppm acc = 0;
  for (const auto& [value, share] : m.shares) {
    acc += share;
    if (draw < acc)
      return &value;
  }
  return nullptr;
}

std::string traffic_generator::pick_user() {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const auto it = std::lower_bound(user_cdf_.begin(), user_cdf_.end(), u);
  return "u" + std::to_string(std::min<std::size_t>(static_cast<std::size_t>(it - user_cdf_.begin()),
                                                     user_cdf_.size() - 1));
}

std::optional<arrival> traffic_generator::next() {
  if (!s_.trace.empty()) {
    while (count_ < s_.trace.size()) {
      const auto& row = s_.trace[count_];
      const auto index = count_++;
      if (row.at < s_.start)
        continue;
      if (row.at >= s_.end())
        return std::nullopt;
      arrival a;
      a.at = row.at;
      a.spec.user_id = row.user;
      a.spec.prompt = "trace " + std::to_string(index);
      a.spec.tier_ = row.tier_;
      a.spec.n = row.n;
      a.spec.endpoint = row.endpoint;
      a.spec.segment = row.segment;
      return a;
    }
    return std::nullopt;
  }
  // A Poisson process with a rate constant within each hour: memoryless, so a gap that crosses into the next hour
  // starts afresh at the boundary with that hour's rate.
  while (t_ < s_.end()) {
    const auto [h_start, h] = hour_of(t_);
    const auto h_end = h_start + hour;
    const double rate = s_.traffic.per_hour[static_cast<std::size_t>(h)]; // per hour
    if (rate <= 0) {
      t_ = h_end;
      continue;
    }
    const double gap_s = std::exponential_distribution<double>(rate / 3600.0)(rng_);
    const auto gap = std::chrono::duration_cast<duration>(std::chrono::duration<double>(gap_s));
    if (t_ + gap >= h_end) {
      t_ = h_end;
      continue;
    }
    t_ += gap;
    if (t_ >= s_.end())
      break;
    arrival a;
    a.at = t_;
    a.spec.user_id = pick_user();
    a.spec.prompt = "sim " + std::to_string(count_++);
    if (const auto* t = pick(s_.traffic.tiers))
      a.spec.tier_ = *t;
    if (const auto* n = pick(s_.traffic.n))
      a.spec.n = *n;
    if (const auto* e = pick(s_.traffic.endpoints))
      a.spec.endpoint = *e;
    if (const auto* g = pick(s_.traffic.segments))
      a.spec.segment = *g;
    return a;
  }
  return std::nullopt;
}

std::optional<std::size_t> trace_row_of(const std::string& prompt) {
  if (prompt.rfind("trace ", 0) != 0)
    return std::nullopt;
  return static_cast<std::size_t>(std::strtoull(prompt.c_str() + 6, nullptr, 10));
}

std::string_view to_string(incident_kind k) {
  switch (k) {
    case incident_kind::latency: return "latency";
    case incident_kind::errors: return "errors";
    case incident_kind::rate_limit: return "rate_limit";
    case incident_kind::hang: return "hang";
    case incident_kind::auth: return "auth";
    case incident_kind::quota: return "quota";
    case incident_kind::outage: return "outage";
  }
  return "outage";
}

} // namespace cutover::core
