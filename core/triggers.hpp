#pragma once
/// Rollback triggers: evaluated on every tick in every rollout state; any one firing rolls the candidate back.
///
/// Windows: "the trailing window w" at `now` is metric_window::stats(now - w, now + 1us), i.e. the buckets
/// overlapping [now - w, now], so it may reach back up to one bucket (10 s) more than w. The evaluation window
/// (constructor, default 1 min) is what sustained conditions are judged over on each tick.
///
/// Semantics, one evaluation per configured trigger, in this order (fail = fired, pass = quiet,
/// insufficient = cannot judge now):
///  - error_rate {above, for, min_samples}: condition = candidate failures / samples over the evaluation window
///    > above. Sustained: the first tick where it holds starts a breach (breach_since = now); a tick where it is
///    false ends it; a tick with no candidate samples neither starts nor ends it (insufficient), but a breach not
///    judged (held) for longer than the evaluation window ends on such a tick: a gap of empty minutes does not
///    count toward `for`, and the breach starts afresh on the next tick where it holds. It fires on a
///    tick where it holds, now - breach_since >= for, and the candidate samples over
///    [breach_since - evaluation window, now] >= min_samples (otherwise insufficient, saying how many).
///  - p95_vs_baseline / p99_vs_baseline {factor, for}: condition = candidate p95 (p99) over the evaluation window
///    > factor x the baseline cohort's p95 (p99) over the same window (the concurrent baseline). Same sustained
///    rule (an unjudged gap longer than the evaluation window ends the breach); no succeeded sample on either side
///    in the window = no judgement. With `latency: user` the figures are
///    the user waits (created -> final) of the jobs routed to each cohort that succeeded in the window. It fires
///    on the first tick at which `for` of continuous breach is reached, so within one tick of the condition
///    having held for `for`, provided each side has min_samples succeeded samples over [breach_since - evaluation
///    window, now] (otherwise insufficient; default_latency_min_samples when the config says 0).
///  - cost_over_budget (ppm x): fires at once when candidate cost / images over the evaluation window
///    > reference x (1 + x), compared exactly in integers (at the limit: quiet). Insufficient without a
///    reference or without candidate images in the window.
///  - auth_failures {above, for}: fires at once when the candidate's auth errors over the trailing `for`
///    > above (11 with above 10 fires; 10 does not).
///  - breaker_trips {above, for}: fires at once when the candidate's breaker tripped more than `above` times over
///    the trailing `for` (a breaker that keeps re-opening: the candidate recovers and fails again). `for` is at
///    most breaker_trips_max_window, what the rollout's metric window keeps.
///  - content_policy_rate {above, for, min_samples}: content_policy errors / candidate samples over the trailing
///    `for` > above; insufficient below min_samples (default_content_policy_min_samples when the config says 0).
///  - quota_exhausted (when true): fires at once on any candidate quota error in the evaluation window.
///  - silence {for}: never fires unless ctx.traffic_expected. The evaluator remembers since when traffic has
///    been expected without a break (expected_since). It fires when now - max(last candidate response,
///    expected_since) >= for and an item dispatched to the candidate since then has waited `for` unanswered
///    (dispatched in [quiet_since, now - for], at the window's 10 s resolution; after an answer, from the next
///    bucket on, so an item answered within its own bucket does not count). So every item, the first after a
///    start, a resume or a quiet spell included, is given `for` to be answered.
///  - A trigger absent from the configuration is not evaluated and its memory is dropped.
/// Each reason names the figures, e.g. "candidate p95 38s > 3 x baseline 9.1s for 10m (since ...)".
/// No clock: `now` is passed in. Owned by the rollout controller; reset() after a rollback or a resume.

#include "core/config.hpp"
#include "core/gates.hpp"
#include "core/metric_window.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace cutover::core {

/// The longest `for` of the breaker_trips trigger: the trips are counted in the rollout's metric window (one hour).
constexpr duration breaker_trips_max_window = std::chrono::hours(1);

/// content_policy_rate without a min_samples (0 in the model) waits for this many samples.
constexpr int default_content_policy_min_samples = 20;
/// p95/p99_vs_baseline without a min_samples (0 in the model): succeeded samples each side needs over the breach.
constexpr int default_latency_min_samples = 20;

/// Context the triggers need besides the window.
struct trigger_context {
  /// percent > 0 and items were dispatched to the candidate in the silence window (the controller decides).
  bool traffic_expected = false;
  /// Cost per image the candidate may cost (the phase's cost_per_image_max, else the baseline's cost per image).
  std::optional<micros> cost_reference;
};

class trigger_evaluator {
public:
  /// A one-minute evaluation window. (Not explicit, so that a member can be initialised with `{}`.)
  trigger_evaluator() : trigger_evaluator(std::chrono::minutes(1)) {}
  /// `evaluation_window` <= 0 becomes one minute.
  explicit trigger_evaluator(duration evaluation_window);

  /// Evaluates every configured trigger at `now` and returns one evaluation each (fail = fired).
  std::vector<evaluation> evaluate(const triggers_config& cfg, const metric_window& w, const trigger_context& ctx,
                                   instant now);
  /// The same into `out` (cleared first; its storage is reused). Without `with_reasons` the verdicts, figures and the
  /// memory of breaches are the same and the reasons are left empty: no string is built. Evaluating twice at the
  /// same `now` over the same figures gives the same verdicts (the second call finds the memory the first left),
  /// so a caller may judge cheaply first and build the reasons only when it writes a decision.
  void evaluate(const triggers_config& cfg, const metric_window& w, const trigger_context& ctx, instant now,
                std::vector<evaluation>& out, bool with_reasons);
  /// Forgets every breach and the silence memory (after a rollback or a resume).
  void reset();

  /// Since when a sustained trigger's condition has held ("error_rate", "p95_vs_baseline", "p99_vs_baseline"),
  /// or since when traffic has been expected ("silence"); nullopt when not.
  std::optional<instant> since(std::string_view trigger) const;
  duration evaluation_window() const { return window_; }

private:
  evaluation error_rate(const rate_trigger& t, const metric_window& w, instant now, bool with_reasons);
  evaluation latency_factor(const char* name, duration cohort_stats::*q, const factor_trigger& t, const metric_window& w,
                            instant now, std::optional<instant>& since, instant& judged, bool with_reasons);
  /// On a tick that cannot judge: ends a breach last judged more than the evaluation window ago (see above).
  void expire(std::optional<instant>& since, instant judged, instant now) const;

  duration window_;
  std::optional<instant> error_since_, p95_since_, p99_since_, expected_since_;
  /// The last tick at which each breach was seen to hold (meaningful while its *_since_ is set).
  instant error_judged_{}, p95_judged_{}, p99_judged_{};
};

/// Any trigger fired.
bool any_fired(const std::vector<evaluation>& triggers);

} // namespace cutover::core
