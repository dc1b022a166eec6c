#pragma once
/// Promotion gates of one rollout phase, three-valued: pass, fail, or insufficient data.
///
/// Guarantees:
///  - One evaluation per requirement and per configured gate, in this order: min_samples, min_duration (each only
///    when > 0), cost_per_image_max, p95_max, p95_max (latency: user), failure_rate_max, quality_parity_min, breaker_trips_max (each only
///    when configured). Each carries the figures behind it and a sentence saying them.
///  - While the phase's min_samples (candidate samples in the phase) or min_duration (time in the phase) is not
///    met, every gate is `insufficient` and its reason begins "insufficient data" and names the shortfall; its
///    figures are still filled in, so the audit shows where the candidate stands.
///  - A gate is also `insufficient` when its own figure does not exist yet: no candidate images (cost), no
///    succeeded samples (p95), no samples (failure rate), no quality on either side (parity).
///  - Thresholds are inclusive and exact: cost per image passes iff cost <= max * images (integer micro-dollars,
///    so 0.05 passes and 0.050001 fails at a 0.05 max), p95 iff p95 <= max (either latency), failure rate iff
///    failures * 1e6 <= max_ppm * samples, trips iff trips <= max. Quality parity passes iff
///    candidate mean >= min * baseline mean (1e-9 tolerance for floating-point sums); `observed` is the ratio
///    candidate / baseline and `baseline` the baseline's mean.
///  - all_pass(): every evaluation passed. A phase with neither requirements nor gates passes (empty list).
/// Pure functions of their arguments: no clock, no state.

#include "core/config.hpp"
#include "core/metric_window.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

enum class verdict : std::uint8_t { pass, fail, insufficient };
std::string_view to_string(verdict v); // "pass", "fail", "insufficient data"

/// One gate or trigger evaluated, with the figures behind it (goes into the decision audit).
struct evaluation {
  std::string_view name;     ///< its configuration key, e.g. "p95_max", "error_rate" (a literal: never allocates)
  verdict v = verdict::pass; ///< for triggers: fail = fired, pass = quiet, insufficient = not enough data
  duration window{0};        ///< the span the figures cover
  std::int64_t samples = 0;
  double observed = 0;  ///< seconds for latency, USD for money, fraction (0..1) for rates, ratio for parity, count
  double baseline = 0;  ///< the baseline cohort's same figure (0 when not applicable)
  double threshold = 0; ///< in the same unit as observed
  std::string reason;   ///< a sentence, e.g. "p95 41.2s <= 60s over 3d, 612 samples"
};

/// Every requirement and configured gate of `phase` over the phase so far (see the header comment).
std::vector<evaluation> evaluate_gates(const phase_config& phase, const cohort_stats& candidate,
                                       const cohort_stats& baseline, duration in_phase);
/// The same into `out` (cleared first; its storage is reused). Without `with_reasons` the verdicts and figures are the
/// same and the reasons are left empty: no string is built (a tick that decides nothing writes no sentence).
void evaluate_gates(const phase_config& phase, const cohort_stats& candidate, const cohort_stats& baseline,
                    duration in_phase, std::vector<evaluation>& out, bool with_reasons);

/// The phase may advance: every evaluation passed (an empty list passes: the phase asks for nothing).
bool all_pass(const std::vector<evaluation>& gates);

/// Figures as the reasons write them (shared by gates and triggers).
namespace explain {
std::string seconds(duration d);   ///< "41.2s", "60s", "0.004s" (up to millisecond precision)
std::string span(duration d);      ///< "3d", "1d2h", "10m", "1m30s", "500ms", "0s"
std::string percent(double f);     ///< fraction as percent: 0.05 -> "5%", 0.0425 -> "4.25%"
std::string number(double v);      ///< up to three decimals: "0.9", "0.946", "3"
std::string usd(micros m);         ///< "0.050000 USD"
double to_seconds(duration d);
double to_usd(micros m);
} // namespace explain

} // namespace cutover::core
