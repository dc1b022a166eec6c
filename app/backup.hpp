#pragma once
/// `cutover backup`: a consistent copy of the job store while the engine serves. Returns the process exit code.

#include <string>
#include <vector>

namespace cutover::app {

extern const char* const backup_usage;

/// Parses the flags after `backup` and runs it: 0 on success; 1 when the copy failed; 2 on a usage or config error.
int backup(const std::vector<std::string>& args);

} // namespace cutover::app
