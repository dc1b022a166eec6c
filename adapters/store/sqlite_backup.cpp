#include "adapters/store/sqlite_backup.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace cutover::store_adapter {

namespace {

/// Flushes a file (or a folder, for the rename) to disk; whether it worked.
bool fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

} // namespace

backup_result backup_sqlite(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  backup_result r;
  std::error_code ec;
  if (!fs::exists(from, ec)) {
    r.error = "no store at " + from;
    return r;
  }
  if (fs::exists(to, ec)) {
    r.error = to + " exists already (a backup never overwrites a file)";
    return r;
  }
  const auto target = fs::absolute(to, ec);
  const auto partial = target.string() + ".partial";
  fs::remove(partial, ec); // left by a backup that was stopped half way
  try {
    {
      // read only: VACUUM INTO reads the source in one transaction; in WAL mode it never blocks the writer's commits
      // (only the writer's restart of a long WAL waits for it, 100 ms at most per 16 MiB of commits)
      SQLite::Database source(from, SQLite::OPEN_READONLY);
      source.setBusyTimeout(10'000);
      SQLite::Statement q(source, "VACUUM INTO ?1");
      q.bind(1, partial);
      q.exec();
    }
    SQLite::Database copy(partial, SQLite::OPEN_READONLY);
    const auto check = copy.execAndGet("PRAGMA quick_check").getString();
    if (check != "ok") {
      r.error = "the copy failed its check: " + check;
      fs::remove(partial, ec);
      return r;
    }
    r.jobs = copy.execAndGet("SELECT COUNT(*) FROM jobs").getInt64();
  } catch (const std::exception& e) {
    r.error = e.what();
    fs::remove(partial, ec);
    return r;
  }
  if (!fsync_path(partial)) {
    r.error = "cannot fsync " + partial;
    return r;
  }
  fs::rename(partial, target, ec);
  if (ec) {
    r.error = "cannot rename " + partial + " to " + target.string() + ": " + ec.message();
    return r;
  }
  fsync_path(target.parent_path().string());
  r.bytes = fs::file_size(target, ec);
  r.ok = true;
  return r;
}

} // namespace cutover::store_adapter
