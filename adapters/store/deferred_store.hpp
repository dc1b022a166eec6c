#pragma once
/// simulate's store: wraps the real store and gathers the batches the store actor commits into one, written in one
/// transaction when it holds `max_rows` rows, before any read, or at finish(). Nothing can crash in a simulation
/// and nobody reads the file meanwhile, so durability per commit buys nothing; what the engine reads back is what
/// it would read from the inner store (every read writes what is gathered first), and the rows that land are the
/// ones the batches would have written one by one (the store folds a job's events into its row either way).
/// With `background`, a full batch is written by a thread of its own while the engine goes on gathering the next
/// (the writes were a quarter of a simulated job's cost): the writes stay in order, one at a time, and a read or
/// write_pending() first waits for the one under way, so the file ends the same, byte for byte. The hourly
/// dead-letter sweep, the one read of a running simulation, then runs on that thread too, after the rows gathered
/// before it: it deletes what it would have deleted, but answers 0 (simulate reports no swept counts).

#include "core/store_ports.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cutover::store_adapter {

class deferred_store final : public core::store_db {
public:
  deferred_store(std::unique_ptr<core::store_db> inner, std::size_t max_rows, bool background = false);
  ~deferred_store() override;

  core::job_store& jobs() override;
  core::budget_store& budget() override;
  core::audit_store& audit() override;
  /// Gathers the batch; it reaches the inner store later (a failure then is kept: see failure()).
  void commit(const core::write_batch& batch) override;
  /// The same, moving the rows out of `batch`.
  void commit_taking(core::write_batch& batch) override;

  /// Waits for a background write under way, then writes what is gathered. Throws what the inner store threw
  /// (and keeps it as the failure), also for a background write that failed.
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
  /// Batches committed since the last write, in order, and the rows they bring.
  struct gathered {
    std::vector<core::write_batch> batches;
    std::size_t rows = 0;
    bool empty() const { return rows == 0; }
  };
  void write(gathered& g); ///< joined into one transaction of the inner store, then emptied (also when it throws)
  /// pending_ to the writer thread (after the write under way), and a dead-letter sweep to run after it
  void hand_over(std::optional<core::instant> sweep_before = std::nullopt);
  void wait_idle();                     ///< until no background write is under way; throws its failure
  void writer_loop();

  std::unique_ptr<core::store_db> inner_;
  std::size_t max_rows_;
  gathered pending_;
  core::write_batch joined_; ///< the batches of a write, joined (used by one write at a time)
  std::string failure_;
  std::size_t writes_ = 0;
  // the background writer: `writing_` belongs to it while `busy_`
  std::mutex mu_;
  std::condition_variable cv_;
  gathered writing_;
  std::optional<core::instant> sweep_before_;
  bool busy_ = false, stop_ = false;
  std::thread writer_;
  std::unique_ptr<jobs_view> jobs_;
  std::unique_ptr<budget_view> budget_;
  std::unique_ptr<audit_view> audit_;
};

} // namespace cutover::store_adapter
