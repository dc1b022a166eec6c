#pragma once
/// A ratio of two event counts over a sliding span (e.g. fallbacks per finished job over the last 5 minutes), kept
/// as per-slot sums so memory stays bounded (span / slot entries) whatever the rate. Events age out one slot at a
/// time: an event counts for between span - slot and span. Plain value type; time is passed in.

#include "core/types.hpp"

#include <cstdint>
#include <deque>

namespace cutover::core {

class ratio_window {
public:
  ratio_window(duration span, duration slot);
  void add(instant now, std::int64_t numerator, std::int64_t denominator);
  /// numerator / denominator over the span ending at `now`, in parts per million; a numerator with no denominator
  /// counts as if the denominator were 1 (fallbacks with no job finished yet are all there is).
  std::int64_t ratio_ppm(instant now);
  /// Nothing left in the span at `now`.
  bool empty(instant now);

private:
  struct slot_sum {
    std::int64_t index;
    std::int64_t numerator;
    std::int64_t denominator;
  };
  void age(instant now);
  duration span_, slot_;
  std::deque<slot_sum> slots_; ///< oldest first
};

} // namespace cutover::core
