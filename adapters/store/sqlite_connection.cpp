#include "adapters/store/sqlite_connection.hpp"
#include "core/thread_name.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace cutover::store_adapter::detail {

namespace {

/// For operators of a serving engine only (simulate runs no such query): GET /v1/jobs?user_id= and a user's erasure
/// take a user's jobs. It is filled in random order: over millions of simulated jobs its pages overflow the cache.
constexpr const char* operator_indexes = R"sql(
CREATE INDEX IF NOT EXISTS jobs_user ON jobs(user_id, id);
)sql";

constexpr const char* schema = R"sql(
-- AUTOINCREMENT: the highest id ever used is kept in sqlite_sequence, so ids of swept jobs are never reissued.
CREATE TABLE IF NOT EXISTS jobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL, prompt TEXT NOT NULL, tier TEXT NOT NULL, n INTEGER NOT NULL,
  endpoint TEXT NOT NULL DEFAULT '', segment TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT, body_hash TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '', bucket INTEGER NOT NULL DEFAULT 0,
  route_reason TEXT NOT NULL DEFAULT '', cost_micros INTEGER NOT NULL DEFAULT 0, attempt_base INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  tenant TEXT NOT NULL DEFAULT '', webhook_url TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_dead ON jobs(updated_at) WHERE status = 'dead_lettered';
