#pragma once
/// The adaptive poll schedule of async provider jobs (seed: every 5 s x6, then 15 s x4, then 60 s) until a deadline.
/// Pure arithmetic on offsets from the submit time, so a restarted engine resumes the same schedule.

#include "core/config.hpp"

#include <optional>

namespace cutover::core {

/// The next poll offset (from submit) strictly after `elapsed`, or nullopt when it would pass the deadline:
/// the job then times out at `deadline`. A schedule whose last step has a count goes on at that interval.
std::optional<duration> next_poll_after(const polling_config& polling, duration elapsed);

} // namespace cutover::core
