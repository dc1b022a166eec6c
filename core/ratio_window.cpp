#include "core/ratio_window.hpp"

#include <algorithm>

namespace cutover::core {

ratio_window::ratio_window(duration span, duration slot)
  : span_(std::max(span, duration{1})), slot_(std::clamp(slot, duration{1}, span_)) {}

void ratio_window::age(instant now) {
  const auto current = now.time_since_epoch() / slot_;
  const auto kept = span_ / slot_; // slots in the span, the current one included
  while (!slots_.empty() && slots_.front().index <= current - kept)
    slots_.pop_front();
}

void ratio_window::add(instant now, std::int64_t numerator, std::int64_t denominator) {
  age(now);
  const auto index = now.time_since_epoch() / slot_;
  if (slots_.empty() || slots_.back().index < index)
    slots_.push_back({index, 0, 0});
  // a `now` earlier than the newest slot (clocks do not go back here, but a caller's might) counts in the newest
  slots_.back().numerator += numerator;
  slots_.back().denominator += denominator;
}

std::int64_t ratio_window::ratio_ppm(instant now) {
  age(now);
  std::int64_t num = 0, den = 0;
  for (const auto& s : slots_) {
    num += s.numerator;
    den += s.denominator;
  }
  return num * 1'000'000 / std::max<std::int64_t>(den, 1);
}

bool ratio_window::empty(instant now) {
  age(now);
  return slots_.empty();
}

} // namespace cutover::core
