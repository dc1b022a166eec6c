#pragma once
/// The store on SQLite (WAL): implements core::store_db with one connection shared by its jobs, budget and
/// rollout-audit parts; one owner; a commit writes the rows of every role in one transaction.

#include "core/config.hpp"
#include "core/store_ports.hpp"

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
std::unique_ptr<core::store_db> open_sqlite_store(const std::string& path, core::sync_mode sync);

struct store_open_options {
  /// serve: a thread copies the WAL back off the commit path. simulate: no thread (one thread runs everything and
  /// nothing waits on an fsync), SQLite checkpoints inside the commits, and the one connection holds the file's
  /// lock until it closes (no other connection may open the file meanwhile).
  bool checkpointer = true;
  /// serve: the indexes of the operators' job list, erasure and retention sweep. simulate: none (it runs no such
  /// query, and the user index costs its store five times the page writes).
  bool operator_indexes = true;
};
std::unique_ptr<core::store_db> open_sqlite_store(const std::string& path, core::sync_mode sync,
                                                  store_open_options opts);

/// The `PRAGMA synchronous` level in force on `store`'s connection, as SQLite reports it (0 OFF, 1 NORMAL,
/// 2 FULL); -1 when `store` is not one open_sqlite_store made. Call it before the store has an owner (it uses the
/// store's one connection).
int applied_synchronous(core::store_db& store);

} // namespace cutover::store_adapter
