#include "core/sequential_test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cutover::core {

namespace {

/// Latencies below a millisecond are taken as one (ln of zero is not a number).
constexpr double min_latency_s = 1e-3;

double smoothed_rate(const sequential_side& s) {
  return static_cast<double>(s.failures + 1) / static_cast<double>(s.samples + 2);
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

/// The test's slot: tests start at multiples of half the window.
std::int64_t slot_of(instant t, duration half) { return t.time_since_epoch() / half; }

duration half_of(const sequential_trigger& cfg) { return std::max<duration>(cfg.window / 2, std::chrono::seconds(1)); }

} // namespace

void sequential_side::add(bool failed, duration latency) {
  ++samples;
  if (failed) {
    ++failures;
    return;
  }
  const double x = std::log(std::max(std::chrono::duration<double>(latency).count(), min_latency_s));
  ++latency_samples;
  const double delta = x - log_mean;
  log_mean += delta / static_cast<double>(latency_samples);
  log_m2 += delta * (x - log_mean);
}

double sequential_side::log_variance() const {
  return latency_samples > 1 ? log_m2 / static_cast<double>(latency_samples - 1) : 0;
}

double always_valid_half_width(double v, double tau, double alpha) {
  const double t2 = tau * tau;
  return std::sqrt(v * (v + t2) / t2 * (2 * std::log(1 / alpha) + std::log((v + t2) / v)));
}

void sequential_tests::roll(const sequential_trigger& cfg, instant now) {
  const duration half = half_of(cfg);
  // A test lives for two half-window slots: the one it started in and the next.
  const auto slot = slot_of(now, half);
  tests_.erase(std::remove_if(tests_.begin(), tests_.end(),
                              [&](const test& t) { return slot_of(t.start, half) < slot - 1; }),
               tests_.end());
  if (tests_.empty() || slot_of(tests_.back().start, half) < slot)
    tests_.push_back(test{tests_.empty() ? now : instant{slot * half}, {}, {}});
}

void sequential_tests::add(const observation& o, const sequential_trigger& cfg) {
  if (o.who == cohort::other || is_own_outcome(o.error))
    return;
  roll(cfg, o.at);
  const bool failed = o.error != error_class::none;
  for (auto& t : tests_)
    if (t.start <= o.at)
      (o.who == cohort::candidate ? t.candidate : t.baseline).add(failed, o.latency);
}

evaluation sequential_tests::judge(const test& t, bool latency, const sequential_trigger& cfg, instant now,
                                   bool with_reasons) const {
  evaluation e;
  e.name = latency ? "sequential_latency" : "sequential_error_rate";
  e.window = now - t.start;
  const auto& c = t.candidate;
  const auto& b = t.baseline;
  const auto cn = latency ? c.latency_samples : c.samples;
  const auto bn = latency ? b.latency_samples : b.samples;
  e.samples = cn;
  const double alpha = static_cast<double>(cfg.alpha) / ppm_one;
  double d = 0, v = 0, margin = 0;
  if (latency) {
    margin = std::log(*cfg.latency_factor);
    e.threshold = *cfg.latency_factor;
    e.baseline = bn ? std::exp(b.log_mean) : 0;
    d = c.log_mean - b.log_mean;
    if (cn > 0 && bn > 0)
      v = c.log_variance() / static_cast<double>(cn) + b.log_variance() / static_cast<double>(bn);
  } else {
    margin = static_cast<double>(*cfg.error_rate_margin) / ppm_one;
    e.threshold = margin;
    e.baseline = bn ? static_cast<double>(b.failures) / static_cast<double>(bn) : 0;
    d = (cn ? static_cast<double>(c.failures) / static_cast<double>(cn) : 0) - e.baseline;
    if (cn > 0 && bn > 0) {
      // Agresti-Caffo: one failure and one success added to each side, for the centre as for the variance; a
      // side with few samples and no failure yet (the baseline's overrides after 100 %) is not taken as perfect
      const double pc = smoothed_rate(c), pb = smoothed_rate(b);
      d = pc - pb;
      v = pc * (1 - pc) / static_cast<double>(cn) + pb * (1 - pb) / static_cast<double>(bn);
    }
  }
  const double hw = v > 0 ? always_valid_half_width(v, latency ? sequential_tau_log_latency : sequential_tau_failure_rate,
                                                    alpha)
                          : 0;
  const double lower = d - hw, upper = d + hw;
  e.observed = latency ? std::exp(lower) : lower;
  const bool enough = cn >= cfg.min_samples && bn >= cfg.min_samples && v > 0;
  e.v = !enough ? verdict::insufficient : lower > margin ? verdict::fail : verdict::pass;
  if (!with_reasons)
    return e;
  const std::string level = explain::percent(1 - alpha);
  const std::string counts = " (" + std::to_string(cn) + " candidate and " + std::to_string(bn) + " baseline " +
                             (latency ? "succeeded samples" : "samples") + " since " + format_rfc3339(t.start) + ")";
  std::string figures, interval;
  if (latency) {
    figures = "candidate / baseline geometric-mean latency " + explain::number(std::exp(d)) + " (" +
              fixed(std::exp(c.log_mean), 2) + "s / " + fixed(e.baseline, 2) + "s)";
    interval = "[" + explain::number(std::exp(lower)) + ", " + explain::number(std::exp(upper)) + "]";
  } else {
    figures = "candidate - baseline failure rate " + explain::percent(d) + " adjusted (" + std::to_string(c.failures) + " of " +
              std::to_string(cn) + " against " + std::to_string(b.failures) + " of " + std::to_string(bn) + ")";
    interval = "[" + explain::percent(lower) + ", " + explain::percent(upper) + "]";
  }
  const std::string bound = latency ? explain::number(*cfg.latency_factor) : explain::percent(margin);
  if (!enough)
    e.reason = figures + counts + ", fewer than " + std::to_string(cfg.min_samples) + " on a side";
  else if (e.v == verdict::fail)
    e.reason = figures + ", always-valid " + level + " interval " + interval + " wholly above " + bound + counts;
  else
    e.reason = figures + ", always-valid " + level + " interval " + interval + " not wholly above " + bound + counts;
  return e;
}

void sequential_tests::evaluate(const sequential_trigger& cfg, instant now, std::vector<evaluation>& out,
                                bool with_reasons) {
  roll(cfg, now);
  for (const bool latency : {false, true}) {
    if (latency ? !cfg.latency_factor : !cfg.error_rate_margin)
      continue;
    // The test that fired, else the one with the most candidate samples (the older one): judged without reasons
    // first, so a quiet tick builds no sentence.
    const test* pick = nullptr;
    std::int64_t most = -1;
    for (const auto& t : tests_) {
      const auto e = judge(t, latency, cfg, now, false);
      if (e.v == verdict::fail) {
        pick = &t;
        break;
      }
      if (e.samples > most) {
        most = e.samples;
        pick = &t;
      }
    }
    out.push_back(judge(*pick, latency, cfg, now, with_reasons));
  }
}

} // namespace cutover::core
