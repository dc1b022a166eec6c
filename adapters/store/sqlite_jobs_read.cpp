#include "adapters/store/sqlite_jobs.hpp"

#include <algorithm>

namespace cutover::store_adapter::detail {

using namespace cutover::core;

namespace {

std::vector<std::string> split_images(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos)
      nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

} // namespace

std::optional<job_record> sqlite_jobs::find(job_id id) {
  return c_.guarded("find", [&] { return find_job(id); });
}

std::vector<job_record> sqlite_jobs::open_jobs() {
  return c_.guarded("open_jobs", [&] { return read_open_jobs(); });
}

std::uint64_t sqlite_jobs::max_job_id() {
  return c_.guarded("max_job_id", [&] {
    SQLite::Statement q(db_, "SELECT COALESCE(MAX(id), 0) FROM jobs");
    q.executeStep();
    auto highest = q.getColumn(0).getInt64();
    // the highest id ever used, also of swept jobs (kept by AUTOINCREMENT; a store made before it has none)
    if (db_.tableExists("sqlite_sequence")) {
      SQLite::Statement seq(db_, "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'");
      if (seq.executeStep())
        highest = std::max<std::int64_t>(highest, seq.getColumn(0).getInt64());
    }
    return static_cast<std::uint64_t>(highest);
  });
}

std::vector<sqlite_jobs::key_entry> sqlite_jobs::idempotency_keys(instant since) {
  return c_.guarded("idempotency_keys", [&] { return read_keys(since); });
}

std::vector<job_record> sqlite_jobs::dead_letters(std::size_t limit, const std::string& tenant) {
  return c_.guarded("dead_letters", [&] {
    SQLite::Statement q(db_, std::string{select_job} +
                               " WHERE status='dead_lettered' AND (?2 = '' OR tenant = ?2)"
                               " ORDER BY updated_at DESC, id DESC LIMIT ?1");
    q.bind(1, static_cast<std::int64_t>(limit));
    q.bind(2, tenant);
    std::vector<job_record> out;
    while (q.executeStep())
      out.push_back(read_job(q));
    for (auto& j : out)
      load_attempts(j);
    return out;
  });
}

std::vector<instant> sqlite_jobs::call_starts(const std::string& provider, instant since) {
  return c_.guarded("call_starts", [&] {
    SQLite::Statement q(db_, "SELECT started_at FROM attempts WHERE provider = ? AND started_at >= ?"
                             " AND error_class NOT IN ('breaker_open','over_limit','budget_exhausted')");
    q.bind(1, provider);
    q.bind(2, us(since));
    std::vector<instant> out;
    while (q.executeStep())
      out.push_back(at_us(q.getColumn(0).getInt64()));
    return out;
  });
}

std::vector<sqlite_jobs::finished_attempt> sqlite_jobs::finished_attempts(const attempt_cursor& after, instant until,
                                                                         std::size_t limit) {
  return c_.guarded("finished_attempts", [&] {
    // a succeeded attempt delivered the job's result: its images are counted from the results row
    SQLite::Statement q(db_, "SELECT a.job_id, a.no, a.finished_at, a.provider, j.tier, a.started_at, a.error_class,"
                             " a.cost_micros, CASE WHEN a.outcome = 'succeeded' AND COALESCE(r.images, '') <> ''"
                             " THEN length(r.images) - length(replace(r.images, char(10), '')) + 1 ELSE 0 END,"
                             " a.quality, j.created_at, CASE WHEN a.outcome = 'succeeded' THEN COALESCE((SELECT"
                             " f.provider FROM attempts f WHERE f.job_id = j.id AND f.no = j.attempt_base + 1),"
                             " a.provider) ELSE '' END FROM attempts a JOIN jobs j ON j.id = a.job_id"
                             " LEFT JOIN results r ON r.job_id = a.job_id"
                             " WHERE a.outcome <> 'running' AND a.finished_at >= ?1 AND a.finished_at < ?4"
                             " AND (a.finished_at, a.job_id, a.no) > (?1, ?2, ?3)"
                             " ORDER BY a.finished_at, a.job_id, a.no LIMIT ?5");
    q.bind(1, us(after.finished_at));
    q.bind(2, static_cast<std::int64_t>(after.job));
    q.bind(3, after.no);
    q.bind(4, us(until));
    q.bind(5, static_cast<std::int64_t>(limit));
    std::vector<finished_attempt> out;
    while (q.executeStep()) {
      finished_attempt a;
      a.key.job = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
      a.key.no = q.getColumn(1).getInt();
      a.key.finished_at = at_us(q.getColumn(2).getInt64());
      a.provider = q.getColumn(3).getString();
      parse_tier(q.getColumn(4).getString(), a.tier_);
      a.started_at = at_us(q.getColumn(5).getInt64());
      parse_error_class(q.getColumn(6).getString(), a.error);
      a.cost = q.getColumn(7).getInt64();
      a.images = q.getColumn(8).getInt();
      a.quality = q.getColumn(9).getDouble();
      a.job_created_at = at_us(q.getColumn(10).getInt64());
      a.route_provider = q.getColumn(11).getString();
      out.push_back(std::move(a));
    }
    return out;
  });
}

std::optional<job_record> sqlite_jobs::find_job(job_id id) {
  SQLite::Statement q(db_, std::string{select_job} + " WHERE id=?");
  q.bind(1, static_cast<std::int64_t>(id.value));
  if (!q.executeStep())
    return std::nullopt;
  auto job = read_job(q);
  load_attempts(job);
  return job;
}

std::vector<job_record> sqlite_jobs::read_open_jobs() {
  SQLite::Statement q(db_, std::string{select_job} + " WHERE " + sql_job_open + " ORDER BY id");
  std::vector<job_record> out;
  while (q.executeStep())
    out.push_back(read_job(q));
  for (auto& j : out)
    load_attempts(j);
  return out;
}

std::vector<sqlite_jobs::key_entry> sqlite_jobs::read_keys(instant since) {
  SQLite::Statement q(db_, "SELECT idempotency_key, body_hash, id FROM jobs"
                           " WHERE idempotency_key IS NOT NULL AND created_at >= ?");
  q.bind(1, us(since));
  std::vector<key_entry> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                   job_id{static_cast<std::uint64_t>(q.getColumn(2).getInt64())}});
  return out;
}

