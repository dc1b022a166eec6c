#include "core/gates.hpp"

#include <algorithm>
#include <cstdio>

namespace cutover::core {

std::string_view to_string(verdict v) {
  switch (v) {
  case verdict::pass: return "pass";
  case verdict::fail: return "fail";
  case verdict::insufficient: return "insufficient data";
  }
  return "?";
}

namespace explain {

namespace {
/// "%.3f" without trailing zeros (and without a trailing dot).
std::string trimmed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0')
    s.pop_back();
  if (!s.empty() && s.back() == '.')
    s.pop_back();
  return s == "-0" ? "0" : s;
}
} // namespace

double to_seconds(duration d) { return static_cast<double>(d.count()) / 1e6; }
double to_usd(micros m) { return static_cast<double>(m) / static_cast<double>(micros_per_usd); }
std::string seconds(duration d) { return trimmed(to_seconds(d)) + "s"; }
std::string percent(double f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", f * 100);
  std::string s = buf;
  while (s.back() == '0')
    s.pop_back();
  if (s.back() == '.')
    s.pop_back();
  return s + "%";
}
std::string number(double v) { return trimmed(v); }
std::string usd(micros m) { return format_usd(m) + " USD"; }

std::string span(duration d) {
  using namespace std::chrono;
  if (d == duration{0})
    return "0s";
  if (d < 1s)
    return std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
  std::string out;
  auto s = duration_cast<std::chrono::seconds>(d).count();
  const std::pair<std::int64_t, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& [size, name] : units)
    if (s >= size) {
      out += std::to_string(s / size) + name;
      s %= size;
    }
  return out;
}

} // namespace explain

namespace {

using explain::span;

evaluation make(std::string_view name, duration in_phase, const cohort_stats& c) {
  evaluation e;
  e.name = name;
  e.window = in_phase;
  e.samples = c.samples;
  return e;
}

/// The verdict: a phase requirement short (`short_of`) or the gate's own figure absent (`missing`) is insufficient.
verdict verdict_of(bool ok, bool missing, bool short_of) {
  return short_of || missing ? verdict::insufficient : ok ? verdict::pass : verdict::fail;
}

/// The sentence for verdict_of's verdict: `missing` (own figure absent) and `shortfall` (phase requirement) win.
std::string reason_of(const std::string& figures, const std::string& missing, const std::string& shortfall) {
  if (!shortfall.empty())
    return "insufficient data: " + shortfall + (missing.empty() ? " (" + figures + ")" : ", " + missing);
  if (!missing.empty())
    return "insufficient data: " + missing;
  return figures;
}

} // namespace

std::vector<evaluation> evaluate_gates(const phase_config& phase, const cohort_stats& cand, const cohort_stats& base,
                                       duration in_phase) {
  std::vector<evaluation> out;
  evaluate_gates(phase, cand, base, in_phase, out, true);
  return out;
}

