#pragma once
/// A latency histogram with log-sized buckets: small, mergeable, and with a bounded relative error.
///
/// Guarantees:
///  - Bucket 0 holds [0, 1 ms]; bucket i > 0 holds (u[i-1], u[i]] where u[i] = u[i-1] + floor(u[i-1] / 50), so
///    u[i] / u[i-1] <= 1.02. The last bucket ends at or just above 24 h (about 930 buckets in all).
///  - quantile(q) is the nearest-rank quantile (rank = ceil(q * count), at least 1) read as the upper bound of the
///    bucket that holds that rank, clamped into [smallest, largest value added]. So for the exact nearest-rank
///    value v: v <= quantile(q) < 1.02 * v when v > 1 ms, and v <= quantile(q) <= 1 ms below that. It never
///    understates and never exceeds the largest value seen.
///  - Negative durations count as 0; durations above 24 h count as 24 h (the error bound holds up to there).
///  - Memory is proportional to the number of distinct buckets used (16 bytes each, at most ~930), so a 10 s
///    window with a few samples costs a few dozen bytes. merge() gives exactly what adding every value would.
/// Plain value type, no clock, no I/O; owned by whoever holds it.

#include "core/types.hpp"

#include <cstdint>
#include <vector>

namespace cutover::core {

class latency_histogram {
public:
  /// Upper bound of bucket 0 (everything at or below it shares one bucket).
  static constexpr duration floor_bound = std::chrono::milliseconds(1);
  /// The largest value kept as itself; larger ones are clamped to it.
  static constexpr duration ceiling = std::chrono::hours(24);
  /// The documented bound on quantile(q) / exact - 1 above floor_bound.
  static constexpr double max_relative_error = 0.02;

  void add(duration d);
  void merge(const latency_histogram& o);
  /// Takes away the values of `o`, every one of which was added or merged in before (the counts stay exact).
  /// min() and max() cannot be taken back: they still cover what was taken away until widen_extremes() resets
  /// them from the parts that remain.
  void subtract(const latency_histogram& o);
  /// Widens min/max to o's (no-op when o is empty); `first` = true replaces them instead, and is then cleared.
  void widen_extremes(const latency_histogram& o, bool& first);
  std::int64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  /// q in [0, 1] (clamped); 0 when empty. See the header comment for the error bound.
  duration quantile(double q) const;
  duration min() const { return empty() ? duration{0} : min_; }
  duration max() const { return empty() ? duration{0} : max_; }
  void clear();

  /// Number of buckets in the scale, and the upper bound of bucket i (for tests and exporters).
  static std::size_t bucket_count();
  static duration bucket_upper(std::size_t i);

private:
  struct bin {
    std::uint16_t index = 0;
    std::int64_t count = 0;
  };
  std::vector<bin> bins_; ///< sorted by index, no zero counts
  std::int64_t count_ = 0;
  duration min_{0};
  duration max_{0};
};

} // namespace cutover::core
