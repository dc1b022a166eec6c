#pragma once
/// A consistent copy of a live store: one read transaction over the whole database, written to a new file, so the
/// engine may go on serving (its writer never waits for the copy, and the copy never restarts on its writes).

#include <cstdint>
#include <string>

namespace cutover::store_adapter {

struct backup_result {
  bool ok = false;
  std::string error;        ///< why not, when !ok
  std::uint64_t bytes = 0;  ///< size of the copy
  std::int64_t jobs = 0;    ///< jobs in the copy
};

/// Copies the database at `from` into `to`, which must not exist yet: written beside it under a temporary name,
/// checked (`PRAGMA quick_check`), fsynced, then renamed into place. The copy holds every transaction committed
/// before the copy began, and none after.
backup_result backup_sqlite(const std::string& from, const std::string& to);

} // namespace cutover::store_adapter
