#pragma once
/// `cutover drill`: a live rollback drill against a running engine (POST /v1/rollout/drill), its record printed.
/// Returns the process exit code.

#include <string>
#include <vector>

namespace cutover::app {

extern const char* const drill_usage;

/// Parses the flags after `drill` and runs it: 0 when the drill passed; 1 when it failed or could not run (no
/// answer, refused, not drained); 2 on a usage error.
int drill(const std::vector<std::string>& args);

} // namespace cutover::app
