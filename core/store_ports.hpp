#pragma once
/// The store's ports, one per role: jobs (job rows, attempts, results, idempotency keys), budget (the ledger's day
/// rows and what it rebuilds from) and rollout audit (the controller's state, decisions, ratings, breaker trips).
/// One connection owner (store_db) hands out the three and writes one write_batch of all of them in ONE
/// transaction, so a row of one role (e.g. a later notification outbox) commits together with its job event.

#include "core/job.hpp"
#include "core/ledger.hpp"
#include "core/notice.hpp"
#include "core/rollout.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cutover::core {

/// Jobs: what intake, the router and the providers read back.
class job_store {
public:
  virtual ~job_store() = default;
  virtual std::optional<job_record> find(job_id id) = 0;
  /// Every job not in a final state, oldest first, with its attempts.
  virtual std::vector<job_record> open_jobs() = 0;
  /// The largest job id ever issued (0 when none).
  virtual std::uint64_t max_job_id() = 0;
  /// Idempotency keys of jobs created at or after `since`: (key, body hash, id).
  struct key_entry {
    std::string key;
    std::string body_hash;
    job_id id;
  };
  virtual std::vector<key_entry> idempotency_keys(instant since) = 0;
  /// Dead-lettered jobs, the most recently dead-lettered first, at most `limit`: those of `tenant`, or of every
  /// tenant when it is empty.
  virtual std::vector<job_record> dead_letters(std::size_t limit, const std::string& tenant) = 0;
  /// Deletes dead-lettered jobs last updated before `before` (a transaction of its own); returns how many.
  virtual std::size_t sweep_dead_letters(instant before) = 0;
  /// Forgets the stored images whose last referring job finished before `before` (a transaction of its own) and
  /// returns their digests: the caller deletes the files. Stores without image rows (simulate's) have none.
  virtual std::vector<std::string> expire_images(instant before) { (void)before; return {}; }
  /// Erasure: drops the result images of `jobs` and returns the digests no other job refers to any more (the caller
  /// deletes those files, e.g. with core::image_port::remove). Call it in the same flow that deletes the jobs.
  virtual std::vector<std::string> forget_images_of_jobs(const std::vector<job_id>& jobs) { (void)jobs; return {}; }

  /// What an operator lists (`GET /v1/jobs`): jobs newest first, by id.
  struct job_query {
    std::string tenant;           ///< "": every tenant's
    std::string user_id;          ///< "": any user's
    bool by_status = false;       ///< only jobs in `status`
    job_status status = job_status::accepted;
    instant since{};              ///< created at or after this (the epoch: any time)
    std::uint64_t before = 0;     ///< ids below this one (the `next` cursor of the page before); 0: from the newest
    std::size_t limit = 100;
  };
  /// A page of jobs matching `q`, with their attempts, without their result images (a list stays small).
  virtual std::vector<job_record> list_jobs(const job_query& q) = 0;
  /// Deletes up to `limit` final jobs (succeeded, failed, cancelled) that ended before `before`, oldest first, with
  /// their prompts, attempts and results, in a transaction of its own; returns how many. Dead letters keep their
  /// own retention.
  virtual std::size_t sweep_final_jobs(instant before, std::size_t limit) = 0;
  /// Erases the final jobs of `user_id` (of `tenant`; of every tenant when it is empty): their rows (prompt,
  /// metadata, webhook, idempotency key), results and ratings. Their attempt rows stay, without remote ids: they
  /// are the authority on money spent. Jobs not final are left (their ids are returned) for the router to end first.
  struct erase_result {
    std::size_t erased = 0;
    std::vector<job_id> open;
    std::vector<std::string> images; ///< stored images no job names any more: the caller deletes their files
  };
  virtual erase_result erase_user_jobs(const std::string& user_id, const std::string& tenant) = 0;