job_record sqlite_jobs::read_job(SQLite::Statement& q) {
  job_record j;
  j.id = job_id{static_cast<std::uint64_t>(q.getColumn(0).getInt64())};
  j.spec.user_id = q.getColumn(1).getString();
  j.spec.prompt = q.getColumn(2).getString();
  parse_tier(q.getColumn(3).getString(), j.spec.tier_);
  j.spec.n = q.getColumn(4).getInt();
  j.spec.endpoint = q.getColumn(5).getString();
  j.spec.segment = q.getColumn(6).getString();
  j.spec.metadata = q.getColumn(7).getString();
  j.idempotency_key = q.getColumn(8).getString();
  j.body_hash = q.getColumn(9).getString();
  parse_job_status(q.getColumn(10).getString(), j.status);
  j.provider = q.getColumn(11).getString();
  j.bucket = q.getColumn(12).getInt();
  j.route_reason = q.getColumn(13).getString();
  j.images = split_images(q.getColumn(14).getString());
  j.cost = q.getColumn(15).getInt64();
  j.error = q.getColumn(16).getString();
  j.created_at = at_us(q.getColumn(17).getInt64());
  j.updated_at = at_us(q.getColumn(18).getInt64());
  j.attempt_base = q.getColumn(19).getInt();
  j.spec.tenant = q.getColumn(20).getString();
  return j;
}

void sqlite_jobs::load_attempts(job_record& j) {
  if (!attempts_q_)
    attempts_q_.emplace(db_, "SELECT no,provider,started_at,finished_at,outcome,error_class,remote_id,cost_micros,"
                             "quality,reserved_micros FROM attempts WHERE job_id=? ORDER BY no");
  auto& q = *attempts_q_;
  q.tryReset(); // in case an earlier read threw half-way
  q.bind(1, static_cast<std::int64_t>(j.id.value));
  while (q.executeStep()) {
    attempt_record a;
    a.no = q.getColumn(0).getInt();
    a.provider = q.getColumn(1).getString();
    a.started_at = at_us(q.getColumn(2).getInt64());
    a.finished_at = at_us(q.getColumn(3).getInt64());
    parse_job_status(q.getColumn(4).getString(), a.outcome);
    parse_error_class(q.getColumn(5).getString(), a.error);
    a.remote_id = q.getColumn(6).getString();
    a.cost = q.getColumn(7).getInt64();
    a.quality = q.getColumn(8).getDouble();
    a.reserved = q.getColumn(9).getInt64();
    j.attempts.push_back(std::move(a));
  }
  q.reset();
}

std::vector<job_store::cache_answer> sqlite_jobs::find_cached(const std::vector<cache_query>& qs, instant since) {
  return c_.guarded("find_cached", [&] {
    if (!cache_index_) {
      // Made when the cache is first asked (an engine without the cache never writes it); it lists only jobs a
      // provider answered, and SQLite keeps it from then on.
      db_.exec("CREATE INDEX IF NOT EXISTS jobs_cache ON jobs(tenant, prompt, tier, n, updated_at)"
               " WHERE status = 'succeeded' AND provider != 'cache'");
      cache_index_ = true;
    }
    SQLite::Statement q(db_, "SELECT j.id, r.images FROM jobs j JOIN results r ON r.job_id = j.id"
                             " WHERE j.tenant = ?1 AND j.prompt = ?2 AND j.tier = ?3 AND j.n = ?4"
                             " AND j.status = 'succeeded' AND j.provider != 'cache' AND j.updated_at >= ?5"
                             " AND j.id != ?6 ORDER BY j.updated_at DESC LIMIT 1");
    std::vector<cache_answer> out(qs.size());
    for (std::size_t i = 0; i < qs.size(); ++i) {
      q.bind(1, qs[i].tenant);
      q.bind(2, qs[i].prompt);
      q.bind(3, std::string{to_string(qs[i].tier_)});
      q.bind(4, qs[i].n);
      q.bind(5, us(since));
      q.bind(6, static_cast<std::int64_t>(qs[i].id.value));
      if (q.executeStep()) {
        auto images = split_images(q.getColumn(1).getString());
        if (static_cast<int>(images.size()) == qs[i].n) { // a whole answer, or none
          out[i].from = job_id{static_cast<std::uint64_t>(q.getColumn(0).getInt64())};
          out[i].images = std::move(images);
        }
      }
      q.reset();
    }
    return out;
  });
}

} // namespace cutover::store_adapter::detail
