#include "adapters/store/sqlite_roles.hpp"

#include "core/notify_rules.hpp"

namespace cutover::store_adapter::detail {

using namespace cutover::core;

sqlite_outbox::sqlite_outbox(connection& c) : c_(c), db_(c.db()) {
  put_event_.emplace(db_, "INSERT INTO notify_events(at,type,data) VALUES(?,?,?)");
  put_entry_.emplace(db_, "INSERT INTO outbox(event_id,type,url,secret_env,body,created_at,job_hook)"
                          " VALUES(?,?,?,?,?,?,?)");
  drop_entry_.emplace(db_, "DELETE FROM outbox WHERE id=?");
  webhook_.emplace(db_, "SELECT webhook_url FROM jobs WHERE id=?");
}

void sqlite_outbox::reset_statements() {
  for (auto* s : {&put_event_, &put_entry_, &drop_entry_, &webhook_})
    (*s)->reset();
}

void sqlite_outbox::stage(const std::vector<notice>& notices, const std::vector<std::int64_t>& delivered) {
  for (const auto& n : notices) {
    auto& e = *put_event_;
    e.bind(1, us(n.at));
    e.bind(2, n.type);
    e.bind(3, n.data);
    e.exec();
    e.reset();
    const auto event_id = db_.getLastInsertRowid();
    // the id goes into the body, so every try (and every receiver) gets the same bytes for the same event
    const auto body = notice_body("evt_" + std::to_string(event_id), n);
    for (const auto& t : n.to) {
      auto& o = *put_entry_;
      o.bind(1, event_id);
      o.bind(2, n.type);
      o.bind(3, t.url);
      o.bind(4, t.secret_env);
      o.bind(5, body);
      o.bind(6, us(n.at));
      o.bind(7, t.job_hook ? 1 : 0);
      o.exec();
      o.reset();
    }
  }
  for (auto id : delivered) {
    auto& d = *drop_entry_;
    d.bind(1, id);
    d.exec();
    d.reset();
  }
}

std::vector<outbox_entry> sqlite_outbox::pending(const query& w) {
  return c_.guarded("outbox", [&] {
    // a receiver is scheme://host:port in lower case: the URL starts with it and goes on with a path, query or nothing
    SQLite::Statement q(db_, "SELECT id,event_id,type,url,secret_env,body,created_at,job_hook FROM outbox"
                             " WHERE job_hook=?1 AND id>?2 AND (?3=0 OR id<=?3) AND (?4='' OR"
                             " (lower(substr(url,1,length(?4)))=?4 AND substr(url,length(?4)+1,1) IN ('','/','?','#')))"
                             " ORDER BY id LIMIT ?5");
    q.bind(1, w.job_hooks ? 1 : 0);
    q.bind(2, w.after_id);
    q.bind(3, w.upto);
    q.bind(4, w.receiver);
    q.bind(5, static_cast<std::int64_t>(w.limit));
    std::vector<outbox_entry> out;
    while (q.executeStep())
      out.push_back(outbox_entry{q.getColumn(0).getInt64(), "evt_" + std::to_string(q.getColumn(1).getInt64()),
                                 q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).getString(),
                                 q.getColumn(5).getString(), at_us(q.getColumn(6).getInt64()),
                                 q.getColumn(7).getInt() != 0});
    return out;
  });
}

std::string sqlite_outbox::webhook_url(job_id id) {
  return c_.guarded("webhook_url", [&] {
    auto& q = *webhook_;
    q.reset(); // a lookup that threw left it mid-step
    q.bind(1, static_cast<std::int64_t>(id.value));
    std::string url = q.executeStep() ? q.getColumn(0).getString() : std::string{};
    q.reset();
    return url;
  });
}

std::size_t sqlite_outbox::sweep_events(instant before, std::size_t limit) {
  return c_.guarded("sweep_events", [&] {
    SQLite::Transaction tx(db_);
    // an event whose delivery is still tried keeps its row (its outbox entry names it) until the entry is done
    SQLite::Statement del(db_, "DELETE FROM notify_events WHERE id IN (SELECT id FROM notify_events e WHERE e.at < ?1"
                               " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.id) ORDER BY e.at LIMIT ?2)");
    del.bind(1, us(before));
    del.bind(2, static_cast<std::int64_t>(limit));
    const auto n = del.exec();
    tx.commit();
    return static_cast<std::size_t>(n);
  });
}

} // namespace cutover::store_adapter::detail
