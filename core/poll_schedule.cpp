#include "core/poll_schedule.hpp"

namespace cutover::core {

std::optional<duration> next_poll_after(const polling_config& polling, duration elapsed) {
  duration at{0};
  const auto& steps = polling.schedule;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& step = steps[i];
    if (step.every <= duration{0})
      return std::nullopt;
    const bool last = step.times == 0 || i + 1 == steps.size();
    const duration end = at + step.every * step.times;
    if (last || elapsed < end) {
      const auto into = elapsed < at ? duration{0} : elapsed - at;
      const auto next = at + step.every * (into / step.every + 1);
      if (next <= polling.deadline)
        return next;
      return std::nullopt;
    }
    at = end;
  }
  return std::nullopt;
}

} // namespace cutover::core