  /// The result cache: what a new job asks, and the newest earlier job of the same tenant that answered the same
  /// prompt, tier and n at a provider (a cache hit is never a source: an answer is at most cache.ttl old).
  struct cache_query {
    job_id id; ///< the asking job (never its own answer)
    std::string tenant;
    std::string prompt;
    tier tier_ = tier::sd;
    int n = 1;
  };
  struct cache_answer {
    job_id from{};                   ///< 0: no such job (a miss)
    std::vector<std::string> images; ///< its result: stored images' digests (or the provider's values, with no image store)
  };
  /// For each query, the newest matching job that succeeded at or after `since`, in the order asked.
  virtual std::vector<cache_answer> find_cached(const std::vector<cache_query>& qs, instant since) {
    (void)since;
    return std::vector<cache_answer>(qs.size());
  }

  /// Where a page of finished attempts ends: attempts are ordered by (finished_at, job, no).
  struct attempt_cursor {
    instant finished_at{};
    std::uint64_t job = 0;
    int no = 0;
  };
  /// One finished attempt with what the rollout's figures count of it.
  struct finished_attempt {
    attempt_cursor key; ///< key.finished_at: when it finished
    std::string provider;
    tier tier_ = tier::sd;
    instant started_at{};
    error_class error = error_class::none;
    micros cost = 0;
    int images = 0;      ///< images the attempt delivered (a succeeded attempt's are the job's result)
    double quality = -1; ///< the provider's own score; < 0: none
    instant job_created_at{};   ///< when its job was accepted (a succeeded attempt ended it: the user wait)
    std::string route_provider; ///< the provider its job was routed to (its first attempt since a replay)
  };
  /// Attempts finished before `until` and after `after` in that order, oldest first, at most `limit`. A cursor of
  /// (t, 0, 0) starts at the first attempt finished at or after t.
  virtual std::vector<finished_attempt> finished_attempts(const attempt_cursor& after, instant until,
                                                          std::size_t limit) = 0;
  /// When each item-call to `provider` since `since` started (attempts that made a call: refusals by the
  /// breaker, a limit or the budget excluded), for the rate-limit windows after a restart.
  virtual std::vector<instant> call_starts(const std::string& provider, instant since) = 0;
};

/// Budget: what the ledger restores from and reports.
class budget_store {
public:
  virtual ~budget_store() = default;
  /// What the ledger rebuilds from at start: spend of the budget day from the attempts table (the authority:
  /// an attempt's cost is written in the same commit as its outcome), and the attempts still running on jobs
  /// that are not final (a final job's `running` attempt is a lost write, never a reservation to hold).
  struct open_attempt {
    reservation_key key;
    std::string provider;
    tier tier_ = tier::sd;
    int n = 1;
    micros reserved = 0; ///< held at its admission; 0: not known (an older store), estimate it at today's price
  };
  struct budget_snapshot {
    std::vector<day_row> today; ///< per provider: consumed and requests of attempts finished since day_start
    std::vector<open_attempt> open;
  };
  virtual budget_snapshot budget_state(instant day_start, const std::string& day) = 0;
  /// Persisted budget rows of days >= `since_day` ("YYYY-MM-DD"), oldest first.
  virtual std::vector<day_row> budget_days(const std::string& since_day) = 0;
  /// Per budget day and provider, from the attempts finished since `since`.
  struct daily_stat {
    std::string day;
    std::string provider;
    std::int64_t requests = 0, succeeded = 0, failed = 0, fell_back = 0;
    /// calls whose outcome the engine never learnt (it stopped meanwhile): requests, charged, neither
    /// succeeded nor failed, and no latency
    std::int64_t in_doubt = 0;
    duration avg_latency{0}, p95_latency{0};
    micros cost = 0;
  };
  virtual std::vector<daily_stat> daily_stats(instant since, duration day_starts) = 0;
};

