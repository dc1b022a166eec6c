#include "adapters/store/deferred_store.hpp"

#include <iterator>
#include <set>
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
  std::size_t sweep_dead_letters(instant before) override { return inner().sweep_dead_letters(before); }
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

deferred_store::deferred_store(std::unique_ptr<store_db> inner, std::size_t max_rows)
  : inner_(std::move(inner)), max_rows_(max_rows), jobs_(std::make_unique<jobs_view>(*this)),
    budget_(std::make_unique<budget_view>(*this)), audit_(std::make_unique<audit_view>(*this)) {}

deferred_store::~deferred_store() {
  try {
    write_pending();
  } catch (const std::exception&) {
    // kept in failure_; the owner reads it before it lets go (a destructor must not throw)
  }
}

job_store& deferred_store::jobs() { return *jobs_; }
budget_store& deferred_store::budget() { return *budget_; }
audit_store& deferred_store::audit() { return *audit_; }

namespace {
template <class Batch>
void append_all(write_batch& to, Batch& b) {
  append(to.inserts, b.inserts);
  append(to.events, b.events);
  append(to.budget_rows, b.budget_rows);
  append(to.rollout, b.rollout);
  append(to.decisions, b.decisions);
  append(to.feedback, b.feedback);
  append(to.trips, b.trips);
}
} // namespace

void deferred_store::commit(const write_batch& b) {
  append_all(pending_, b);
  if (pending_.rows() >= max_rows_)
    write_pending();
}

void deferred_store::commit_taking(write_batch& b) {
  append_all(pending_, b);
  if (pending_.rows() >= max_rows_)
    write_pending();
}

/// Budget rows replace their (day, provider) row: of a gathered write only the last of each lands, so only it is
/// written (the ledger sends one at every settle: thousands per write otherwise).
void deferred_store::keep_last_budget_rows() {
  auto& rows = pending_.budget_rows;
  if (rows.size() < 2)
    return;
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<day_row> last;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it)
    if (seen.emplace(it->day, it->provider).second)
      last.push_back(std::move(*it));
  rows.assign(std::make_move_iterator(last.rbegin()), std::make_move_iterator(last.rend()));
}

void deferred_store::write_pending() {
  if (pending_.empty())
    return;
  keep_last_budget_rows();
  try {
    inner_->commit(pending_);
    ++writes_;
    clear(pending_);
  } catch (const std::exception& e) {
    clear(pending_); // lost: the run is void (see failure())
    if (failure_.empty())
      failure_ = e.what();
    throw;
  }
}

} // namespace cutover::store_adapter
