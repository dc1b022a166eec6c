#include "adapters/store/sqlite_jobs.hpp"
#include "core/images.hpp"

#include <algorithm>

namespace cutover::store_adapter::detail {

using namespace cutover::core;

namespace {

std::string join_images(const std::vector<std::string>& images) {
  std::string out;
  for (const auto& i : images) {
    if (!out.empty())
      out += '\n';
    out += i;
  }
  return out;
}

} // namespace

sqlite_jobs::sqlite_jobs(connection& c) : c_(c), db_(c.db()) {
  insert_.emplace(db_, "INSERT INTO jobs(id,user_id,prompt,tier,n,endpoint,segment,metadata,idempotency_key,"
                       "body_hash,status,created_at,updated_at,provider,bucket,route_reason,cost_micros,"
                       "attempt_base,error,tenant,webhook_url) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  // A final status is never replaced by a late progress event of another commit.
  update_job_.emplace(db_, "UPDATE jobs SET status=CASE WHEN ?9=0 AND NOT (" + std::string{sql_job_open} +
                           ") THEN status ELSE COALESCE(?1,status) END,"
                           " provider=COALESCE(?2,provider), bucket=COALESCE(?3,bucket),"
                           " route_reason=COALESCE(?4,route_reason), cost_micros=COALESCE(?5,cost_micros),"
                           " error=COALESCE(?6,error), updated_at=?7, attempt_base=COALESCE(?10,attempt_base)"
                           " WHERE id=?8");
  put_result_.emplace(db_, "INSERT OR REPLACE INTO results(job_id, images) VALUES(?,?)");
  // an image's retention runs from the last job that refers to it
  put_image_.emplace(db_, "INSERT INTO images(digest, last_used) VALUES(?1,?2) ON CONFLICT(digest) DO UPDATE"
                          " SET last_used=max(last_used, excluded.last_used)");
  put_job_image_.emplace(db_, "INSERT OR IGNORE INTO job_images(digest, job_id) VALUES(?,?)");
  free_key_.emplace(db_, "UPDATE jobs SET idempotency_key=NULL WHERE idempotency_key=?");
  put_attempt_.emplace(db_, "INSERT OR REPLACE INTO attempts(job_id,no,provider,started_at,finished_at,outcome,"
                            "error_class,remote_id,cost_micros,quality,reserved_micros) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  update_attempt_.emplace(db_, "UPDATE attempts SET remote_id=COALESCE(?1,remote_id),"
                               " finished_at=COALESCE(?2,finished_at), outcome=COALESCE(?3,outcome),"
                               " error_class=COALESCE(?4,error_class), cost_micros=COALESCE(?5,cost_micros),"
                               " quality=COALESCE(?8,quality) WHERE job_id=?6 AND no=?7");
}

void sqlite_jobs::stage(const std::vector<job_record>& inserts, const std::vector<job_event>& events) {
  attempts_.clear();
  jobs_.clear();
  fold(events);
  for (const auto& j : inserts) {
    auto it = jobs_.find(j.id.value);
    if (it == jobs_.end()) {
      insert(j, false);
      continue;
    }
    // a job that starts and moves on in this commit (simulate's gathered commits: most jobs) goes in as its events
    // leave it, one INSERT rather than an INSERT and an UPDATE; the same values as write_job's UPDATE would set
    const auto& d = it->second;
    auto row = j; // the columns an insert leaves at their defaults start there, as for an UPDATE of a new row
    row.provider.clear();
    row.bucket = 0;
    row.route_reason.clear();
    row.cost = 0;
    row.error.clear();
    row.attempt_base = 0;
    if (d.status && (d.replay || !is_final(row.status)))
      row.status = *d.status;
    if (d.provider)
      row.provider = *d.provider;
    if (d.bucket)
      row.bucket = *d.bucket;
    if (d.route_reason)
      row.route_reason = *d.route_reason;
    if (d.cost)
      row.cost = *d.cost;
    if (d.error)
      row.error = *d.error;
    if (d.attempt_base)
      row.attempt_base = *d.attempt_base;
    row.updated_at = d.updated_at;
    insert(row, true);
    if (d.images && !d.images->empty())
      put_result(j.id.value, *d.images, d.updated_at);
    jobs_.erase(it);
  }
  for (auto& [key, d] : attempts_)
    write_attempt(key.first, d);
  for (auto& [id, d] : jobs_)
    write_job(id, d);
}

void sqlite_jobs::reset_statements() {
  for (auto* st : {&insert_, &update_job_, &put_result_, &put_attempt_, &update_attempt_, &free_key_, &attempts_q_,
                   &put_image_, &put_job_image_})
    if (*st)
      (*st)->tryReset();
}

std::size_t sqlite_jobs::sweep_dead_letters(instant before) {
  return c_.guarded("sweep_dead_letters", [&] {
    SQLite::Transaction tx(db_);
    const auto cutoff = us(before);
    const char* where = "SELECT id FROM jobs WHERE status='dead_lettered' AND updated_at < ?";
    for (const char* table : {"attempts", "results"}) {
      SQLite::Statement del(db_, std::string{"DELETE FROM "} + table + " WHERE job_id IN (" + where + ")");
      del.bind(1, cutoff);
      del.exec();
    }
    SQLite::Statement del(db_, "DELETE FROM jobs WHERE status='dead_lettered' AND updated_at < ?");
    del.bind(1, cutoff);
    const auto n = del.exec();
    tx.commit();
    return static_cast<std::size_t>(n);
  });
}

void sqlite_jobs::insert(const job_record& j, bool with_progress) {
  if (!j.idempotency_key.empty()) {
    // intake remembers keys for a day and checked this one: a row still holding it is older, its key expired
    auto& free = *free_key_;
    free.bind(1, j.idempotency_key);
    free.exec();
    free.reset();
  }
  auto& s = *insert_;
  s.bind(1, static_cast<std::int64_t>(j.id.value));
  s.bind(2, j.spec.user_id);
  s.bind(3, j.spec.prompt);
  s.bind(4, std::string{to_string(j.spec.tier_)});
  s.bind(5, j.spec.n);
  s.bind(6, j.spec.endpoint);
  s.bind(7, j.spec.segment);
  s.bind(8, j.spec.metadata);
  if (j.idempotency_key.empty())
    s.bind(9);
  else
    s.bind(9, j.idempotency_key);
  s.bind(10, j.body_hash);
  s.bind(11, std::string{to_string(j.status)});
  s.bind(12, us(j.created_at));
  s.bind(13, us(j.updated_at));
  // a plain insert leaves them at their defaults (what a caller put in a new record's later fields never counted)
  s.bind(14, with_progress ? j.provider : std::string{});
  s.bind(15, with_progress ? j.bucket : 0);
  s.bind(16, with_progress ? j.route_reason : std::string{});
  s.bind(17, with_progress ? j.cost : core::micros{0});
  s.bind(18, with_progress ? j.attempt_base : 0);
  s.bind(19, with_progress ? j.error : std::string{});
  s.bind(20, j.spec.tenant);
  s.bind(21, j.spec.webhook_url);
  s.exec();
  s.reset();
}

void sqlite_jobs::put_result(std::uint64_t id, const std::string& images, instant at) {
  auto& r = *put_result_;
  r.bind(1, static_cast<std::int64_t>(id));
  r.bind(2, images);
  r.exec();
  r.reset();
  for (std::size_t from = 0; from <= images.size();) {
    auto to = images.find('\n', from);
    if (to == std::string::npos)
      to = images.size();
    const auto digest = images.substr(from, to - from);
    from = to + 1;
    if (!is_image_digest(digest))
      continue; // a provider's own value (no image store): nothing on disk to keep
    auto& img = *put_image_;
    img.bind(1, digest);
    img.bind(2, us(at));
    img.exec();
    img.reset();
    auto& ref = *put_job_image_;
    ref.bind(1, digest);
    ref.bind(2, static_cast<std::int64_t>(id));
    ref.exec();
    ref.reset();
  }
}

std::vector<std::string> sqlite_jobs::expire_images(instant before) {
  return c_.guarded("expire_images", [&] {
    SQLite::Transaction tx(db_);
    std::vector<std::string> out;
    SQLite::Statement q(db_, "SELECT digest FROM images WHERE last_used < ?");
    q.bind(1, us(before));
    while (q.executeStep())
      out.push_back(q.getColumn(0).getString());
    for (const char* sql : {"DELETE FROM job_images WHERE digest IN (SELECT digest FROM images WHERE last_used < ?)",
                            "DELETE FROM images WHERE last_used < ?"}) {
      SQLite::Statement del(db_, sql);
      del.bind(1, us(before));
      del.exec();
    }
    tx.commit();
    return out;
  });
}

void sqlite_jobs::fold(const std::vector<job_event>& events) {
  for (const auto& e : events) {
    auto& d = jobs_[e.id.value];
    if (!d.status || !is_final(*d.status) || e.kind == event_kind::finished || e.kind == event_kind::replayed)
      d.status = e.status;
    d.updated_at = std::max(d.updated_at, e.at);
    switch (e.kind) {
      case event_kind::routed:
        d.provider = e.provider;
        d.route_reason = e.text;
        if (e.bucket >= 1)
          d.bucket = e.bucket;
        // attempts that do not count (handed back at a rollback, in doubt after a stop) stay uncounted after
        // the next restart too; the chain starts again at the attempt after them
        d.attempt_base = e.attempt.no;
        break;
      case event_kind::attempt_started: {
        d.provider = e.attempt.provider;
        auto& a = attempts_[{e.id.value, e.attempt.no}];
        a = attempt_delta{};
        a.created = true;
        a.row = e.attempt;
        break;
      }
      case event_kind::attempt_remote: {
        auto& a = attempt(e);
        a.row.remote_id = e.attempt.remote_id;
        a.remote = true;
        break;
      }
      case event_kind::attempt_finished: {
        auto& a = attempt(e);
        if (a.created && a.row.remote_id.empty())
          a.row.remote_id = e.attempt.remote_id;
        a.row.finished_at = e.attempt.finished_at;
        a.row.outcome = e.attempt.outcome;
        a.row.error = e.attempt.error;
        a.row.cost = e.attempt.cost;
        a.row.quality = e.attempt.quality;
        a.finished = true;
        break;
      }
      case event_kind::finished:
        d.images = join_images(e.images);
        d.cost = e.cost;
        d.error = e.text;
        break;
      case event_kind::replayed:
        d.replay = true;
        d.provider = e.provider;
        d.route_reason = e.text;
        d.bucket = e.bucket;
        d.attempt_base = e.attempt.no;
        d.error = std::string{};
        break;
    }
  }
}

sqlite_jobs::attempt_delta& sqlite_jobs::attempt(const job_event& e) {
  auto& a = attempts_[{e.id.value, e.attempt.no}];
  if (!a.created)
    a.row.no = e.attempt.no;
  return a;
}

void sqlite_jobs::write_attempt(std::uint64_t job, const attempt_delta& d) {
  const auto& r = d.row;
  if (d.created) {
    auto& s = *put_attempt_;
    s.bind(1, static_cast<std::int64_t>(job));
    s.bind(2, r.no);
    s.bind(3, r.provider);
    s.bind(4, us(r.started_at));
    s.bind(5, us(r.finished_at));
    s.bind(6, std::string{to_string(r.outcome)});
    s.bind(7, std::string{to_string(r.error)});
    s.bind(8, r.remote_id);
    s.bind(9, r.cost);
    s.bind(10, r.quality);
    s.bind(11, r.reserved);
    s.exec();
    s.reset();
    return;
  }
  auto& s = *update_attempt_;
  s.clearBindings();
  if (d.remote || (d.finished && !r.remote_id.empty()))
    s.bind(1, r.remote_id);
  if (d.finished) {
    s.bind(2, us(r.finished_at));
    s.bind(3, std::string{to_string(r.outcome)});
    s.bind(4, std::string{to_string(r.error)});
    s.bind(5, r.cost);
    s.bind(8, r.quality);
  }
  s.bind(6, static_cast<std::int64_t>(job));
  s.bind(7, r.no);
  s.exec();
  s.reset();
}

void sqlite_jobs::write_job(std::uint64_t id, const job_delta& d) {
  auto& s = *update_job_;
  s.clearBindings();
  if (d.status)
    s.bind(1, std::string{to_string(*d.status)});
  if (d.provider)
    s.bind(2, *d.provider);
  if (d.bucket)
    s.bind(3, *d.bucket);
  if (d.route_reason)
    s.bind(4, *d.route_reason);
  if (d.cost)
    s.bind(5, *d.cost);
  if (d.error)
    s.bind(6, *d.error);
  s.bind(7, us(d.updated_at));
  s.bind(8, static_cast<std::int64_t>(id));
  s.bind(9, d.replay ? 1 : 0);
  if (d.attempt_base)
    s.bind(10, *d.attempt_base);
  s.exec();
  s.reset();
  if (d.images && !d.images->empty())
    put_result(id, *d.images, d.updated_at);
}

} // namespace cutover::store_adapter::detail
