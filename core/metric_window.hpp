#pragma once
/// Metric windows for the rollout: what the candidate and the baseline cohorts did, over a rolling span (for the
/// triggers, evaluated every tick) and since a phase began (for the gates, days long).
///
/// Guarantees:
///  - Counting rules, the same in every view:
///    * a sample is an attempt the provider answered: every observation except our own outcomes (breaker_open,
///      budget_exhausted, over_limit: we never called the provider; cancelled: we stopped waiting; unknown: the
///      engine stopped while the call was on the wire). Those are
///      still listed under `errors`, but count neither as samples nor as failures, carry no latency, and do not
///      count as a response for last_response();
///    * an answered poll (the provider said its remote job is still running, add_poll_answer) is a response for
///      last_response(): the provider is alive and working. It is not a sample: no outcome, latency or cost yet
///      (the job's outcome is counted when it ends). A failed or unanswered poll is neither;
///    * failures are samples with error != none; failure_rate = failures * 1e6 / samples (ppm, rounded down);
///    * latency quantiles are over succeeded samples only (a failure's duration says how fast it failed, not how
///      fast it serves); latency_samples says how many; error bound as latency_histogram (< 2 % above 1 ms);
///    * cost and images add up over every observation; cost_per_image = cost / images rounded to the nearest
///      micro-dollar (0 when no images); gates and triggers compare cost and images exactly, not this rounding;
///    * user wait (created -> final) is counted per route cohort (the cohort of the provider the job was routed
///      to, `observation.route`), once per job, on the attempt that ended it succeeded (a failed job's wait says
///      how fast it gave up, not how fast it serves); user_p50/p95/p99 over user_wait_samples, same error bound;
///    * quality mixes provider scores (observation.quality in [0, 1]) and feedback (add_quality, in [0, 1]);
///      values outside [0, 1] (and NaN) are ignored.
///  - metric_window keeps ceil(span / bucket) buckets in a ring; an observation older than the newest bucket
///    minus the span is dropped (counted in dropped()). Memory is bounded by the ring size times the distinct
///    (provider, tier, cohort) series, which come from the configuration.
///  - stats(from, to) sums the retained buckets overlapping [from, to): the figures cover [from, to) widened
///    to bucket edges (at most one bucket more). The sum of the buckets before the newest is kept per (cohort,
///    first bucket) and extended as buckets close, so a trigger asking every tick merges one or two buckets, not
///    the whole span (the rollout tick was a tenth of a simulated job's cost). When the span's first bucket moves
///    on, the buckets that left are taken away from the kept sum (counts are exact; the quality sum and latency
///    minima/maxima are summed afresh from the remaining buckets, in bucket order, so the doubles are the same
///    bits). An observation that lands in a closed bucket drops those sums. The figures are the same as summing
///    afresh. The last figures asked for per cohort are kept too, with the count of changes they saw: the triggers of
///    one tick ask for the same span several times, and a quiet tick asks for what the last one did.
/// No clock: every call takes the instant it is about. Owned by the rollout controller.

#include "core/latency_histogram.hpp"
#include "core/types.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

enum class cohort : std::uint8_t { candidate, baseline, other }; ///< other: fallback providers
constexpr std::size_t cohort_count = 3;
std::string_view to_string(cohort c); // "candidate", "baseline", "other"

constexpr std::size_t error_class_count = static_cast<std::size_t>(error_class::unknown) + 1;

/// Outcomes that are ours, not the provider's: never a sample, a failure or a response (see above). `unknown`
/// (the engine stopped while a call was on the wire) is one: a kill -9 must not fire error_rate.
constexpr bool is_own_outcome(error_class e) { return is_own_error(e); }

/// One attempt's outcome as the controller sees it.
struct observation {
  instant at{}; ///< when it finished
  std::string provider;
  tier tier_ = tier::sd;
  cohort who = cohort::other;
  error_class error = error_class::none; ///< none = succeeded
  duration latency{0};                  ///< the attempt's duration
  micros cost = 0;
  int images = 0;
  double quality = -1; ///< < 0: the provider gave no score
  /// Set on the attempt that made its job succeed: created -> final, counted for `route`. < 0: none.
  duration user_wait{-1};
  cohort route = cohort::other; ///< the cohort the job was routed to (user_wait only)
};

