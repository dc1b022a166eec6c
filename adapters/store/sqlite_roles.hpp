#pragma once
/// The budget and rollout-audit roles on the shared SQLite connection (adapter-internal). Each writes its part of a
/// commit inside the transaction the connection owner opened.

#include "adapters/store/sqlite_connection.hpp"
#include "core/store_ports.hpp"

#include <optional>

namespace cutover::store_adapter::detail {

class sqlite_budget final : public core::budget_store {
public:
  explicit sqlite_budget(connection& c);
  void stage(const std::vector<core::day_row>& rows);
  void reset_statements();

  budget_snapshot budget_state(core::instant day_start, const std::string& day) override;
  std::vector<core::day_row> budget_days(const std::string& since_day) override;
  std::vector<daily_stat> daily_stats(core::instant since, core::duration day_starts) override;

private:
  void write_budget_row(const core::day_row& row);
  connection& c_;
  SQLite::Database& db_;
  std::optional<SQLite::Statement> put_budget_;
};

class sqlite_audit final : public core::audit_store {
public:
  explicit sqlite_audit(connection& c) : c_(c), db_(c.db()) {}
  void stage(const core::write_batch& b);

  std::optional<core::rollout_status> rollout_state() override;
  std::vector<core::decision_record> decisions(core::instant since, std::int64_t before_id,
                                               std::size_t limit) override;
  std::vector<feedback_row> feedback_since(core::instant since) override;
  std::vector<trip_row> trips_since(core::instant since) override;

private:
  void write_rollout(const core::rollout_status& r);
  void write_decision(const core::decision_record& d);
  void write_feedback(const feedback_row& f);
  void write_trip(const trip_row& t);
  connection& c_;
  SQLite::Database& db_;
};

/// The notification outbox: each notice of a commit as an event row and one outbox row per receiver, in the
/// commit's transaction; delivered (or expired) rows deleted.
class sqlite_outbox final : public core::outbox_store {
public:
  explicit sqlite_outbox(connection& c);
  void stage(const std::vector<core::notice>& notices, const std::vector<std::int64_t>& delivered);
  void reset_statements();

  std::vector<core::outbox_entry> pending(const query& q) override;
  std::string webhook_url(core::job_id id) override;
  std::size_t sweep_events(core::instant before, std::size_t limit) override;

private:
  connection& c_;
  SQLite::Database& db_;
  std::optional<SQLite::Statement> put_event_, put_entry_, drop_entry_, webhook_;
};

} // namespace cutover::store_adapter::detail
