#pragma once
/// An actor system on CAF's deterministic test scheduler: actors run only in `run()`, timers fire only when
/// virtual time is advanced. No test sleeps.

#include "actors/clock.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

namespace cutover::testing {

/// 2026-01-01T00:00:00Z: the wall-clock instant virtual time starts at.
constexpr core::instant virtual_epoch{std::chrono::seconds(1767225600)};

struct virtual_time {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;

  virtual_time() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.inline-output", true);
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    anchor_ = actors::clock_anchor{virtual_epoch, sched->clock().now()};
  }

  /// Maps the actor clock to wall time, with virtual_epoch at the moment the system was made.
  actors::clock_anchor anchor() const { return anchor_; }
  core::instant now() const { return anchor_.at(sched->clock().now()); }
  void run() { sched->run(); }
  /// Advances virtual time by `d`, one due timer at a time: each fires at its own time, and what it triggers
  /// runs (and may arm further timers) before the next one.
  void advance(core::duration d) {
    auto& clock = sched->clock();
    const auto target = clock.now() + d;
    sched->run();
    while (!clock.schedule().empty() && clock.schedule().begin()->first <= target) {
      clock.trigger_timeout(); // moves the clock to the timer's due time
      sched->run();
    }
    clock.current_time = target;
  }
  /// Advances in steps of `step` until `pred()` or `limit` of virtual time passed; true when `pred()` held.
  template <class Pred>
  bool advance_until(Pred pred, core::duration limit, core::duration step = std::chrono::milliseconds(100)) {
    sched->run();
    for (core::duration t{0}; t < limit; t += step) {
      if (pred())
        return true;
      advance(step);
    }
    return pred();
  }

  actors::clock_anchor anchor_;
};

/// A fresh folder under the system temp dir, removed at the end of the test.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("cutover-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

} // namespace cutover::testing