/// Figures of one cohort over a span; all derived values are integers or exact ratios.
struct cohort_stats {
  std::int64_t samples = 0, failures = 0; ///< see the counting rules above
  ppm failure_rate = 0;
  duration p50{0}, p95{0}, p99{0};
  std::int64_t latency_samples = 0; ///< succeeded samples behind p50/p95/p99
  duration user_p50{0}, user_p95{0}, user_p99{0}; ///< user wait (created -> final) of the cohort's routed jobs
  std::int64_t user_wait_samples = 0;            ///< succeeded jobs behind user_p50/p95/p99
  micros cost = 0;
  std::int64_t images = 0;
  micros cost_per_image = 0; ///< cost / images rounded to the nearest micro-dollar (0 when no images)
  std::map<error_class, std::int64_t> errors; ///< every error class seen (our own outcomes included), non-zero only
  double quality_mean = 0;
  std::int64_t quality_samples = 0; ///< provider scores and feedback together
  std::int64_t breaker_trips = 0;
  std::int64_t dispatches = 0; ///< items sent to the cohort (metric_window only)

  std::int64_t errors_of(error_class e) const;
};

/// Running sums behind cohort_stats; mergeable, so a span is the merge of its buckets.
class cohort_totals {
public:
  void add(const observation& o);
  void add_quality(double q);
  /// Takes back a rating added with add_quality (a newer rating of the same job replaces it).
  void remove_quality(double q);
  void add_breaker_trips(std::int64_t n = 1) { breaker_trips_ += n; }
  void add_dispatches(std::int64_t n) { dispatches_ += n; }
  void add_user_wait(duration wait) { user_wait_.add(wait); }
  void merge(const cohort_totals& o);
  /// Takes away o's counts (o was merged in before). The parts that cannot be taken back exactly (the quality
  /// sum, a double; latency minima and maxima) are then summed afresh by refold() over the parts that remain.
  void subtract(const cohort_totals& o);
  /// refold(o, first) over the remaining parts, in the order they were merged, first = true for the first call.
  struct refold_state {
    bool first_latency = true, first_wait = true;
  };
  void refold_begin() { quality_sum_ = 0; } ///< as merge() into a cleared total starts
  void refold(const cohort_totals& o, refold_state& st);
  cohort_stats stats() const;
  std::int64_t dispatches() const { return dispatches_; }
  const latency_histogram& user_wait() const { return user_wait_; } ///< behind user_p50/p95/p99
  void clear() { *this = cohort_totals{}; }

private:
  std::int64_t samples_ = 0, failures_ = 0, images_ = 0, quality_samples_ = 0, breaker_trips_ = 0, dispatches_ = 0;
  micros cost_ = 0;
  double quality_sum_ = 0;
  std::array<std::int64_t, error_class_count> errors_{};
  latency_histogram latency_;
  latency_histogram user_wait_;
};

/// One (provider, tier, cohort) series over a span, for the figures the API shows.
struct series_stats {
  std::string provider;
  tier tier_ = tier::sd;
  cohort who = cohort::other;
  cohort_stats stats; ///< observations only: feedback, trips and dispatches are kept per cohort, not per series
};

/// Rolling window of buckets of `bucket` width covering `span`, per cohort and per (provider, tier, cohort).
class metric_window {
public:
  /// One hour of 10 s buckets. (Not explicit, so that a member can be initialised with `{}`.)
  metric_window() : metric_window(std::chrono::hours(1), std::chrono::seconds(10)) {}
  /// `bucket` <= 0 becomes 10 s; the span is rounded up to whole buckets (at least one).
  explicit metric_window(duration span, duration bucket = std::chrono::seconds(10));

  void add(const observation& o);
  void add_quality(cohort c, double q, instant at); ///< feedback (0..1)
  /// Takes back feedback added at `at` (a newer rating of the same job replaces it); nothing once its bucket left.
  void remove_quality(cohort c, double q, instant at);
  void add_breaker_trip(cohort c, instant at);
  void add_dispatch(cohort c, instant at, std::int64_t items = 1); ///< items sent to a provider of that cohort

