#include "adapters/store/sim_results.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>

namespace cutover::store_adapter {

namespace {

class sqlite_sim_results final : public sim_results {
public:
  sqlite_sim_results(const std::string& path, std::vector<std::string> providers)
    : db_(path, SQLite::OPEN_READONLY), providers_(std::move(providers)) {}

  std::vector<sim_job> jobs() override {
    std::vector<sim_job> out;
    SQLite::Statement q(db_, "SELECT j.created_at, j.updated_at, j.status, a.provider, j.n"
                             " FROM jobs j LEFT JOIN attempts a ON a.job_id = j.id AND a.no = 1 ORDER BY j.id");
    while (q.executeStep()) {
      sim_job j;
      j.created_us = q.getColumn(0).getInt64();
      j.updated_us = q.getColumn(1).getInt64();
      core::parse_job_status(q.getColumn(2).getString(), j.status);
      j.first_provider = index(q.getColumn(3).isNull() ? std::string{} : q.getColumn(3).getString());
      j.n = q.getColumn(4).getInt();
      out.push_back(j);
    }
    return out;
  }

  std::vector<sim_hour_provider> hourly(core::instant start) override {
    std::vector<sim_hour_provider> out;
    SQLite::Statement q(db_, "SELECT (started_at - ?1) / 3600000000 AS h, provider, COUNT(*),"
                             " SUM(outcome = 'failed'), SUM(cost_micros) FROM attempts"
                             " GROUP BY h, provider ORDER BY h, provider");
    q.bind(1, static_cast<std::int64_t>(start.time_since_epoch().count()));
    while (q.executeStep())
      out.push_back({q.getColumn(0).getInt64(), index(q.getColumn(1).getString()), q.getColumn(2).getInt64(),
                     q.getColumn(3).getInt64(), q.getColumn(4).getInt64()});
    return out;
  }

  sim_in_flight in_flight(const std::string& provider, core::instant at) override {
    SQLite::Statement q(db_, "SELECT COALESCE(MAX(a.finished_at), 0), COALESCE(SUM(a.finished_at = 0), 0)"
                             " FROM attempts a JOIN jobs j ON j.id = a.job_id"
                             " WHERE a.provider = ?1 AND j.created_at <= ?2");
    q.bind(1, provider);
    q.bind(2, static_cast<std::int64_t>(at.time_since_epoch().count()));
    sim_in_flight out;
    if (q.executeStep()) {
      out.last_finished_us = q.getColumn(0).getInt64();
      out.unfinished = q.getColumn(1).getInt64();
    }
    return out;
  }

  std::int64_t first_failure_us(const std::string& provider, core::instant at) override {
    SQLite::Statement q(db_, "SELECT COALESCE(MIN(finished_at), 0) FROM attempts"
                             " WHERE provider = ?1 AND outcome = 'failed' AND finished_at >= ?2");
    q.bind(1, provider);
    q.bind(2, static_cast<std::int64_t>(at.time_since_epoch().count()));
    return q.executeStep() ? q.getColumn(0).getInt64() : 0;
  }

private:
  int index(const std::string& name) const {
    auto it = std::find(providers_.begin(), providers_.end(), name);
    return it == providers_.end() ? -1 : static_cast<int>(it - providers_.begin());
  }

  SQLite::Database db_;
  std::vector<std::string> providers_;
};

} // namespace

std::unique_ptr<sim_results> open_sim_results(const std::string& path, std::vector<std::string> providers) {
  return std::make_unique<sqlite_sim_results>(path, std::move(providers));
}

} // namespace cutover::store_adapter
