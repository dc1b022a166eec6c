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

/// Opens (and creates or migrates) the database at `path`; parent folders are created.
std::unique_ptr<core::job_store> open_sqlite_store(const std::string& path, core::sync_mode sync);

struct store_open_options {
  /// serve: a thread copies the WAL back off the commit path. simulate: no thread (one thread runs everything and
  /// nothing waits on an fsync), SQLite checkpoints inside the commits, and the one connection holds the file's
  /// lock until it closes (no other connection may open the file meanwhile).
  bool checkpointer = true;
};
std::unique_ptr<core::job_store> open_sqlite_store(const std::string& path, core::sync_mode sync,
                                                   store_open_options opts);

} // namespace cutover::store_adapter
