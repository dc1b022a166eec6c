#pragma once
/// Names the calling thread as `top -H`, `perf report --sort comm` and /proc/<pid>/task/*/comm show it. Threads
/// otherwise inherit the name of the thread that made them, so a profile could not tell the engine's threads apart.

#include <pthread.h>

namespace cutover::core {

/// At most 15 characters are kept (the kernel's limit); a longer name is refused and the thread keeps its old one.
inline void name_this_thread(const char* name) { ::pthread_setname_np(::pthread_self(), name); }

} // namespace cutover::core
