// What operators do to jobs as a whole: list them, sweep final ones after jobs.retention, erase one user's.

#include "adapters/store/sqlite_jobs.hpp"

#include <algorithm>

namespace cutover::store_adapter::detail {

using namespace cutover::core;

std::vector<job_record> sqlite_jobs::list_jobs(const job_query& q) {
  return c_.guarded("list_jobs", [&] {
    // no results join: a page of jobs carries no images (GET /v1/jobs/{id} has them)
    SQLite::Statement s(db_, "SELECT id,user_id,prompt,tier,n,endpoint,segment,metadata,COALESCE(idempotency_key,''),"
                             "body_hash,status,provider,bucket,route_reason,'',cost_micros,error,created_at,updated_at,"
                             "attempt_base,tenant FROM jobs"
                             " WHERE (?1 = '' OR tenant = ?1) AND (?2 = '' OR user_id = ?2) AND (?3 = '' OR status = ?3)"
                             " AND created_at >= ?4 AND (?5 = 0 OR id < ?5) ORDER BY id DESC LIMIT ?6");
    s.bind(1, q.tenant);
    s.bind(2, q.user_id);
    s.bind(3, q.by_status ? std::string{to_string(q.status)} : std::string{});
    s.bind(4, us(q.since));
    s.bind(5, static_cast<std::int64_t>(q.before));
    s.bind(6, static_cast<std::int64_t>(q.limit));
    std::vector<job_record> out;
    while (s.executeStep())
      out.push_back(read_job(s));
    for (auto& j : out)
      load_attempts(j);
    return out;
  });
}

std::vector<std::string> sqlite_jobs::forget_results(const std::vector<std::int64_t>& ids, bool drop_unused) {
  std::vector<std::string> digests;
  SQLite::Statement refs(db_, "SELECT digest FROM job_images WHERE job_id = ?");
  SQLite::Statement drop_refs(db_, "DELETE FROM job_images WHERE job_id = ?");
  SQLite::Statement drop_result(db_, "DELETE FROM results WHERE job_id = ?");
  for (auto id : ids) {
    refs.bind(1, id);
    while (refs.executeStep())
      digests.push_back(refs.getColumn(0).getString());
    refs.reset();
    for (auto* st : {&drop_refs, &drop_result}) {
      st->bind(1, id);
      st->exec();
      st->reset();
    }
  }
  if (!drop_unused)
    return {};
  std::sort(digests.begin(), digests.end());
  digests.erase(std::unique(digests.begin(), digests.end()), digests.end());
  std::vector<std::string> unused;
  SQLite::Statement still(db_, "SELECT EXISTS(SELECT 1 FROM job_images WHERE digest = ?)");
  SQLite::Statement drop_image(db_, "DELETE FROM images WHERE digest = ?");
  for (const auto& d : digests) {
    still.bind(1, d);
    still.executeStep();
    const bool used = still.getColumn(0).getInt() != 0;
    still.reset();
    if (used)
      continue;
    drop_image.bind(1, d);
    drop_image.exec();
    drop_image.reset();
    unused.push_back(d);
  }
  return unused;
}

std::vector<std::string> sqlite_jobs::forget_images_of_jobs(const std::vector<job_id>& jobs) {
  return c_.guarded("forget_images_of_jobs", [&] {
    SQLite::Transaction tx(db_);
    std::vector<std::int64_t> ids;
    for (const auto& j : jobs)
      ids.push_back(static_cast<std::int64_t>(j.value));
    auto unused = forget_results(ids, true);
    tx.commit();
    return unused;
  });
}

std::vector<std::string> sqlite_jobs::delete_jobs(const std::vector<std::int64_t>& ids, bool keep_money,
                                                  bool drop_unused) {
  auto unused = forget_results(ids, drop_unused);
  SQLite::Statement attempts(db_, keep_money ? "UPDATE attempts SET remote_id = '' WHERE job_id = ?"
                                             : "DELETE FROM attempts WHERE job_id = ?");
  SQLite::Statement feedback(db_, "DELETE FROM feedback WHERE job_id = ?");
  SQLite::Statement job(db_, "DELETE FROM jobs WHERE id = ?");
  for (auto id : ids)
    for (auto* s : {&attempts, &feedback, &job}) {
      s->bind(1, id);
      s->exec();
      s->reset();
    }
  return unused;
}

std::size_t sqlite_jobs::sweep_final_jobs(instant before, std::size_t limit) {
  return c_.guarded("sweep_final_jobs", [&] {
    SQLite::Transaction tx(db_);
    SQLite::Statement q(db_, std::string{"SELECT id FROM jobs WHERE "} + sql_job_ended +
                             " AND updated_at < ? ORDER BY updated_at LIMIT ?");
    q.bind(1, us(before));
    q.bind(2, static_cast<std::int64_t>(limit));
    std::vector<std::int64_t> ids;
    while (q.executeStep())
      ids.push_back(q.getColumn(0).getInt64());
    q.reset();
    // past the retention the money is long settled: the attempts go too
    delete_jobs(ids, false, false); // their images go with the image sweep, from their last use
    tx.commit();
    return ids.size();
  });
}

sqlite_jobs::erase_result sqlite_jobs::erase_user_jobs(const std::string& user_id, const std::string& tenant) {
  return c_.guarded("erase_user_jobs", [&] {
    SQLite::Transaction tx(db_);
    SQLite::Statement q(db_, "SELECT id, status FROM jobs WHERE user_id = ?1 AND (?2 = '' OR tenant = ?2)");
    q.bind(1, user_id);
    q.bind(2, tenant);
    std::vector<std::int64_t> ids;
    erase_result r;
    while (q.executeStep()) {
      job_status status = job_status::accepted;
      parse_job_status(q.getColumn(1).getString(), status);
      if (is_final(status))
        ids.push_back(q.getColumn(0).getInt64());
      else
        r.open.push_back(job_id{static_cast<std::uint64_t>(q.getColumn(0).getInt64())});
    }
    q.reset();
    r.images = delete_jobs(ids, true, true);
    tx.commit();
    r.erased = ids.size();
    return r;
  });
}

} // namespace cutover::store_adapter::detail
