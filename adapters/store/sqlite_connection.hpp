#pragma once
/// The one SQLite connection the store's role parts share (adapter-internal): opens the file in WAL mode, creates
/// and migrates the schema, checkpoints off the commit path, and turns SQLite's exceptions into store_error.

#include "adapters/store/sqlite_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <memory>
#include <mutex>
#include <string>

namespace cutover::store_adapter::detail {

inline std::int64_t us(core::instant t) { return t.time_since_epoch().count(); }
inline core::instant at_us(std::int64_t v) { return core::instant{core::duration{v}}; }

class checkpointer;

/// The statuses that end a job, as SQL over `status`: comparisons joined by AND / OR, never an `IN (...)` list, for
/// which SQLite builds a temporary table at each run of a statement (five per UPDATE of a job row, counting the
/// partial indexes below; about a tenth of the store's time under load). The partial indexes are declared with
/// these texts, and a query that should use one must say the same (SQLite matches its WHERE term by term).
inline constexpr const char* sql_job_open =
  "status<>'succeeded' AND status<>'failed' AND status<>'dead_lettered' AND status<>'cancelled'";
inline constexpr const char* sql_job_ended = "(status='succeeded' OR status='failed' OR status='cancelled')";

/// The writer's restarts of a long WAL (sqlite_connection.cpp): when to try next, and the lock the checkpointer
/// holds while it checkpoints.
struct wal_restart {
  int next_try = 0; ///< frames in the WAL at which to try next
  std::mutex lock;
};

class connection {
public:
  /// `with_checkpointer` false (simulate): no checkpoint thread, SQLite checkpoints in the commits, and the connection
  /// keeps the file's lock until it closes.
  connection(const std::string& path, core::sync_mode sync, bool with_checkpointer = true,
             bool with_operator_indexes = true);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  SQLite::Database& db() { return db_; }
  /// What SQLite applies to each commit on this connection (0 OFF, 1 NORMAL, 2 FULL), read back from SQLite.
  int synchronous();

  /// SQLite's exceptions stop at this boundary and leave as store_error.
  template <class Fn>
  auto guarded(const char* what, Fn fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const SQLite::Exception& e) {
      throw store_error(std::string{"store "} + what + ": " + e.what());
    }
  }

private:
  void migrate();
  /// Makes index `name` as `create` (a CREATE INDEX statement) says, replacing an older definition of it.
  void ensure_index(const std::string& name, const std::string& create);
  wal_restart restart_; ///< declared before db_ and the checkpointer: outlives both
  SQLite::Database db_;
  std::unique_ptr<checkpointer> checkpoints_; ///< declared after db_: stopped before the connection closes
};

} // namespace cutover::store_adapter::detail
