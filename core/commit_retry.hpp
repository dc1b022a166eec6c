#pragma once
/// What the store does after a failed group commit: it keeps the batch's events and side rows and tries again after
/// a doubling backoff, until too many commits in a row failed or the rows held grew too big; then the engine stops
/// (the next start recovers from disk). Plain state, no clock: the store actor passes nothing but outcomes.

#include "core/store_ports.hpp"
#include "core/types.hpp"

#include <cstddef>
#include <string>

namespace cutover::core {

struct commit_retry_limits {
  duration first_backoff = std::chrono::milliseconds(100); ///< wait after the first failure; doubles with each one
  duration max_backoff = std::chrono::seconds(5);
  int max_failures = 10;                  ///< consecutive failed commits before the engine stops
  std::size_t max_held_bytes = 64u << 20; ///< rows held for a retry past this: the engine stops
};

class commit_retry {
public:
  explicit commit_retry(commit_retry_limits limits = {}) : limits_(limits) {}

  struct verdict {
    bool stop = false;   ///< give up: the engine stops
    duration wait{0};    ///< else: try again after this
    std::string reason;  ///< why it stops
  };
  /// A commit failed; `held_bytes` is what stays buffered for the next one.
  verdict failed(std::size_t held_bytes);
  void succeeded() { failures_ = 0; }
  int failures() const { return failures_; }
  bool retrying() const { return failures_ > 0; }

private:
  commit_retry_limits limits_;
  int failures_ = 0;
};

/// Roughly how many bytes a batch holds in memory (strings and images included), for the held-bytes limit.
std::size_t held_bytes(const write_batch& b);

} // namespace cutover::core
