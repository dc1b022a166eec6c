#include "adapters/store/deferred_store.hpp"

#include <iterator>
#include <set>
#include <stdexcept>
#include <utility>

namespace cutover::store_adapter {

using namespace cutover::core;

namespace {
template <class T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}
template <class T>
void append(std::vector<T>& to, std::vector<T>& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  from.clear();
}
/// Empties the batch but keeps its buffers: they fill up again at once (freeing them cost page faults).
void clear(write_batch& b) {
  b.inserts.clear();
  b.events.clear();
  b.budget_rows.clear();
  b.rollout.clear();
  b.decisions.clear();
  b.feedback.clear();
  b.trips.clear();
}
} // namespace

// Each view writes what is gathered, then asks the inner store's part.
class deferred_store::jobs_view final : public job_store {
public:
  explicit jobs_view(deferred_store& s) : s_(s) {}
  std::optional<job_record> find(job_id id) override { return inner().find(id); }
  std::vector<job_record> open_jobs() override { return inner().open_jobs(); }
  std::uint64_t max_job_id() override { return inner().max_job_id(); }
  std::vector<key_entry> idempotency_keys(instant since) override { return inner().idempotency_keys(since); }
  std::vector<job_record> dead_letters(std::size_t limit, const std::string& tenant) override {
    return inner().dead_letters(limit, tenant);
  }
  std::size_t sweep_dead_letters(instant before) override {
    if (!s_.writer_.joinable())
      return inner().sweep_dead_letters(before);
    s_.hand_over(before);
    return 0;
  }
  std::vector<job_record> list_jobs(const job_query& q) override { return inner().list_jobs(q); }
  /// Simulate keeps every job of its run (its figures are read from them at the end; the file is thrown away).
  std::size_t sweep_final_jobs(instant, std::size_t) override { return 0; }
  erase_result erase_user_jobs(const std::string& user_id, const std::string& tenant) override {
    return inner().erase_user_jobs(user_id, tenant);
  }
  std::vector<finished_attempt> finished_attempts(const attempt_cursor& after, instant until,
                                                  std::size_t limit) override {
    return inner().finished_attempts(after, until, limit);
  }
  std::vector<instant> call_starts(const std::string& provider, instant since) override {
    return inner().call_starts(provider, since);
  }

private:
  job_store& inner() {
    s_.write_pending();
    return s_.inner_->jobs();
  }
  deferred_store& s_;
};

class deferred_store::budget_view final : public budget_store {
public:
  explicit budget_view(deferred_store& s) : s_(s) {}
  budget_snapshot budget_state(instant day_start, const std::string& day) override {
    return inner().budget_state(day_start, day);
  }
  std::vector<day_row> budget_days(const std::string& since_day) override { return inner().budget_days(since_day); }
  std::vector<daily_stat> daily_stats(instant since, duration day_starts) override {
    return inner().daily_stats(since, day_starts);
  }

private:
  budget_store& inner() {
    s_.write_pending();
    return s_.inner_->budget();
  }
  deferred_store& s_;
};

class deferred_store::audit_view final : public audit_store {
public:
  explicit audit_view(deferred_store& s) : s_(s) {}
  std::optional<rollout_status> rollout_state() override { return inner().rollout_state(); }
  std::vector<decision_record> decisions(instant since, std::int64_t before_id, std::size_t limit) override {
    return inner().decisions(since, before_id, limit);
  }
  std::vector<feedback_row> feedback_since(instant since) override { return inner().feedback_since(since); }
  std::vector<trip_row> trips_since(instant since) override { return inner().trips_since(since); }

private:
  audit_store& inner() {
    s_.write_pending();
    return s_.inner_->audit();
  }
  deferred_store& s_;
};

deferred_store::deferred_store(std::unique_ptr<store_db> inner, std::size_t max_rows, bool background)
  : inner_(std::move(inner)), max_rows_(max_rows), jobs_(std::make_unique<jobs_view>(*this)),
    budget_(std::make_unique<budget_view>(*this)), audit_(std::make_unique<audit_view>(*this)) {
  if (background)
    writer_ = std::thread([this] { writer_loop(); });
}