/// Rollout audit: the controller's state and decisions, clients' ratings and breaker trips.
class audit_store {
public:
  virtual ~audit_store() = default;
  /// The rollout's persisted state, if any.
  virtual std::optional<rollout_status> rollout_state() = 0;
  /// Decision rows, newest first: made at or after `since`, with id < before_id (0 = from the newest), at most
  /// `limit`.
  virtual std::vector<decision_record> decisions(instant since, std::int64_t before_id, std::size_t limit) = 0;
  /// A client's quality rating of a job (`POST /v1/jobs/{id}/feedback`), kept for the rollout's figures.
  struct feedback_row {
    job_id job;
    std::string provider; ///< the provider that served the job
    double quality = 0;   ///< 0..1
    instant at{};
  };
  /// Ratings given since `since`, oldest first.
  virtual std::vector<feedback_row> feedback_since(instant since) = 0;
  /// A provider's circuit breaker opened at `at` (the rollout's breaker_trips gate).
  struct trip_row {
    std::string provider;
    instant at{};
  };
  /// Trips since `since`, oldest first.
  virtual std::vector<trip_row> trips_since(instant since) = 0;
};

/// Notifications: the outbox of deliveries not yet answered, and what a job's end needs to notify.
class outbox_store {
public:
  virtual ~outbox_store() = default;
  using query = outbox_query;
  virtual std::vector<outbox_entry> pending(const query& q) = 0;
  /// The job's `webhook_url` ("" when it has none or is unknown).
  virtual std::string webhook_url(job_id id) = 0;
  /// Deletes up to `limit` notified events older than `before` whose deliveries are all done (none left in the
  /// outbox), oldest first, in a transaction of its own; returns how many. The event log would grow forever else.
  virtual std::size_t sweep_events(instant before, std::size_t limit) {
    (void)before;
    (void)limit;
    return 0;
  }
};

/// Everything one group commit writes, by role. Order within each list is the order of arrival.
struct write_batch {
  // jobs
  std::vector<job_record> inserts;
  std::vector<job_event> events;
  // budget
  std::vector<day_row> budget_rows;
  // rollout audit
  std::vector<rollout_status> rollout; ///< the last one wins
  std::vector<decision_record> decisions;
  std::vector<audit_store::feedback_row> feedback;
  std::vector<audit_store::trip_row> trips;
  // notifications
  std::vector<notice> notices; ///< breaker and budget changes, as their owners sent them
  /// Every notice of this commit with its receivers: made from the rows above and `notices` by the store's owner
  /// just before each try of the commit (so a retried commit makes them once); written with the event table and
  /// one outbox entry per receiver. Not counted in rows(): they are a view of the others.
  std::vector<notice> derived;
  std::vector<std::int64_t> delivered; ///< outbox entries done with (answered 2xx, or expired)
  /// The store's probe: one row rewritten at this time, so that a store that cannot write is found out while the
  /// engine is idle (readiness). Not counted in rows().
  std::optional<instant> probe;

  std::size_t rows() const {
    return inserts.size() + events.size() + budget_rows.size() + rollout.size() + decisions.size() +
           feedback.size() + trips.size() + notices.size() + delivered.size();
  }
  bool empty() const { return rows() == 0; }
};

/// The connection owner: used by one owner (the store actor) from one thread.
class store_db {
public:
  virtual ~store_db() = default;
  virtual job_store& jobs() = 0;
  virtual budget_store& budget() = 0;
  virtual audit_store& audit() = 0;
  /// The outbox; nullptr for a store that keeps no notifications (simulate's: it sends none).
  virtual outbox_store* outbox() { return nullptr; }
  /// Writes new jobs, folds events into their rows and writes every side row, all in one transaction: all of it
  /// lands, or (it throws) none of it.
  virtual void commit(const write_batch& batch) = 0;
  /// commit() for an owner that lets go of the rows once they are committed (the store actor): a store that keeps
  /// rows for later (simulate's deferred store) moves them out of `batch` instead of copying them. The SQLite store
  /// leaves `batch` as it is, so a failed commit keeps its rows for the retry.
  virtual void commit_taking(write_batch& batch) { commit(batch); }
  /// Jobs and events alone (tests, tools).
  void write(std::vector<job_record> inserts, std::vector<job_event> events) {
    write_batch b;
    b.inserts = std::move(inserts);
    b.events = std::move(events);
    commit(b);
  }
};

} // namespace cutover::core
