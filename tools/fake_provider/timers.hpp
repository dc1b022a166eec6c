#pragma once
/// Delayed answers without blocking a cpprestsdk thread: one boost::asio io_context on a thread of its own runs a
/// steady_timer per delayed or held answer. A held (hung) answer is let go when its timer ends, when more than
/// `max_held` are held (the oldest first), or at shutdown; a delayed answer is sent at once on shutdown.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace cutover::fake {

class timers {
public:
  static constexpr std::size_t max_held = 512;

  timers();
  ~timers();
  timers(const timers&) = delete;
  timers& operator=(const timers&) = delete;

  /// Runs `fn` on the timer thread after `delay` (or at once once shutdown has begun).
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  /// Like `after`, but counted as held: past `max_held` held the oldest is let go early.
  void hold(std::chrono::milliseconds limit, std::function<void()> release);
  /// Runs every pending function now and stops the thread; later calls run their function at once.
  void shutdown();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace cutover::fake
