#pragma once
/// Reads a cutover SQLite store directly (read-only), to check what really is on disk.

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>

namespace cutover::testing {

inline long long count_rows(const std::string& db_path, const std::string& sql) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, sql);
  q.executeStep();
  return q.getColumn(0).getInt64();
}

} // namespace cutover::testing
