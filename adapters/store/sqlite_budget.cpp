#include "adapters/store/sqlite_roles.hpp"

#include <algorithm>
#include <map>

namespace cutover::store_adapter::detail {

using namespace cutover::core;

sqlite_budget::sqlite_budget(connection& c) : c_(c), db_(c.db()) {
  put_budget_.emplace(db_, "INSERT OR REPLACE INTO budget_days(day,provider,limit_micros,consumed,reserved,requests,"
                           "refused) VALUES(?,?,?,?,?,?,?)");
}

void sqlite_budget::stage(const std::vector<day_row>& rows) {
  for (const auto& row : rows)
    write_budget_row(row);
}

void sqlite_budget::reset_statements() { put_budget_->tryReset(); }

sqlite_budget::budget_snapshot sqlite_budget::budget_state(instant day_start, const std::string& day) {
  return c_.guarded("budget_state", [&] {
    budget_snapshot out;
    SQLite::Statement spent(db_, "SELECT provider, SUM(cost_micros), COUNT(*) FROM attempts"
                                 " WHERE finished_at >= ? AND outcome <> 'running'"
                                 " AND error_class NOT IN ('breaker_open','budget_exhausted','over_limit')"
                                 " GROUP BY provider");
    spent.bind(1, us(day_start));
    while (spent.executeStep()) {
      day_row r;
      r.day = day;
      r.provider = spent.getColumn(0).getString();
      r.consumed = spent.getColumn(1).getInt64();
      r.requests = spent.getColumn(2).getInt64();
      out.today.push_back(std::move(r));
    }
    // refusals leave no attempt: their count is the ledger's own, from its row of the day
    SQLite::Statement refused(db_, "SELECT provider, refused FROM budget_days WHERE day = ? AND provider <> ''"
                                   " AND refused > 0");
    refused.bind(1, day);
    while (refused.executeStep()) {
      const auto provider = refused.getColumn(0).getString();
      auto it = std::find_if(out.today.begin(), out.today.end(), [&](const day_row& r) { return r.provider == provider; });
      if (it == out.today.end()) {
        out.today.push_back(day_row{});
        it = std::prev(out.today.end());
        it->day = day;
        it->provider = provider;
      }
      it->refused = refused.getColumn(1).getInt64();
    }
    // a final job's attempt still 'running' is a write lost before commits were retried: nothing will ever
    // settle it, so holding it as a reservation would shrink the budget at every start for good
    SQLite::Statement open(db_, "SELECT a.job_id, a.no, a.provider, j.tier, j.n, a.reserved_micros FROM attempts a JOIN jobs j"
                                " ON j.id = a.job_id WHERE a.outcome = 'running'"
                                " AND j.status NOT IN ('succeeded','failed','dead_lettered','cancelled')");
    while (open.executeStep()) {
      open_attempt o;
      o.key = reservation_key{static_cast<std::uint64_t>(open.getColumn(0).getInt64()), open.getColumn(1).getInt()};
      o.provider = open.getColumn(2).getString();
      parse_tier(open.getColumn(3).getString(), o.tier_);
      o.n = open.getColumn(4).getInt();
      o.reserved = open.getColumn(5).getInt64();
      out.open.push_back(std::move(o));
    }
    return out;
  });
}

std::vector<day_row> sqlite_budget::budget_days(const std::string& since_day) {
  return c_.guarded("budget_days", [&] {
    SQLite::Statement q(db_, "SELECT day, provider, limit_micros, consumed, reserved, requests, refused"
                             " FROM budget_days WHERE day >= ? ORDER BY day, provider");
    q.bind(1, since_day);
    std::vector<day_row> out;
    while (q.executeStep()) {
      day_row r;
      r.day = q.getColumn(0).getString();
      r.provider = q.getColumn(1).getString();
      if (!q.getColumn(2).isNull())
        r.limit = q.getColumn(2).getInt64();
      r.consumed = q.getColumn(3).getInt64();
      r.reserved = q.getColumn(4).getInt64();
      r.requests = q.getColumn(5).getInt64();
      r.refused = q.getColumn(6).getInt64();
      out.push_back(std::move(r));
    }
    return out;
  });
}

std::vector<sqlite_budget::daily_stat> sqlite_budget::daily_stats(instant since, duration day_starts) {
  return c_.guarded("daily_stats", [&] {
    // One pass over the attempts finished since `since`. An attempt "fell back" when a later one followed it.
    // Our own refusals (breaker open, over a limit) made no call: they count as fell back only, not as
    // requests, failures or latency; budget refusals leave no attempt and come from the ledger's rows. A call
    // whose outcome is unknown (the engine stopped meanwhile) is a request, charged, in doubt: not a failure.
    SQLite::Statement q(db_, "SELECT a.provider, a.started_at, a.finished_at, a.outcome, a.cost_micros,"
                             " EXISTS(SELECT 1 FROM attempts b WHERE b.job_id = a.job_id AND b.no > a.no),"
                             " a.error_class IN ('breaker_open','over_limit','budget_exhausted'),"
                             " a.error_class = 'unknown'"
                             " FROM attempts a WHERE a.finished_at >= ? AND a.outcome <> 'running'");
    q.bind(1, us(since));
    struct acc {
      daily_stat s;
      std::vector<std::int64_t> latencies;
    };
    std::map<std::pair<std::string, std::string>, acc> groups;
    SQLite::Statement refused(db_, "SELECT day, provider, refused FROM budget_days WHERE day >= ? AND provider <> ''"
                                   " AND refused > 0");
    refused.bind(1, budget_day(since, day_starts));
    while (refused.executeStep())
      groups[{refused.getColumn(0).getString(), refused.getColumn(1).getString()}].s.fell_back +=
        refused.getColumn(2).getInt64();
    while (q.executeStep()) {
      const auto finished = at_us(q.getColumn(2).getInt64());
      auto& g = groups[{budget_day(finished, day_starts), q.getColumn(0).getString()}];
      if (q.getColumn(6).getInt() != 0) {
        g.s.fell_back += 1;
        continue;
      }
      g.s.requests += 1;
      if (q.getColumn(7).getInt() != 0) { // the engine's doubt is not the provider's failure
        g.s.in_doubt += 1;
        g.s.fell_back += q.getColumn(5).getInt() != 0;
        g.s.cost += q.getColumn(4).getInt64();
        continue;
      }
      const bool ok = q.getColumn(3).getString() == "succeeded";
      g.s.succeeded += ok;
      g.s.failed += !ok;
      g.s.fell_back += !ok && q.getColumn(5).getInt() != 0;
      g.s.cost += q.getColumn(4).getInt64();
      g.latencies.push_back(q.getColumn(2).getInt64() - q.getColumn(1).getInt64());
    }
    std::vector<daily_stat> out;
    for (auto& [key, g] : groups) {
      g.s.day = key.first;
      g.s.provider = key.second;
      if (!g.latencies.empty()) {
        std::sort(g.latencies.begin(), g.latencies.end());
        std::int64_t sum = 0;
        for (auto l : g.latencies)
          sum += l;
        g.s.avg_latency = duration{sum / static_cast<std::int64_t>(g.latencies.size())};
        const auto rank = (g.latencies.size() * 95 + 99) / 100; // nearest rank
        g.s.p95_latency = duration{g.latencies[std::max<std::size_t>(rank, 1) - 1]};
      }
      out.push_back(std::move(g.s));
    }
    return out;
  });
}

void sqlite_budget::write_budget_row(const day_row& row) {
  auto& s = *put_budget_;
  s.bind(1, row.day);
  s.bind(2, row.provider);
  if (row.limit)
    s.bind(3, *row.limit);
  else
    s.bind(3);
  s.bind(4, row.consumed);
  s.bind(5, row.reserved);
  s.bind(6, row.requests);
  s.bind(7, row.refused);
  s.exec();
  s.reset();
}

} // namespace cutover::store_adapter::detail