-- Images live apart from the job row, which is rewritten at every step of the job's life: they are written once.
CREATE TABLE IF NOT EXISTS results(job_id INTEGER PRIMARY KEY, images TEXT NOT NULL);
-- Result images kept as files, by SHA-256 (the results rows name them): when a job last referred to each (the
-- retention sweep deletes a file images.retention after that), and which jobs refer to it (erasure keeps a file
-- another job still names).
CREATE TABLE IF NOT EXISTS images(digest TEXT PRIMARY KEY, last_used INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS images_last_used ON images(last_used);
CREATE TABLE IF NOT EXISTS job_images(digest TEXT NOT NULL, job_id INTEGER NOT NULL,
  PRIMARY KEY(digest, job_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts(
  job_id INTEGER NOT NULL, no INTEGER NOT NULL, provider TEXT NOT NULL,
  started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0, outcome TEXT NOT NULL,
  error_class TEXT NOT NULL DEFAULT 'none', remote_id TEXT NOT NULL DEFAULT '', cost_micros INTEGER NOT NULL DEFAULT 0,
  quality REAL NOT NULL DEFAULT -1, reserved_micros INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(job_id, no)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attempts_finished ON attempts(finished_at);
-- Clients' quality ratings of jobs, for the rollout's quality-parity gate (rebuilt from here after a restart).
CREATE TABLE IF NOT EXISTS feedback(
  at INTEGER NOT NULL, job_id INTEGER NOT NULL, provider TEXT NOT NULL, quality REAL NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_at ON feedback(at);
-- Circuit breaker trips, for the rollout's breaker_trips gate (rebuilt from here after a restart).
CREATE TABLE IF NOT EXISTS breaker_trips(at INTEGER NOT NULL, provider TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS store_probe(id INTEGER PRIMARY KEY, at INTEGER NOT NULL);
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
-- Notified events (breaker and budget changes always; others when someone is told). AUTOINCREMENT: an event id is
-- never reissued, so a receiver may drop repeats by it.
CREATE TABLE IF NOT EXISTS notify_events(
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notify_events_at ON notify_events(at);
-- Deliveries not yet answered 2xx (nor expired), written in the commit of their event: they survive a crash.
CREATE TABLE IF NOT EXISTS outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT, event_id INTEGER NOT NULL, type TEXT NOT NULL, url TEXT NOT NULL,
  secret_env TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL, job_hook INTEGER NOT NULL DEFAULT 0);
-- The event sweep keeps an event while a delivery of it waits.
CREATE INDEX IF NOT EXISTS outbox_event ON outbox(event_id);
)sql";

/// SQLite's count of the memory it holds takes a process-wide lock at every allocation; nothing here reads it. Set
/// before SQLite's first use in the process (later, SQLite refuses the setting and keeps counting: harmless).
const bool memory_not_counted = [] {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  return true;
}();

/// Passive checkpoints never hold the writer back, but under commits that never pause they never catch up with them
/// either, and SQLite starts the WAL again from its beginning only after a checkpoint that copied all of it: the WAL
/// grew without end (700 MB in 24 s of closed-loop load) and every page the store looked for searched an ever longer
/// WAL index. So after a commit that leaves the WAL at `restart_frames` frames or more, the writer itself runs a
/// RESTART checkpoint: it copies what the passive ones have not yet and lets the next commit start the WAL again.
/// Only the writer's own connection ever takes the write lock (the checkpointer's rounds are passive), so no
/// transaction of the store meets another writer. The writer first waits for the checkpointer's round under way
/// (both hold `wal_restart::lock` while checkpointing), then at most `restart_wait_ms` for a reader (a backup);
/// when that is not enough it tries again only after another `restart_frames`, so a long backup costs one such wait
/// per 16 MiB of commits.
constexpr int restart_frames = 4096; // 16 MiB of 4 KiB pages
constexpr int restart_wait_ms = 100;
constexpr int busy_timeout_ms = 5000;

int restart_long_wal(void* state, sqlite3* db, const char* name, int frames) {
  auto& r = *static_cast<wal_restart*>(state);
  if (frames >= std::max(r.next_try, restart_frames)) {
    std::lock_guard<std::mutex> guard{r.lock};
    sqlite3_busy_timeout(db, restart_wait_ms);
    const int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    r.next_try = rc == SQLITE_OK ? 0 : frames + restart_frames;
  }
  return SQLITE_OK;
}
} // namespace

/// Copies the WAL back into the database file from a thread of its own, on its own connection. A checkpoint ends
/// in an fsync; done inside a commit it stalled the commit (and every answer waiting on it) for 10-30 ms.
class checkpointer {
public:
  checkpointer(const std::string& path, std::mutex& checkpointing)
    : db_(path, SQLite::OPEN_READWRITE), checkpointing_(checkpointing) {
    db_.exec("PRAGMA busy_timeout=" + std::to_string(busy_timeout_ms));
    thread_ = std::thread([this] {
      core::name_this_thread("cutover-ckpt");
      run();
    });
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
        std::lock_guard<std::mutex> checkpointing{checkpointing_}; // the writer's restart waits for this round
        db_.exec("PRAGMA wal_checkpoint(PASSIVE)"); // never blocks the writer
      } catch (const std::exception&) {
        // busy or failed: the next round tries again; the WAL just grows meanwhile
      }
    }
  }
  SQLite::Database db_;
  std::mutex& checkpointing_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

namespace {
/// SQLite's numbers for the levels of `PRAGMA synchronous`.
int pragma_level(core::sync_mode m) {
  switch (m) {
  case core::sync_mode::off:
    return 0;
  case core::sync_mode::normal:
    return 1;
  case core::sync_mode::full:
    return 2;
  }
  return -1;
}
} // namespace

// NOMUTEX: one thread at a time uses a connection (the store's owner: the store actor; in simulate the writer thread,
// handed the store under a lock, and after the run the one thread reading the daily figures while the other reads
// through a connection of its own), so SQLite's lock around every call on it guards nothing.
connection::connection(const std::string& path, core::sync_mode sync, bool with_checkpointer, bool with_operator_indexes)
  : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX) {
  using core::sync_mode;
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec(std::string{"PRAGMA synchronous="} +
           (sync == sync_mode::full ? "FULL" : sync == sync_mode::off ? "OFF" : "NORMAL"));
  // SQLite ignores a pragma it cannot apply without an error: a 202's promise rests on this one, so check it.
  if (synchronous() != pragma_level(sync))
    throw store_error("PRAGMA synchronous reads back " + std::to_string(synchronous()) + ", not " +
                      std::to_string(pragma_level(sync)));
  db_.exec("PRAGMA busy_timeout=" + std::to_string(busy_timeout_ms));
  db_.exec("PRAGMA cache_size=-65536");     // 64 MiB: the rows of jobs in flight stay in memory
  // the checkpointer does it, off the commit path
  db_.exec(with_checkpointer ? "PRAGMA wal_autocheckpoint=0" : "PRAGMA wal_autocheckpoint=1000");
  if (with_checkpointer) // (after the pragma above: SQLite's automatic checkpoints use the same hook)
    sqlite3_wal_hook(db_.getHandle(), restart_long_wal, &restart_);
  // simulate: one connection for the whole run, so the file lock is taken once, not twice per commit (fcntl was
  // about a tenth of a simulated job's cost in perf)
  if (!with_checkpointer)
    db_.exec("PRAGMA locking_mode=EXCLUSIVE");
  db_.exec("PRAGMA journal_size_limit=67108864");
  db_.exec(schema);
  // the jobs not ended yet, read back at start; and (for operators only, like jobs_user) final jobs by when they
  // ended, for jobs.retention's sweep (a job enters it once, when it ends)
  ensure_index("jobs_open", std::string{"CREATE INDEX jobs_open ON jobs(id) WHERE "} + sql_job_open);
  if (with_operator_indexes) {
    db_.exec(operator_indexes);
    ensure_index("jobs_final", std::string{"CREATE INDEX jobs_final ON jobs(updated_at) WHERE "} + sql_job_ended);
  }
  migrate();
  if (with_checkpointer)
    checkpoints_ = std::make_unique<checkpointer>(path, restart_.lock);
}

connection::~connection() = default;

int connection::synchronous() { return db_.execAndGet("PRAGMA synchronous").getInt(); }

void connection::ensure_index(const std::string& name, const std::string& create) {
  SQLite::Statement q(db_, "SELECT sql FROM sqlite_master WHERE type='index' AND name=?");
  q.bind(1, name);
  if (q.executeStep()) {
    if (q.getColumn(0).getString() == create)
      return;
    q.reset();
    db_.exec("DROP INDEX " + name); // an older definition (stores written with IN lists)
  }
  db_.exec(create);
}

/// Columns added after the first schema: added to older files in place.
void connection::migrate() {
  auto has = [this](const char* table, const char* column) {
    SQLite::Statement q(db_, std::string{"SELECT COUNT(*) FROM pragma_table_info('"} + table + "') WHERE name = ?");
    q.bind(1, column);
    q.executeStep();
    return q.getColumn(0).getInt() != 0;
  };
  // stores written before budget refusals were counted
  if (!has("budget_days", "refused"))
    db_.exec("ALTER TABLE budget_days ADD COLUMN refused INTEGER NOT NULL DEFAULT 0");
  // ... before provider quality scores were kept
  if (!has("attempts", "quality"))
    db_.exec("ALTER TABLE attempts ADD COLUMN quality REAL NOT NULL DEFAULT -1");
  // ... and before replays kept their attempt numbers
  if (!has("jobs", "attempt_base"))
    db_.exec("ALTER TABLE jobs ADD COLUMN attempt_base INTEGER NOT NULL DEFAULT 0");
  // ... and before an attempt kept the reservation made at its admission
  if (!has("attempts", "reserved_micros"))
    db_.exec("ALTER TABLE attempts ADD COLUMN reserved_micros INTEGER NOT NULL DEFAULT 0");
  // ... and before jobs kept the tenant of the key that submitted them: those jobs belong to no tenant, so only
  // keys without a tenant see them (no tenant's key could have made them: tenant keys were refused then)
  if (!has("jobs", "tenant"))
    db_.exec("ALTER TABLE jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT ''");
  // ... and before a job could name a webhook
  if (!has("jobs", "webhook_url"))
    db_.exec("ALTER TABLE jobs ADD COLUMN webhook_url TEXT NOT NULL DEFAULT ''");
  // ... and before jobs' own webhooks queued apart from the operator's targets: what waits then is read as the
  // operator's (once, until delivered)
  if (!has("outbox", "job_hook"))
    db_.exec("ALTER TABLE outbox ADD COLUMN job_hook INTEGER NOT NULL DEFAULT 0");
  // the notifier reads each lane on its own, in id order
  db_.exec("CREATE INDEX IF NOT EXISTS outbox_lane ON outbox(job_hook, id)");
}

} // namespace cutover::store_adapter::detail
