#pragma once
/// A real SQLite store whose commits fail on demand, as SQLite fails them (a full disk, an I/O error, a locked
/// file): the next commits throw the adapter's store_error with SQLite's own message and write nothing.

#include "adapters/store/sqlite_store.hpp"
#include "core/store_ports.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cutover::testing {

/// SQLite's messages for the failures a commit meets in production.
inline const char* const sqlite_full = "database or disk is full";    // SQLITE_FULL
inline const char* const sqlite_ioerr = "disk I/O error";             // SQLITE_IOERR
inline const char* const sqlite_busy = "database is locked";          // SQLITE_BUSY (past busy_timeout)

struct failing_store : core::store_db {
  explicit failing_store(std::shared_ptr<core::store_db> real) : inner(std::move(real)) {}

  std::shared_ptr<core::store_db> inner;
  std::function<core::instant()> clock;  ///< when set, each commit's time is kept in `attempts`
  std::deque<std::string> fail_next;     ///< one error per commit to fail, in order; empty: commits pass
  bool fail_always = false;              ///< every commit fails with `always_error`
  std::string always_error = sqlite_ioerr;
  struct attempt {
    bool ok = false;
    core::instant at{};
    std::size_t inserts = 0, events = 0, side_rows = 0;
  };
  std::vector<attempt> attempts;         ///< every commit tried, failed or not

  void fail(int n, const std::string& error) {
    for (int i = 0; i < n; ++i)
      fail_next.push_back(error);
  }

  void commit(const core::write_batch& b) override {
    attempt a{false, clock ? clock() : core::instant{}, b.inserts.size(), b.events.size(),
              b.rows() - b.inserts.size() - b.events.size()};
    std::string error;
    if (fail_always)
      error = always_error;
    else if (!fail_next.empty()) {
      error = fail_next.front();
      fail_next.pop_front();
    }
    if (!error.empty()) {
      attempts.push_back(a);
      throw store_adapter::store_error("store write: " + error);
    }
    inner->commit(b);
    a.ok = true;
    attempts.push_back(a);
  }
  core::job_store& jobs() override { return inner->jobs(); }
  core::budget_store& budget() override { return inner->budget(); }
  core::audit_store& audit() override { return inner->audit(); }
  core::outbox_store* outbox() override { return inner->outbox(); }
};

} // namespace cutover::testing
