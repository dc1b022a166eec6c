#pragma once
/// Restart intensity of a supervisor: at most `max_restarts` restarts within `window`; one more escalates.

#include "core/types.hpp"

#include <deque>

namespace cutover::core {

namespace defaults {
constexpr int max_restarts = 5;
constexpr duration restart_window = std::chrono::seconds(60);
} // namespace defaults

class restart_intensity {
public:
  restart_intensity(int max_restarts = defaults::max_restarts, duration window = defaults::restart_window)
    : max_(max_restarts), window_(window) {}

  /// Records a crash at `now`; true when a restart is still allowed, false when the supervisor must escalate.
  bool allow_restart(instant now) {
    while (!recent_.empty() && recent_.front() + window_ <= now)
      recent_.pop_front();
    if (static_cast<int>(recent_.size()) >= max_)
      return false;
    recent_.push_back(now);
    return true;
  }

  int recent() const { return static_cast<int>(recent_.size()); }

private:
  int max_;
  duration window_;
  std::deque<instant> recent_;
};

} // namespace cutover::core
