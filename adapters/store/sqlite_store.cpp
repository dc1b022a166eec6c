#include "adapters/store/sqlite_store.hpp"

#include "adapters/store/sqlite_connection.hpp"
#include "adapters/store/sqlite_jobs.hpp"
#include "adapters/store/sqlite_roles.hpp"

#include <filesystem>

namespace cutover::store_adapter {

using namespace cutover::core;

namespace {

/// The connection owner: the three role parts share its one connection, and a commit writes all of their rows in
/// one transaction.
class sqlite_store final : public store_db {
public:
  sqlite_store(const std::string& path, sync_mode sync, store_open_options opts)
    : conn_(path, sync, opts.checkpointer, opts.operator_indexes), jobs_(conn_), budget_(conn_), audit_(conn_), outbox_(conn_) {}

  job_store& jobs() override { return jobs_; }
  budget_store& budget() override { return budget_; }
  audit_store& audit() override { return audit_; }
  outbox_store* outbox() override { return &outbox_; }

  void commit(const write_batch& b) override {
    conn_.guarded("write", [&] {
      struct reset_on_failure {
        sqlite_store& s;
        bool done = false;
        ~reset_on_failure() {
          if (!done) {
            s.jobs_.reset_statements();
            s.budget_.reset_statements();
            s.outbox_.reset_statements();
          }
        }
      } guard{*this};
      SQLite::Transaction tx(conn_.db());
      jobs_.stage(b.inserts, b.events);
      budget_.stage(b.budget_rows);
      audit_.stage(b);
      outbox_.stage(b.derived, b.delivered);
      if (b.probe) {
        SQLite::Statement probe(conn_.db(), "INSERT INTO store_probe(id, at) VALUES(1, ?) "
                                            "ON CONFLICT(id) DO UPDATE SET at = excluded.at");
        probe.bind(1, static_cast<std::int64_t>(b.probe->time_since_epoch().count()));
        probe.exec();
      }
      tx.commit();
      guard.done = true;
    });
  }

  int synchronous() { return conn_.synchronous(); }

private:
  detail::connection conn_;
  detail::sqlite_jobs jobs_;
  detail::sqlite_budget budget_;
  detail::sqlite_audit audit_;
  detail::sqlite_outbox outbox_;
};

} // namespace

std::unique_ptr<store_db> open_sqlite_store(const std::string& path, sync_mode sync) {
  return open_sqlite_store(path, sync, store_open_options{});
}

std::unique_ptr<store_db> open_sqlite_store(const std::string& path, sync_mode sync, store_open_options opts) {
  try {
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty())
      std::filesystem::create_directories(parent);
    return std::make_unique<sqlite_store>(path, sync, opts);
  } catch (const std::exception& e) {
    throw store_error("cannot open store " + path + ": " + e.what());
  }
}

int applied_synchronous(core::store_db& store) {
  auto* sqlite = dynamic_cast<sqlite_store*>(&store);
  return sqlite ? sqlite->synchronous() : -1;
}

} // namespace cutover::store_adapter