deferred_store::~deferred_store() {
  try {
    write_pending();
  } catch (const std::exception&) {
    // kept in failure_; the owner reads it before it lets go (a destructor must not throw)
  }
  if (writer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    writer_.join();
  }
}

job_store& deferred_store::jobs() { return *jobs_; }
budget_store& deferred_store::budget() { return *budget_; }
audit_store& deferred_store::audit() { return *audit_; }

namespace {
/// The rows a gathered write takes from a batch: simulate notifies nobody, so notices, outbox entries and the
/// readiness probe are not written.
std::size_t written_rows(const write_batch& b) {
  return b.inserts.size() + b.events.size() + b.budget_rows.size() + b.rollout.size() + b.decisions.size() +
         b.feedback.size() + b.trips.size();
}
void append_all(write_batch& to, write_batch& b) {
  append(to.inserts, b.inserts);
  append(to.events, b.events);
  append(to.budget_rows, b.budget_rows);
  append(to.rollout, b.rollout);
  append(to.decisions, b.decisions);
  append(to.feedback, b.feedback);
  append(to.trips, b.trips);
}
} // namespace

// The batches are kept whole, in order, and joined into one by write(), on the writer's thread: moving every row
// into one batch on the engine's thread was a twentieth of its time.
void deferred_store::commit(const write_batch& b) {
  pending_.rows += written_rows(b);
  pending_.batches.push_back(b);
  if (pending_.rows >= max_rows_)
    writer_.joinable() ? hand_over() : write_pending();
}

void deferred_store::commit_taking(write_batch& b) {
  pending_.rows += written_rows(b);
  pending_.batches.push_back(std::move(b));
  b = write_batch{};
  if (pending_.rows >= max_rows_)
    writer_.joinable() ? hand_over() : write_pending();
}

namespace {
/// Budget rows replace their (day, provider) row: of a gathered write only the last of each lands, so only it is
/// written (the ledger sends one at every settle: thousands per write otherwise).
void keep_last_budget_rows(write_batch& b) {
  auto& rows = b.budget_rows;
  if (rows.size() < 2)
    return;
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<day_row> last;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it)
    if (seen.emplace(it->day, it->provider).second)
      last.push_back(std::move(*it));
  rows.assign(std::make_move_iterator(last.rbegin()), std::make_move_iterator(last.rend()));
}
} // namespace

void deferred_store::write(gathered& g) {
  auto& batch = joined_; // emptied after each write with its buffers kept: they fill up again at once
  for (auto& b : g.batches)
    append_all(batch, b);
  g.batches.clear();
  g.rows = 0;
  keep_last_budget_rows(batch);
  try {
    inner_->commit(batch);
    ++writes_;
    clear(batch);
  } catch (const std::exception& e) {
    clear(batch); // lost: the run is void (see failure())
    if (failure_.empty())
      failure_ = e.what();
    throw;
  }
}

void deferred_store::wait_idle() {
  if (!writer_.joinable())
    return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !busy_; });
  if (!failure_.empty())
    throw std::runtime_error(failure_);
}

void deferred_store::hand_over(std::optional<instant> sweep_before) {
  wait_idle();
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::swap(pending_, writing_); // writing_ was emptied by its write
    sweep_before_ = sweep_before;
    busy_ = true;
  }
  cv_.notify_all();
}

void deferred_store::writer_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return busy_ || stop_; });
    if (!busy_)
      return;
    lock.unlock();
    try {
      // the engine's thread touches neither writing_ nor the inner store while busy_
      if (!writing_.empty())
        write(writing_);
      if (sweep_before_)
        inner_->jobs().sweep_dead_letters(*sweep_before_);
    } catch (const std::exception& e) {
      if (failure_.empty()) // a failed write kept its own; the next wait_idle() throws it
        failure_ = e.what();
    }
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

void deferred_store::write_pending() {
  wait_idle();
  if (!pending_.empty())
    write(pending_);
}

} // namespace cutover::store_adapter
