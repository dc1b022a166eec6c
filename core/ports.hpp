#pragma once
/// Ports: the small interfaces core needs from the outside world. adapters/ implements them (SQLite,
/// HTTP providers, the simulated provider); tests may script their own.

#include "core/job.hpp"
#include "core/ledger.hpp"
#include "core/rollout.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cutover::core {

/// Durable job storage. Used by one owner (the store actor) from one thread; every write between
/// `begin` and `commit` lands atomically.
class job_store {
public:
  virtual ~job_store() = default;
  /// Everything one commit writes besides jobs: the ledger's day rows, the rollout's state and decisions.
  struct side_writes {
    std::vector<day_row> budget_rows;
    std::vector<rollout_status> rollout; ///< the last one wins
    std::vector<decision_record> decisions;
  };
  /// Writes new jobs, folds events into their rows and writes the side rows, all in one transaction.
  virtual void write(const std::vector<job_record>& inserts, const std::vector<job_event>& events,
                     const side_writes& side) = 0;
  void write(const std::vector<job_record>& inserts, const std::vector<job_event>& events) {
    write(inserts, events, side_writes{});
  }
  /// The rollout's persisted state, if any.
  virtual std::optional<rollout_status> rollout_state() = 0;
  /// Decision rows, newest first: made at or after `since`, with id < before_id (0 = from the newest), at most
  /// `limit`.
  virtual std::vector<decision_record> decisions(instant since, std::int64_t before_id, std::size_t limit) = 0;
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
  /// Dead-lettered jobs, the most recently dead-lettered first, at most `limit`.
  virtual std::vector<job_record> dead_letters(std::size_t limit) = 0;
  /// Deletes dead-lettered jobs last updated before `before`; returns how many.
  virtual std::size_t sweep_dead_letters(instant before) = 0;

  /// What the ledger rebuilds from at start: spend of the budget day from the attempts table (the authority:
  /// an attempt's cost is written in the same commit as its outcome), and the attempts still running.
  struct open_attempt {
    reservation_key key;
    std::string provider;
    tier tier_ = tier::sd;
    int n = 1;
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
    duration avg_latency{0}, p95_latency{0};
    micros cost = 0;
  };
  virtual std::vector<daily_stat> daily_stats(instant since, duration day_starts) = 0;

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
    int images = 0; ///< images the attempt delivered (a succeeded attempt's are the job's result)
    double quality = -1; ///< the provider's own score; < 0: none
  };
  /// Attempts finished before `until` and after `after` in that order, oldest first, at most `limit`. A cursor of
  /// (t, 0, 0) starts at the first attempt finished at or after t.
  virtual std::vector<finished_attempt> finished_attempts(const attempt_cursor& after, instant until,
                                                          std::size_t limit) = 0;
  /// When each item-call to `provider` since `since` started (attempts that made a call: refusals by the
  /// breaker, a limit or the budget excluded), for the rate-limit windows after a restart.
  virtual std::vector<instant> call_starts(const std::string& provider, instant since) = 0;

  /// A client's quality rating of a job (`POST /v1/jobs/{id}/feedback`), kept for the rollout's figures.
  struct feedback_row {
    job_id job;
    std::string provider; ///< the provider that served the job
    double quality = 0;   ///< 0..1
    instant at{};
  };
  virtual void record_feedback(const feedback_row& f) = 0;
  /// Ratings given since `since`, oldest first.
  virtual std::vector<feedback_row> feedback_since(instant since) = 0;
  /// A provider's circuit breaker opened at `at` (the rollout's breaker_trips gate).
  struct trip_row {
    std::string provider;
    instant at{};
  };
  virtual void record_trip(const trip_row& t) = 0;
  /// Trips since `since`, oldest first.
  virtual std::vector<trip_row> trips_since(instant since) = 0;
};

/// What a provider answered to a submit or a poll.
struct provider_reply {
  enum class kind : std::uint8_t {
    done,     ///< final answer: `items` holds one result per item (or `error` holds a call-wide failure)
    accepted, ///< async: the provider took the work as `remote_id`; poll it
    pending,  ///< async poll: not finished yet
  };
  kind k = kind::done;
  std::string remote_id;
  error_class error = error_class::none; ///< a failure of the whole call
  std::string message;
  duration retry_after{0}; ///< the provider's own hint (Retry-After, RetryInfo), 0 when none
  bool no_retry = false;   ///< the provider said not to retry this call (e.g. OpenAI's x-should-retry: false)
  bool poll_failed = false; ///< a poll call itself failed (HTTP or transport): says nothing of the remote job
  /// accepted or pending: the provider says the remote job has not started (Replicate `starting`, Gemini batch
  /// `PENDING`), so nothing of it is billed yet. A job given up on in that state is not charged.
  bool not_started = false;
  /// No answer arrived at all (connection cut, timed out): the provider may or may not have acted on the call.
  /// For an async create this means a remote job may exist, and be billing, without the engine knowing its id.
  bool unanswered = false;
  struct item {
    job_id id;
    error_class error = error_class::none;
    std::string message;
    std::vector<std::string> images; ///< base64 PNG (or URLs). No cost: the worker prices images from its config
    double quality = 0;
  };
  std::vector<item> items;
  /// Simulated providers: the reply is to be taken as arriving this much later (on the actor clock).
  duration delay{0};
};

/// A provider's API behind one interface. Calls return at once; `done` runs later, on any thread, exactly once.
class provider_port {
public:
  using callback = std::function<void(provider_reply)>;
  virtual ~provider_port() = default;
  /// True when one call carries a whole batch (batch APIs); false: one call per item.
  virtual bool takes_batches() const = 0;
  virtual void submit(const std::vector<work_item>& items, instant now, callback done) = 0;
  virtual void poll(const std::string& remote_id, const std::vector<work_item>& items, instant now,
                    callback done) = 0;
  /// Asks the provider to stop remote job `remote_id` (e.g. past the polling deadline), so it stops billing.
  /// Best effort: `done` gets error none when the provider took the request, else the failure. Ports without
  /// remote jobs to stop (sync APIs, the simulated provider) answer at once with a message saying so.
  virtual void cancel(const std::string& remote_id, instant now, callback done) = 0;
};

} // namespace cutover::core
