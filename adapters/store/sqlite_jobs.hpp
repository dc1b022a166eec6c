#pragma once
/// The jobs role on the shared SQLite connection (adapter-internal): job rows, attempts, results and idempotency
/// keys. Events of one commit are folded so each job row and each attempt row is written once per commit.

#include "adapters/store/sqlite_connection.hpp"
#include "core/store_ports.hpp"

#include <optional>
#include <unordered_map>

namespace cutover::store_adapter::detail {

class sqlite_jobs final : public core::job_store {
public:
  explicit sqlite_jobs(connection& c);

  /// Writes inserts and folded events inside the caller's open transaction.
  void stage(const std::vector<core::job_record>& inserts, const std::vector<core::job_event>& events);
  /// After a failed transaction: a statement that threw mid-way is left busy, so one failure never blocks the next.
  void reset_statements();

  std::optional<core::job_record> find(core::job_id id) override;
  std::vector<core::job_record> open_jobs() override;
  std::uint64_t max_job_id() override;
  std::vector<key_entry> idempotency_keys(core::instant since) override;
  std::vector<core::job_record> dead_letters(std::size_t limit, const std::string& tenant) override;
  std::size_t sweep_dead_letters(core::instant before) override;
  std::vector<std::string> expire_images(core::instant before) override;
  std::vector<std::string> forget_images_of_jobs(const std::vector<core::job_id>& jobs) override;
  std::vector<core::job_record> list_jobs(const job_query& q) override;
  std::size_t sweep_final_jobs(core::instant before, std::size_t limit) override;
  erase_result erase_user_jobs(const std::string& user_id, const std::string& tenant) override;
  std::vector<cache_answer> find_cached(const std::vector<cache_query>& qs, core::instant since) override;
  std::vector<finished_attempt> finished_attempts(const attempt_cursor& after, core::instant until,
                                                  std::size_t limit) override;
  std::vector<core::instant> call_starts(const std::string& provider, core::instant since) override;

private:
  /// The folded effect of one commit's events on one job row.
  struct job_delta {
    std::optional<core::job_status> status;
    std::optional<std::string> provider, route_reason, images, error;
    std::optional<int> bucket;
    std::optional<core::micros> cost;
    std::optional<int> attempt_base;
    bool replay = false; ///< may leave a final status
    core::instant updated_at{};
  };
  /// The folded effect on one attempt row; `created` when the row starts in this commit.
  struct attempt_delta {
    bool created = false;
    core::attempt_record row;
    bool remote = false, finished = false;
  };
  struct pair_hash {
    std::size_t operator()(const std::pair<std::uint64_t, int>& p) const {
      return std::hash<std::uint64_t>{}(p.first * 31 + static_cast<std::uint64_t>(p.second));
    }
  };

  std::optional<core::job_record> find_job(core::job_id id);
  std::vector<core::job_record> read_open_jobs();
  std::vector<key_entry> read_keys(core::instant since);
  /// `with_progress`: the row's provider, bucket, reason, cost, error and attempt base too (a job whose events are
  /// in the same commit); else those start at their defaults.
  void insert(const core::job_record& j, bool with_progress);
  /// The job's result, and for each stored image (a digest) its use by the job at `at`.
  void put_result(std::uint64_t id, const std::string& images, core::instant at);
  void fold(const std::vector<core::job_event>& events);
  attempt_delta& attempt(const core::job_event& e);
  void write_attempt(std::uint64_t job, const attempt_delta& d);
  void write_job(std::uint64_t id, const job_delta& d);
  /// Deletes the jobs `ids` and what hangs off them, inside the caller's transaction. `keep_money`: their attempt
  /// rows stay (without remote ids), as the record of what was spent. Returns what forget_results returns.
  std::vector<std::string> delete_jobs(const std::vector<std::int64_t>& ids, bool keep_money, bool drop_unused);
  /// Where a deleted job's result data goes away: its `results` row and its references to stored images, inside
  /// the caller's transaction. `drop_unused` (erasure): the images no other job names lose their rows now and
  /// their digests are returned for the caller to delete the files; otherwise (retention) they keep their rows
  /// and go with the image sweep, images.retention after their last use.
  std::vector<std::string> forget_results(const std::vector<std::int64_t>& ids, bool drop_unused);
  static core::job_record read_job(SQLite::Statement& q);
  void load_attempts(core::job_record& j);

  static constexpr const char* select_job =
    "SELECT id,user_id,prompt,tier,n,endpoint,segment,metadata,COALESCE(idempotency_key,''),body_hash,status,"
    "provider,bucket,route_reason,COALESCE(r.images,''),cost_micros,error,created_at,updated_at,attempt_base,tenant"
    " FROM jobs LEFT JOIN results r ON r.job_id=jobs.id";

  connection& c_;
  SQLite::Database& db_;
  std::optional<SQLite::Statement> insert_, update_job_, put_result_, put_attempt_, update_attempt_, attempts_q_,
    free_key_, put_image_, put_job_image_;
  bool cache_index_ = false; ///< the result cache's index exists (made at the first lookup: only cache users pay for it)
  std::unordered_map<std::uint64_t, job_delta> jobs_;
  std::unordered_map<std::pair<std::uint64_t, int>, attempt_delta, pair_hash> attempts_;
};

} // namespace cutover::store_adapter::detail
