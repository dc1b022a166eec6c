#pragma once
/// Sequential rollback trigger: an always-valid confidence interval of candidate - baseline (mixture sequential
/// probability ratio test, mSPRT) that fires when the interval lies wholly on the worse side of a margin.
///
/// Why: the threshold triggers judge a minute of figures, which at a few thousand jobs a day is a handful of
/// samples; to stay quiet on a noisy healthy candidate they must be set far from healthy, and then they miss
/// a failure rate that doubles or a latency that grows by half. A sequential test accumulates the evidence of
/// hours or days and may be looked at every tick without inflating its false-alarm rate (that is what
/// "always valid" means: the probability that the interval ever excludes the true difference is at most alpha).
///
/// Semantics:
///  - Two figures, each optional: the failure rate (samples and failures as metric_window counts them: our own
///    outcomes are neither) and the provider latency of succeeded samples, compared on the log scale (the
///    difference of mean log-latencies is the log of the ratio of geometric means).
///  - Tests start on a grid of half `window` (instants that are multiples of window / 2, and at the first
///    observation after a reset) and each lives for `window`: so at any instant one or two tests run, the older
///    with between half a window and a window of figures. A regression that begins mid-test is judged by the test
///    that starts after it within half a window, undiluted by the healthy figures before it.
///  - Each test's interval, at level 1 - alpha, for a difference d with plug-in variance V (each side's sample
///    variance over its count) and mixing scale tau: d +- sqrt(V (V + tau^2) / tau^2 * (2 ln(1/alpha) +
///    ln((V + tau^2) / V))). tau is 0.05 (5 points) for the failure rate and 0.5 for log-latency: the sizes of
///    regression the test is most sensitive to. A failure-rate variance uses (failures + 1) / (samples + 2), so
///    a side with no failures yet does not claim certainty.
///  - Fires when, in a running test with at least min_samples on each side (succeeded samples, for latency),
///    the interval's lower end exceeds the margin: candidate failure rate - baseline's > error_rate_margin, or
///    candidate / baseline geometric-mean latency > latency_factor. `observed` is that lower end (a fraction, or
///    a ratio), `threshold` the margin, `baseline` the baseline's failure rate or geometric mean in seconds; the
///    test reported is the one that fired, else the one with more candidate samples.
/// A plain class: no clock (`now` and the observations' instants are passed in). Owned by the rollout machine;
/// reset() after a rollback or a resume.

#include "core/config.hpp"
#include "core/gates.hpp"
#include "core/metric_window.hpp"

#include <cstdint>
#include <vector>

namespace cutover::core {

/// The mixing scales of the mSPRT (see the header comment).
constexpr double sequential_tau_failure_rate = 0.05;
constexpr double sequential_tau_log_latency = 0.5;

/// One side's sums within one test.
struct sequential_side {
  std::int64_t samples = 0, failures = 0;
  std::int64_t latency_samples = 0;
  double log_mean = 0, log_m2 = 0; ///< Welford's running mean and sum of squares of ln(latency in seconds)

  void add(bool failed, duration latency);
  double log_variance() const; ///< sample variance (0 below two samples)
};

/// Half-width of the always-valid interval at level 1 - alpha for a difference with variance v (v > 0).
double always_valid_half_width(double v, double tau, double alpha);

class sequential_tests {
public:
  /// The candidate's and the baseline's samples (other cohorts and our own outcomes are ignored).
  void add(const observation& o, const sequential_trigger& cfg);
  /// One evaluation per configured figure ("sequential_error_rate", "sequential_latency") into `out` (appended).
  void evaluate(const sequential_trigger& cfg, instant now, std::vector<evaluation>& out, bool with_reasons);
  /// Forgets every test (after a rollback or a resume); the next observation starts one.
  void reset() { tests_.clear(); }
  std::size_t running() const { return tests_.size(); }

private:
  struct test {
    instant start{};
    sequential_side candidate, baseline;
  };
  /// Drops tests older than `window` at `now` and starts the one of now's half-window slot.
  void roll(const sequential_trigger& cfg, instant now);
  evaluation judge(const test& t, bool latency, const sequential_trigger& cfg, instant now, bool with_reasons) const;

  std::vector<test> tests_; ///< oldest first; at most two
};

} // namespace cutover::core
