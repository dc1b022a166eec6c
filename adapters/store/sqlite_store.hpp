#pragma once
/// The job store on SQLite (WAL): jobs and their attempts. Implements core::job_store; one connection, one owner.
/// Events of one `write` are folded so each job row and each attempt row is written once per commit.

#include "core/config.hpp"
#include "core/ports.hpp"

#include <memory>
#include <stdexcept>
#include <string>

namespace cutover::store_adapter {

/// Raised when the database cannot be opened or written; the store actor turns it into an error reply.
struct store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Opens (and creates or migrates) the database at `path`; parent folders are created. Fails when SQLite does not
/// apply `sync` (read back after setting it).
std::unique_ptr<core::job_store> open_sqlite_store(const std::string& path, core::sync_mode sync);

/// The `PRAGMA synchronous` level in force on `store`'s connection, as SQLite reports it (0 OFF, 1 NORMAL,
/// 2 FULL); -1 when `store` is not one open_sqlite_store made. Call it before the store has an owner (it uses the
/// store's one connection).
int applied_synchronous(core::job_store& store);

} // namespace cutover::store_adapter
