#pragma once
/// The one place that pairs the actor clock with wall-clock time. `serve` anchors it to the system clock once at
/// start; tests and `simulate` anchor it to a fixed instant, so every timestamp follows virtual time.

#include "core/types.hpp"

#include <caf/actor_clock.hpp>

namespace cutover::actors {

class clock_anchor {
public:
  clock_anchor() = default;
  clock_anchor(core::instant wall, caf::actor_clock::time_point clock) : wall_(wall), clock_(clock) {}

  core::instant at(caf::actor_clock::time_point t) const {
    return wall_ + std::chrono::duration_cast<core::duration>(t - clock_);
  }
  core::instant now(const caf::actor_clock& clock) const { return at(clock.now()); }

private:
  core::instant wall_{};
  caf::actor_clock::time_point clock_{};
};

} // namespace cutover::actors