void evaluate_gates(const phase_config& phase, const cohort_stats& cand, const cohort_stats& base, duration in_phase,
                    std::vector<evaluation>& out, bool with_reasons) {
  out.clear();
  bool short_of = false;
  std::string shortfall; // the sentence of short_of (with reasons only)
  const std::string over =
    with_reasons ? " over " + span(in_phase) + ", " + std::to_string(cand.samples) + " samples" : std::string{};

  if (phase.min_samples > 0) {
    auto e = make("min_samples", in_phase, cand);
    e.observed = static_cast<double>(cand.samples);
    e.threshold = phase.min_samples;
    const bool ok = cand.samples >= phase.min_samples;
    e.v = ok ? verdict::pass : verdict::insufficient;
    short_of = !ok;
    if (with_reasons) {
      const std::string counts = std::to_string(cand.samples) + " of " + std::to_string(phase.min_samples) +
                                 " candidate samples";
      e.reason = ok ? counts + " reached" : "insufficient data: " + counts;
      if (!ok)
        shortfall = counts;
    }
    out.push_back(std::move(e));
  }
  if (phase.min_duration > duration{0}) {
    auto e = make("min_duration", in_phase, cand);
    e.observed = explain::to_seconds(in_phase);
    e.threshold = explain::to_seconds(phase.min_duration);
    const bool ok = in_phase >= phase.min_duration;
    e.v = ok ? verdict::pass : verdict::insufficient;
    short_of = short_of || !ok;
    if (with_reasons) {
      const std::string times = span(in_phase) + " of " + span(phase.min_duration) + " in phase";
      e.reason = ok ? times + " reached" : "insufficient data: " + times;
      if (!ok)
        shortfall += (shortfall.empty() ? "" : ", ") + times;
    }
    out.push_back(std::move(e));
  }

  const auto& g = phase.gates;
  if (g.cost_per_image_max) {
    auto e = make("cost_per_image_max", in_phase, cand);
    const micros max = *g.cost_per_image_max;
    e.observed = explain::to_usd(cand.cost_per_image);
    e.baseline = explain::to_usd(base.cost_per_image);
    e.threshold = explain::to_usd(max);
    const bool ok = cand.cost <= max * cand.images;
    const bool missing = cand.images <= 0;
    e.v = verdict_of(ok, missing, short_of);
    if (with_reasons)
      e.reason = reason_of("cost per image " + explain::usd(cand.cost_per_image) + (ok ? " <= " : " > ") +
                             explain::usd(max) + " (" + explain::usd(cand.cost) + " for " +
                             std::to_string(cand.images) + " images)" + over,
                           missing ? "no candidate images yet" : "", shortfall);
    out.push_back(std::move(e));
  }
  if (g.p95_max) {
    auto e = make("p95_max", in_phase, cand);
    e.observed = explain::to_seconds(cand.p95);
    e.baseline = explain::to_seconds(base.p95);
    e.threshold = explain::to_seconds(*g.p95_max);
    const bool ok = cand.p95 <= *g.p95_max;
    const bool missing = cand.latency_samples <= 0;
    e.v = verdict_of(ok, missing, short_of);
    if (with_reasons)
      e.reason = reason_of("p95 " + explain::seconds(cand.p95) + (ok ? " <= " : " > ") + explain::seconds(*g.p95_max) +
                             over,
                           missing ? "no succeeded candidate samples yet" : "", shortfall);
    out.push_back(std::move(e));
  }
  if (g.user_p95_max) {
    // what users wait, created -> final: the batch window, retries and fallbacks on top of the provider call
    auto e = make("p95_max (latency: user)", in_phase, cand);
    e.samples = cand.user_wait_samples;
    e.observed = explain::to_seconds(cand.user_p95);
    e.baseline = explain::to_seconds(base.user_p95);
    e.threshold = explain::to_seconds(*g.user_p95_max);
    const bool ok = cand.user_p95 <= *g.user_p95_max;
    const bool missing = cand.user_wait_samples <= 0;
    e.v = verdict_of(ok, missing, short_of);
    if (with_reasons)
      e.reason = reason_of("user wait p95 " + explain::seconds(cand.user_p95) + (ok ? " <= " : " > ") +
                             explain::seconds(*g.user_p95_max) + " (created -> final, " +
                             std::to_string(cand.user_wait_samples) + " succeeded jobs) over " + span(in_phase),
                           missing ? "no succeeded candidate jobs yet" : "", shortfall);
    out.push_back(std::move(e));
  }
  if (g.failure_rate_max) {
    auto e = make("failure_rate_max", in_phase, cand);
    const ppm max = *g.failure_rate_max;
    e.observed = cand.samples ? static_cast<double>(cand.failures) / static_cast<double>(cand.samples) : 0;
    e.baseline = base.samples ? static_cast<double>(base.failures) / static_cast<double>(base.samples) : 0;
    e.threshold = static_cast<double>(max) / ppm_one;
    const bool ok = cand.failures * ppm_one <= static_cast<std::int64_t>(max) * cand.samples;
    const bool missing = cand.samples <= 0;
    e.v = verdict_of(ok, missing, short_of);
    if (with_reasons)
      e.reason = reason_of("failure rate " + explain::percent(e.observed) + " (" + std::to_string(cand.failures) +
                             " of " + std::to_string(cand.samples) + ")" + (ok ? " <= " : " > ") +
                             explain::percent(e.threshold) + " over " + span(in_phase),
                           missing ? "no candidate samples yet" : "", shortfall);
    out.push_back(std::move(e));
  }
  if (g.quality_parity_min) {
    auto e = make("quality_parity_min", in_phase, cand);
    const double min = *g.quality_parity_min;
    e.observed = base.quality_mean > 0 ? cand.quality_mean / base.quality_mean : 0;
    e.baseline = base.quality_mean;
    e.threshold = min;
    const bool ok = cand.quality_mean >= min * base.quality_mean - 1e-9;
    const bool missing = cand.quality_samples == 0 || base.quality_samples == 0;
    e.v = verdict_of(ok, missing, short_of);
    if (with_reasons)
      e.reason = reason_of("quality parity " + explain::number(e.observed) + (ok ? " >= " : " < ") +
                             explain::number(min) + " (candidate " + explain::number(cand.quality_mean) + " over " +
                             std::to_string(cand.quality_samples) + " ratings, baseline " +
                             explain::number(base.quality_mean) + " over " + std::to_string(base.quality_samples) +
                             ") over " + span(in_phase),
                           cand.quality_samples == 0   ? "no candidate quality ratings yet"
                           : base.quality_samples == 0 ? "no baseline quality ratings yet"
                                                       : "",
                           shortfall);
    out.push_back(std::move(e));
  }
  if (g.breaker_trips_max) {
    auto e = make("breaker_trips_max", in_phase, cand);
    e.observed = static_cast<double>(cand.breaker_trips);
    e.baseline = static_cast<double>(base.breaker_trips);
    e.threshold = *g.breaker_trips_max;
    const bool ok = cand.breaker_trips <= *g.breaker_trips_max;
    e.v = verdict_of(ok, false, short_of);
    if (with_reasons)
      e.reason = reason_of("breaker trips " + std::to_string(cand.breaker_trips) + (ok ? " <= " : " > ") +
                             std::to_string(*g.breaker_trips_max) + " over " + span(in_phase),
                           "", shortfall);
    out.push_back(std::move(e));
  }
}

bool all_pass(const std::vector<evaluation>& gates) {
  return std::all_of(gates.begin(), gates.end(), [](const evaluation& e) { return e.v == verdict::pass; });
}

} // namespace cutover::core
