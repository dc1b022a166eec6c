#include "adapters/store/sqlite_roles.hpp"

#include <limits>

namespace cutover::store_adapter::detail {

using namespace cutover::core;

void sqlite_audit::stage(const write_batch& b) {
  if (!b.rollout.empty())
    write_rollout(b.rollout.back());
  for (const auto& d : b.decisions)
    write_decision(d);
  for (const auto& f : b.feedback)
    write_feedback(f);
  for (const auto& t : b.trips)
    write_trip(t);
}

void sqlite_audit::write_feedback(const feedback_row& f) {
  SQLite::Statement s(db_, "INSERT INTO feedback(at, job_id, provider, quality) VALUES(?,?,?,?)");
  s.bind(1, us(f.at));
  s.bind(2, static_cast<std::int64_t>(f.job.value));
  s.bind(3, f.provider);
  s.bind(4, f.quality);
  s.exec();
}

std::vector<sqlite_audit::feedback_row> sqlite_audit::feedback_since(instant since) {
  return c_.guarded("feedback_since", [&] {
    SQLite::Statement q(db_, "SELECT at, job_id, provider, quality FROM feedback WHERE at >= ? ORDER BY at");
    q.bind(1, us(since));
    std::vector<feedback_row> out;
    while (q.executeStep()) {
      feedback_row f;
      f.at = at_us(q.getColumn(0).getInt64());
      f.job = job_id{static_cast<std::uint64_t>(q.getColumn(1).getInt64())};
      f.provider = q.getColumn(2).getString();
      f.quality = q.getColumn(3).getDouble();
      out.push_back(std::move(f));
    }
    return out;
  });
}

void sqlite_audit::write_trip(const trip_row& t) {
  SQLite::Statement s(db_, "INSERT INTO breaker_trips(at, provider) VALUES(?,?)");
  s.bind(1, us(t.at));
  s.bind(2, t.provider);
  s.exec();
}

std::vector<sqlite_audit::trip_row> sqlite_audit::trips_since(instant since) {
  return c_.guarded("trips_since", [&] {
    SQLite::Statement q(db_, "SELECT at, provider FROM breaker_trips WHERE at >= ? ORDER BY at");
    q.bind(1, us(since));
    std::vector<trip_row> out;
    while (q.executeStep())
      out.push_back(trip_row{q.getColumn(1).getString(), at_us(q.getColumn(0).getInt64())});
    return out;
  });
}

std::optional<rollout_status> sqlite_audit::rollout_state() {
  return c_.guarded("rollout_state", [&]() -> std::optional<rollout_status> {
    SQLite::Statement q(db_, "SELECT phase,percent,state,since,next_step,config_hash FROM rollout_state WHERE id=1");
    if (!q.executeStep())
      return std::nullopt;
    rollout_status r;
    r.phase = q.getColumn(0).getInt();
    r.percent = q.getColumn(1).getInt();
    parse_rollout_phase_state(q.getColumn(2).getString(), r.state);
    r.since = at_us(q.getColumn(3).getInt64());
    r.next_step = at_us(q.getColumn(4).getInt64());
    r.config_hash = q.getColumn(5).getString();
    return r;
  });
}

std::vector<decision_record> sqlite_audit::decisions(instant since, std::int64_t before_id, std::size_t limit) {
  return c_.guarded("decisions", [&] {
    SQLite::Statement q(db_, "SELECT id,at,phase,percent,state,config_hash,action,reason FROM decisions"
                             " WHERE id < ? AND at >= ? ORDER BY id DESC LIMIT ?");
    q.bind(1, before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max());
    q.bind(2, us(since));
    q.bind(3, static_cast<std::int64_t>(limit));
    std::vector<decision_record> out;
    while (q.executeStep()) {
      decision_record d;
      d.id = q.getColumn(0).getInt64();
      d.at = at_us(q.getColumn(1).getInt64());
      d.phase = q.getColumn(2).getInt();
      d.percent = q.getColumn(3).getInt();
      d.state = q.getColumn(4).getString();
      d.config_hash = q.getColumn(5).getString();
      d.action = q.getColumn(6).getString();
      d.reason = q.getColumn(7).getString();
      out.push_back(std::move(d));
    }
    SQLite::Statement items(db_, "SELECT kind,name,verdict,window_us,samples,observed,baseline,threshold,reason"
                                 " FROM decision_items WHERE decision_id=? ORDER BY seq");
    for (auto& d : out) {
      items.bind(1, d.id);
      while (items.executeStep())
        d.items.push_back(decision_item{items.getColumn(0).getString(), items.getColumn(1).getString(),
                                        items.getColumn(2).getString(), duration{items.getColumn(3).getInt64()},
                                        items.getColumn(4).getInt64(), items.getColumn(5).getDouble(),
                                        items.getColumn(6).getDouble(), items.getColumn(7).getDouble(),
                                        items.getColumn(8).getString()});
      items.reset();
    }
    return out;
  });
}

void sqlite_audit::write_rollout(const rollout_status& r) {
  SQLite::Statement s(db_, "INSERT OR REPLACE INTO rollout_state(id,phase,percent,state,since,next_step,config_hash)"
                           " VALUES(1,?,?,?,?,?,?)");
  s.bind(1, r.phase);
  s.bind(2, r.percent);
  s.bind(3, std::string{to_string(r.state)});
  s.bind(4, us(r.since));
  s.bind(5, us(r.next_step));
  s.bind(6, r.config_hash);
  s.exec();
}

void sqlite_audit::write_decision(const decision_record& d) {
  SQLite::Statement s(db_, "INSERT INTO decisions(at,phase,percent,state,config_hash,action,reason)"
                           " VALUES(?,?,?,?,?,?,?)");
  s.bind(1, us(d.at));
  s.bind(2, d.phase);
  s.bind(3, d.percent);
  s.bind(4, d.state);
  s.bind(5, d.config_hash);
  s.bind(6, d.action);
  s.bind(7, d.reason);
  s.exec();
  const auto id = db_.getLastInsertRowid();
  SQLite::Statement item(db_, "INSERT INTO decision_items(decision_id,seq,kind,name,verdict,window_us,samples,"
                              "observed,baseline,threshold,reason) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  int seq = 0;
  for (const auto& i : d.items) {
    item.bind(1, id);
    item.bind(2, seq++);
    item.bind(3, i.kind);
    item.bind(4, i.name);
    item.bind(5, i.verdict);
    item.bind(6, static_cast<std::int64_t>(i.window.count()));
    item.bind(7, i.samples);
    item.bind(8, i.observed);
    item.bind(9, i.baseline);
    item.bind(10, i.threshold);
    item.bind(11, i.reason);
    item.exec();
    item.reset();
  }
}

} // namespace cutover::store_adapter::detail
