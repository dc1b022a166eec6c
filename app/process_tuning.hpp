#pragma once
/// Process-wide settings for a long-running engine, applied first thing in main.

#include <malloc.h>

namespace cutover::app {

/// glibc gives freed memory of thread arenas back to the kernel at every opportunity (madvise), which costs a TLB
/// shootdown across cores each time; on a busy engine that was the largest single cost of a durable commit
/// (measured with bench/cutover-bench --window 1: 2.4k -> 7.4k jobs/s). Keep up to 512 MiB instead.
inline void tune_allocator() { mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024); }

} // namespace cutover::app
