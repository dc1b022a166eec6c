#include "adapters/store/sqlite_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace cutover::store_adapter {

using namespace cutover::core;

namespace {

constexpr const char* schema = R"sql(
-- AUTOINCREMENT: the highest id ever used is kept in sqlite_sequence, so ids of swept jobs are never reissued.
CREATE TABLE IF NOT EXISTS jobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL, prompt TEXT NOT NULL, tier TEXT NOT NULL, n INTEGER NOT NULL,
  endpoint TEXT NOT NULL DEFAULT '', segment TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT, body_hash TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '', bucket INTEGER NOT NULL DEFAULT 0,
  route_reason TEXT NOT NULL DEFAULT '', cost_micros INTEGER NOT NULL DEFAULT 0, attempt_base INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_open ON jobs(id)
  WHERE status NOT IN ('succeeded','failed','dead_lettered','cancelled');
CREATE INDEX IF NOT EXISTS jobs_dead ON jobs(updated_at) WHERE status = 'dead_lettered';
-- Images live apart from the job row, which is rewritten at every step of the job's life: they are written once.
CREATE TABLE IF NOT EXISTS results(job_id INTEGER PRIMARY KEY, images TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts(
  job_id INTEGER NOT NULL, no INTEGER NOT NULL, provider TEXT NOT NULL,
  started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0, outcome TEXT NOT NULL,
  error_class TEXT NOT NULL DEFAULT 'none', remote_id TEXT NOT NULL DEFAULT '', cost_micros INTEGER NOT NULL DEFAULT 0,
  quality REAL NOT NULL DEFAULT -1,
  PRIMARY KEY(job_id, no)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attempts_finished ON attempts(finished_at);
-- Clients' quality ratings of jobs, for the rollout's quality-parity gate (rebuilt from here after a restart).
CREATE TABLE IF NOT EXISTS feedback(
  at INTEGER NOT NULL, job_id INTEGER NOT NULL, provider TEXT NOT NULL, quality REAL NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_at ON feedback(at);
-- Circuit breaker trips, for the rollout's breaker_trips gate (rebuilt from here after a restart).
CREATE TABLE IF NOT EXISTS breaker_trips(at INTEGER NOT NULL, provider TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS breaker_trips_at ON breaker_trips(at);
-- The ledger's daily figures per provider ('' = global), as last written by the ledger actor.
CREATE TABLE IF NOT EXISTS budget_days(
  day TEXT NOT NULL, provider TEXT NOT NULL, limit_micros INTEGER, consumed INTEGER NOT NULL,
  reserved INTEGER NOT NULL, requests INTEGER NOT NULL, refused INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(day, provider)) WITHOUT ROWID;
-- The rollout controller's state (one row) and its decision audit (append-only).
CREATE TABLE IF NOT EXISTS rollout_state(
  id INTEGER PRIMARY KEY CHECK (id = 1), phase INTEGER NOT NULL, percent INTEGER NOT NULL, state TEXT NOT NULL,
  since INTEGER NOT NULL, next_step INTEGER NOT NULL, config_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions(
  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, phase INTEGER NOT NULL, percent INTEGER NOT NULL,
  state TEXT NOT NULL, config_hash TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decision_items(
  decision_id INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, verdict TEXT NOT NULL,
  window_us INTEGER NOT NULL, samples INTEGER NOT NULL, observed REAL NOT NULL, baseline REAL NOT NULL,
  threshold REAL NOT NULL, reason TEXT NOT NULL, PRIMARY KEY(decision_id, seq)) WITHOUT ROWID;
)sql";

std::int64_t us(instant t) { return t.time_since_epoch().count(); }
instant at_us(std::int64_t v) { return instant{duration{v}}; }

std::string join_images(const std::vector<std::string>& images) {
  std::string out;
  for (const auto& i : images) {
    if (!out.empty())
      out += '\n';
    out += i;
  }
  return out;
}

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

/// The folded effect of one commit's events on one job row.
struct job_delta {
  std::optional<job_status> status;
  std::optional<std::string> provider, route_reason, images, error;
  std::optional<int> bucket;
  std::optional<micros> cost;
  std::optional<int> attempt_base;
  bool replay = false; ///< may leave a final status
  instant updated_at{};
};

/// The folded effect on one attempt row; `created` when the row starts in this commit.
struct attempt_delta {
  bool created = false;
  attempt_record row;
  bool remote = false, finished = false;
};

/// Copies the WAL back into the database file from a thread of its own, on its own connection. A checkpoint ends
/// in an fsync; done inside a commit it stalled the commit (and every answer waiting on it) for 10-30 ms.
class checkpointer {
public:
  explicit checkpointer(const std::string& path) : db_(path, SQLite::OPEN_READWRITE) {
    db_.exec("PRAGMA busy_timeout=5000");
    thread_ = std::thread([this] { run(); });
  }
  ~checkpointer() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

private:
  static constexpr auto every = std::chrono::milliseconds(250);
  void run() {
    std::unique_lock<std::mutex> guard{mutex_};
    while (!stop_) {
      wake_.wait_for(guard, every, [this] { return stop_; });
      try {
        db_.exec("PRAGMA wal_checkpoint(PASSIVE)"); // never blocks the writer
      } catch (const std::exception&) {
        // busy or failed: the next round tries again; the WAL just grows meanwhile
      }
    }
  }
  SQLite::Database db_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

class sqlite_store final : public job_store {
public:
  sqlite_store(const std::string& path, sync_mode sync, store_open_options opts)
    : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) {
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec(std::string{"PRAGMA synchronous="} +
             (sync == sync_mode::full ? "FULL" : sync == sync_mode::off ? "OFF" : "NORMAL"));
    db_.exec("PRAGMA busy_timeout=5000");
    db_.exec("PRAGMA cache_size=-65536"); // 64 MiB: the rows of jobs in flight stay in memory
    // the checkpointer does it, off the commit path
    db_.exec(opts.checkpointer ? "PRAGMA wal_autocheckpoint=0" : "PRAGMA wal_autocheckpoint=1000");
    // simulate: one connection for the whole run, so the file lock is taken once, not twice per commit (fcntl was
    // about a tenth of a simulated job's cost in perf)
    if (!opts.checkpointer)
      db_.exec("PRAGMA locking_mode=EXCLUSIVE");
    db_.exec("PRAGMA journal_size_limit=67108864");
    db_.exec(schema);
    // stores written before budget refusals were counted
    if (!db_.execAndGet("SELECT COUNT(*) FROM pragma_table_info('budget_days') WHERE name = 'refused'").getInt())
      db_.exec("ALTER TABLE budget_days ADD COLUMN refused INTEGER NOT NULL DEFAULT 0");
    // ... and before provider quality scores were kept
    if (!db_.execAndGet("SELECT COUNT(*) FROM pragma_table_info('attempts') WHERE name = 'quality'").getInt())
      db_.exec("ALTER TABLE attempts ADD COLUMN quality REAL NOT NULL DEFAULT -1");
    migrate();
    if (opts.checkpointer)
      checkpoints_.emplace(path);
    insert_.emplace(db_, "INSERT INTO jobs(id,user_id,prompt,tier,n,endpoint,segment,metadata,idempotency_key,"
                         "body_hash,status,created_at,updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    // A final status is never replaced by a late progress event of another commit.
    update_job_.emplace(db_, "UPDATE jobs SET status=CASE WHEN ?9=0 AND status IN ('succeeded','failed',"
                             "'dead_lettered','cancelled') THEN status ELSE COALESCE(?1,status) END,"
                             " provider=COALESCE(?2,provider), bucket=COALESCE(?3,bucket),"
                             " route_reason=COALESCE(?4,route_reason), cost_micros=COALESCE(?5,cost_micros),"
                             " error=COALESCE(?6,error), updated_at=?7, attempt_base=COALESCE(?10,attempt_base)"
                             " WHERE id=?8");
    put_result_.emplace(db_, "INSERT OR REPLACE INTO results(job_id, images) VALUES(?,?)");
    free_key_.emplace(db_, "UPDATE jobs SET idempotency_key=NULL WHERE idempotency_key=?");
    put_budget_.emplace(db_, "INSERT OR REPLACE INTO budget_days(day,provider,limit_micros,consumed,reserved,requests,"
                             "refused) VALUES(?,?,?,?,?,?,?)");
    put_attempt_.emplace(db_, "INSERT OR REPLACE INTO attempts(job_id,no,provider,started_at,finished_at,outcome,"
                              "error_class,remote_id,cost_micros,quality) VALUES(?,?,?,?,?,?,?,?,?,?)");
    update_attempt_.emplace(db_, "UPDATE attempts SET remote_id=COALESCE(?1,remote_id),"
                                 " finished_at=COALESCE(?2,finished_at), outcome=COALESCE(?3,outcome),"
                                 " error_class=COALESCE(?4,error_class), cost_micros=COALESCE(?5,cost_micros),"
                                 " quality=COALESCE(?8,quality) WHERE job_id=?6 AND no=?7");
  }

  using job_store::write;
  void write(const std::vector<job_record>& inserts, const std::vector<job_event>& events,
             const side_writes& side) override {
    attempts_.clear();
    jobs_.clear();
    guarded("write", [&] {
      // A statement that threw mid-way is left busy: reset them all, so one failed commit never blocks the next.
      struct reset_on_failure {
        sqlite_store& s;
        bool done = false;
        ~reset_on_failure() {
          if (!done)
            for (auto* st : {&s.insert_, &s.update_job_, &s.put_result_, &s.put_attempt_, &s.update_attempt_,
                             &s.put_budget_, &s.free_key_})
              if (*st)
                (*st)->tryReset();
        }
      } guard{*this};
      SQLite::Transaction tx(db_);
      for (const auto& j : inserts)
        insert(j);
      fold(events);
      for (auto& [key, d] : attempts_)
        write_attempt(key.first, d);
      for (auto& [id, d] : jobs_)
        write_job(id, d);
      for (const auto& row : side.budget_rows)
        write_budget_row(row);
      if (!side.rollout.empty())
        write_rollout(side.rollout.back());
      for (const auto& d : side.decisions)
        write_decision(d);
      tx.commit();
      guard.done = true;
    });
  }

  std::optional<job_record> find(job_id id) override {
    return guarded("find", [&] { return find_job(id); });
  }

  std::vector<job_record> open_jobs() override {
    return guarded("open_jobs", [&] { return read_open_jobs(); });
  }

  std::uint64_t max_job_id() override {
    return guarded("max_job_id", [&] {
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

  std::vector<key_entry> idempotency_keys(instant since) override {
    return guarded("idempotency_keys", [&] { return read_keys(since); });
  }

  std::vector<job_record> dead_letters(std::size_t limit) override {
    return guarded("dead_letters", [&] {
      SQLite::Statement q(db_, std::string{select_job} +
                                 " WHERE status='dead_lettered' ORDER BY updated_at DESC, id DESC LIMIT ?");
      q.bind(1, static_cast<std::int64_t>(limit));
      std::vector<job_record> out;
      while (q.executeStep())
        out.push_back(read_job(q));
      for (auto& j : out)
        load_attempts(j);
      return out;
    });
  }

  budget_snapshot budget_state(instant day_start, const std::string& day) override {
    return guarded("budget_state", [&] {
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
      SQLite::Statement open(db_, "SELECT a.job_id, a.no, a.provider, j.tier, j.n FROM attempts a JOIN jobs j"
                                  " ON j.id = a.job_id WHERE a.outcome = 'running'");
      while (open.executeStep()) {
        open_attempt o;
        o.key = reservation_key{static_cast<std::uint64_t>(open.getColumn(0).getInt64()), open.getColumn(1).getInt()};
        o.provider = open.getColumn(2).getString();
        parse_tier(open.getColumn(3).getString(), o.tier_);
        o.n = open.getColumn(4).getInt();
        out.open.push_back(std::move(o));
      }
      return out;
    });
  }

  std::vector<day_row> budget_days(const std::string& since_day) override {
    return guarded("budget_days", [&] {
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

  std::vector<daily_stat> daily_stats(instant since, duration day_starts) override {
    return guarded("daily_stats", [&] {
      // One pass over the attempts finished since `since`. An attempt "fell back" when a later one followed it.
      // Our own refusals (breaker open, over a limit) made no call: they count as fell back only, not as
      // requests, failures or latency; budget refusals leave no attempt and come from the ledger's rows.
      SQLite::Statement q(db_, "SELECT a.provider, a.started_at, a.finished_at, a.outcome, a.cost_micros,"
                               " EXISTS(SELECT 1 FROM attempts b WHERE b.job_id = a.job_id AND b.no > a.no),"
                               " a.error_class IN ('breaker_open','over_limit','budget_exhausted')"
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

  void record_feedback(const feedback_row& f) override {
    guarded("record_feedback", [&] {
      SQLite::Statement s(db_, "INSERT INTO feedback(at, job_id, provider, quality) VALUES(?,?,?,?)");
      s.bind(1, us(f.at));
      s.bind(2, static_cast<std::int64_t>(f.job.value));
      s.bind(3, f.provider);
      s.bind(4, f.quality);
      s.exec();
      return 0;
    });
  }

  std::vector<feedback_row> feedback_since(instant since) override {
    return guarded("feedback_since", [&] {
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

  void record_trip(const trip_row& t) override {
    guarded("record_trip", [&] {
      SQLite::Statement s(db_, "INSERT INTO breaker_trips(at, provider) VALUES(?,?)");
      s.bind(1, us(t.at));
      s.bind(2, t.provider);
      s.exec();
      return 0;
    });
  }

  std::vector<trip_row> trips_since(instant since) override {
    return guarded("trips_since", [&] {
      SQLite::Statement q(db_, "SELECT at, provider FROM breaker_trips WHERE at >= ? ORDER BY at");
      q.bind(1, us(since));
      std::vector<trip_row> out;
      while (q.executeStep())
        out.push_back(trip_row{q.getColumn(1).getString(), at_us(q.getColumn(0).getInt64())});
      return out;
    });
  }

  std::vector<instant> call_starts(const std::string& provider, instant since) override {
    return guarded("call_starts", [&] {
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

  std::vector<finished_attempt> finished_attempts(const attempt_cursor& after, instant until,
                                                  std::size_t limit) override {
    return guarded("finished_attempts", [&] {
      // a succeeded attempt delivered the job's result: its images are counted from the results row
      SQLite::Statement q(db_, "SELECT a.job_id, a.no, a.finished_at, a.provider, j.tier, a.started_at, a.error_class,"
                               " a.cost_micros, CASE WHEN a.outcome = 'succeeded' AND COALESCE(r.images, '') <> ''"
                               " THEN length(r.images) - length(replace(r.images, char(10), '')) + 1 ELSE 0 END,"
                               " a.quality FROM attempts a JOIN jobs j ON j.id = a.job_id"
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
        out.push_back(std::move(a));
      }
      return out;
    });
  }

  std::optional<rollout_status> rollout_state() override {
    return guarded("rollout_state", [&]() -> std::optional<rollout_status> {
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

  std::vector<decision_record> decisions(instant since, std::int64_t before_id, std::size_t limit) override {
    return guarded("decisions", [&] {
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

  std::size_t sweep_dead_letters(instant before) override {
    return guarded("sweep_dead_letters", [&] {
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

private:
  /// Columns added after the first schema: added to older files in place.
  void migrate() {
    bool has_base = false;
    SQLite::Statement q(db_, "PRAGMA table_info(jobs)");
    while (q.executeStep())
      has_base |= q.getColumn(1).getString() == "attempt_base";
    if (!has_base)
      db_.exec("ALTER TABLE jobs ADD COLUMN attempt_base INTEGER NOT NULL DEFAULT 0");
  }

  /// SQLite's exceptions stop at this boundary and leave as store_error.
  template <class Fn>
  auto guarded(const char* what, Fn fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const SQLite::Exception& e) {
      throw store_error(std::string{"store "} + what + ": " + e.what());
    }
  }

  std::optional<job_record> find_job(job_id id) {
    SQLite::Statement q(db_, std::string{select_job} + " WHERE id=?");
    q.bind(1, static_cast<std::int64_t>(id.value));
    if (!q.executeStep())
      return std::nullopt;
    auto job = read_job(q);
    load_attempts(job);
    return job;
  }

  std::vector<job_record> read_open_jobs() {
    SQLite::Statement q(db_, std::string{select_job} +
                               " WHERE status NOT IN ('succeeded','failed','dead_lettered','cancelled') ORDER BY id");
    std::vector<job_record> out;
    while (q.executeStep())
      out.push_back(read_job(q));
    for (auto& j : out)
      load_attempts(j);
    return out;
  }

  std::vector<key_entry> read_keys(instant since) {
    SQLite::Statement q(db_, "SELECT idempotency_key, body_hash, id FROM jobs"
                             " WHERE idempotency_key IS NOT NULL AND created_at >= ?");
    q.bind(1, us(since));
    std::vector<key_entry> out;
    while (q.executeStep())
      out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                     job_id{static_cast<std::uint64_t>(q.getColumn(2).getInt64())}});
    return out;
  }

  static constexpr const char* select_job =
    "SELECT id,user_id,prompt,tier,n,endpoint,segment,metadata,COALESCE(idempotency_key,''),body_hash,status,"
    "provider,bucket,route_reason,COALESCE(r.images,''),cost_micros,error,created_at,updated_at,attempt_base"
    " FROM jobs LEFT JOIN results r ON r.job_id=jobs.id";

  void insert(const job_record& j) {
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
    s.exec();
    s.reset();
  }

  void fold(const std::vector<job_event>& events) {
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

  /// The delta of the event's attempt row; a row not started in this commit is keyed by its number.
  attempt_delta& attempt(const job_event& e) {
    auto& a = attempts_[{e.id.value, e.attempt.no}];
    if (!a.created)
      a.row.no = e.attempt.no;
    return a;
  }

  void write_attempt(std::uint64_t job, const attempt_delta& d) {
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

  void write_rollout(const rollout_status& r) {
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

  void write_decision(const decision_record& d) {
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

  void write_budget_row(const day_row& row) {
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

  void write_job(std::uint64_t id, const job_delta& d) {
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
    if (d.images && !d.images->empty()) {
      auto& r = *put_result_;
      r.bind(1, static_cast<std::int64_t>(id));
      r.bind(2, *d.images);
      r.exec();
      r.reset();
    }
  }

  static job_record read_job(SQLite::Statement& q) {
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
    return j;
  }

  void load_attempts(job_record& j) {
    if (!attempts_q_)
      attempts_q_.emplace(db_, "SELECT no,provider,started_at,finished_at,outcome,error_class,remote_id,cost_micros,"
                               "quality FROM attempts WHERE job_id=? ORDER BY no");
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
      j.attempts.push_back(std::move(a));
    }
    q.reset();
  }

  struct pair_hash {
    std::size_t operator()(const std::pair<std::uint64_t, int>& p) const {
      return std::hash<std::uint64_t>{}(p.first * 31 + static_cast<std::uint64_t>(p.second));
    }
  };

  SQLite::Database db_;
  std::optional<checkpointer> checkpoints_; ///< declared after db_: stopped before the connection closes
  std::optional<SQLite::Statement> insert_, update_job_, put_result_, put_attempt_, update_attempt_, attempts_q_,
    put_budget_, free_key_;
  std::unordered_map<std::uint64_t, job_delta> jobs_;
  std::unordered_map<std::pair<std::uint64_t, int>, attempt_delta, pair_hash> attempts_;
};

} // namespace

std::unique_ptr<job_store> open_sqlite_store(const std::string& path, sync_mode sync) {
  return open_sqlite_store(path, sync, store_open_options{});
}

std::unique_ptr<job_store> open_sqlite_store(const std::string& path, sync_mode sync, store_open_options opts) {
  try {
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty())
      std::filesystem::create_directories(parent);
    return std::make_unique<sqlite_store>(path, sync, opts);
  } catch (const std::exception& e) {
    throw store_error("cannot open store " + path + ": " + e.what());
  }
}

} // namespace cutover::store_adapter
