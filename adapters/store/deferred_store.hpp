#pragma once
/// simulate's store: wraps the real store and gathers the batches the store actor commits into one, written in one
/// transaction when it holds `max_rows` rows, before any read, or at finish(). Nothing can crash in a simulation
/// and nobody reads the file meanwhile, so durability per commit buys nothing; what the engine reads back is what
/// it would read from the inner store (every read writes what is gathered first), and the rows that land are the
/// ones the batches would have written one by one (the store folds a job's events into its row either way).

#include "core/store_ports.hpp"

#include <memory>
#include <string>

namespace cutover::store_adapter {

class deferred_store final : public core::store_db {
public:
  deferred_store(std::unique_ptr<core::store_db> inner, std::size_t max_rows);
  ~deferred_store() override;

  core::job_store& jobs() override;
  core::budget_store& budget() override;
  core::audit_store& audit() override;
  /// Gathers the batch; it reaches the inner store later (a failure then is kept: see failure()).
  void commit(const core::write_batch& batch) override;
  /// The same, moving the rows out of `batch`.
  void commit_taking(core::write_batch& batch) override;

  /// Writes what is gathered. Throws what the inner store throws (and keeps it as the failure).
  void write_pending();
  /// The first error of a deferred write ("" when none): the batches of that write are lost, so a run that
  /// saw one is void.
  const std::string& failure() const { return failure_; }
  /// Transactions written to the inner store.
  std::size_t writes() const { return writes_; }

private:
  class jobs_view;
  class budget_view;
  class audit_view;
  void keep_last_budget_rows();

  std::unique_ptr<core::store_db> inner_;
  std::size_t max_rows_;
  core::write_batch pending_;
  std::string failure_;
  std::size_t writes_ = 0;
  std::unique_ptr<jobs_view> jobs_;
  std::unique_ptr<budget_view> budget_;
  std::unique_ptr<audit_view> audit_;
};

} // namespace cutover::store_adapter