  /// The cohort's figures over the retained buckets overlapping [from, to).
  cohort_stats stats(cohort c, instant from, instant to) const;
  std::int64_t dispatches(cohort c, instant from, instant to) const;
  /// Every series seen over [from, to), ordered by provider, tier, cohort.
  std::vector<series_stats> breakdown(instant from, instant to) const;
  /// A provider of cohort c answered a status poll with "still running" at `at`: liveness only (see above).
  void add_poll_answer(cohort c, instant at);
  /// Time of the newest response (observation that is not our own outcome, or answered poll) of that cohort;
  /// epoch if none.
  instant last_response(cohort c) const { return last_response_[static_cast<std::size_t>(c)]; }

  duration span() const { return bucket_ * static_cast<std::int64_t>(ring_.size()); }
  duration bucket_width() const { return bucket_; }
  std::size_t bucket_count() const { return ring_.size(); }
  /// Observations and events that arrived after their bucket had left the window.
  std::int64_t dropped() const { return dropped_; }

private:
  struct series_key {
    std::string provider;
    tier tier_ = tier::sd;
    cohort who = cohort::other;
    bool operator<(const series_key& o) const;
  };
  struct slot {
    std::int64_t index = 0; ///< bucket number floor(t / bucket); meaningful when used
    bool used = false;
    std::map<series_key, cohort_totals> series;
    std::array<cohort_totals, cohort_count> extras; ///< feedback, breaker trips, dispatches, user waits (by route)
  };

  /// The sum of one cohort's buckets [lo, hi], kept between calls of stats().
  struct kept_sum {
    bool used = false;
    cohort who = cohort::other;
    std::int64_t lo = 0, hi = 0;
    std::int64_t late = 0; ///< late_adds_ when it was summed
    std::uint64_t last_use = 0;
    cohort_totals sum;
  };
  static constexpr std::size_t kept_sums = 16;

  slot* slot_for(instant at);
  template <class F> void for_each_slot(instant from, instant to, F&& f) const;
  /// Merges cohort c's figures of the buckets lo..hi, in bucket order, into `sum`.
  void merge_buckets(cohort c, std::int64_t lo, std::int64_t hi, cohort_totals& sum) const;
  kept_sum& kept_for(cohort c, std::int64_t lo) const;
  /// stats() of buckets lo..hi, through the kept sums.
  cohort_stats figures(cohort c, std::int64_t lo, std::int64_t hi) const;
  /// Moves k's first bucket up to lo by taking the buckets that left away; false when one of them is no longer
  /// in the ring (then k must be summed afresh).
  bool slide(kept_sum& k, std::int64_t lo) const;

  duration bucket_;
  std::vector<slot> ring_;
  std::int64_t newest_ = 0;
  bool any_ = false;
  std::int64_t dropped_ = 0;
  std::array<instant, cohort_count> last_response_{};
  std::int64_t late_adds_ = 0; ///< observations and events that landed in a bucket older than the newest
  mutable std::array<kept_sum, kept_sums> kept_{};
  mutable std::uint64_t uses_ = 0;
  mutable cohort_totals scratch_; ///< figures() of a span with an open bucket: the kept sum plus that bucket

  /// The last stats() of a cohort: valid while nothing changed (changes_ counts every add and removal).
  struct last_stats {
    bool valid = false;
    std::int64_t lo = 0, hi = 0;
    std::uint64_t changes = 0;
    cohort_stats figures;
  };
  std::uint64_t changes_ = 0;
  mutable std::array<last_stats, cohort_count> last_{};
};

/// Figures since a start (a phase's whole life, days long): cumulative, not windowed; reset when a phase begins.
class cumulative_stats {
public:
  void add(const observation& o);
  void add_quality(cohort c, double q);
  void remove_quality(cohort c, double q);
  void add_breaker_trip(cohort c);
  cohort_stats stats(cohort c) const;
  /// The sums behind stats(c), for a reader that needs a few figures every tick, not all of them.
  const cohort_totals& totals(cohort c) const { return totals_[static_cast<std::size_t>(c)]; }
  void reset();

private:
  std::array<cohort_totals, cohort_count> totals_;
};

} // namespace cutover::core
