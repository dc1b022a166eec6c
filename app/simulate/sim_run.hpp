#pragma once
/// One run of `cutover simulate`: the actor tree of `serve` (start_engine) on CAF's test scheduler, driven event by
/// event over a scenario's virtual time from one seed, and the figures it left, gathered in memory. Nothing here
/// reads the wall clock or writes into the output folder.

#include "adapters/store/sim_results.hpp"
#include "core/ledger.hpp"
#include "core/ports.hpp"
#include "core/rollout.hpp"
#include "core/scenario.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cutover::sim {

/// One simulated hour.
struct hour_row {
  std::int64_t hour = 0; ///< since the start
  int percent = 0;
  std::string state;
  std::vector<std::int64_t> attempts; ///< per provider (config order), started in this hour
  double wait_p95_candidate_s = -1;  ///< jobs that arrived in this hour, created -> final; -1: none
  double wait_p95_baseline_s = -1;
  std::int64_t finished = 0, failed = 0; ///< jobs that arrived in this hour and ended (failed: failed or dead-lettered)
  core::micros spend = 0;
};

/// Where a run ended up, in words a table can count.
struct outcome {
  std::string kind;   ///< reached_100 | rolled_back | held | not_due
  std::string detail; ///< the trigger(s) that fired, or the gates that held
};

struct operator_record {
  core::instant at{};
  std::string action;
  std::string result; ///< what the engine answered: "none" (done) or its refusal (e.g. "not_allowed")
  std::string message;
};

struct run_result {
  std::uint64_t seed = 0;
  core::instant start{}, end{};
  std::vector<std::string> providers; ///< config order
  std::string candidate, baseline;
  std::int64_t submitted = 0, accepted = 0, refused = 0;
  std::int64_t succeeded = 0, failed = 0, open = 0;
  std::vector<core::decision_record> decisions; ///< oldest first
  std::vector<core::budget_store::daily_stat> daily;
  std::vector<core::day_row> budget;
  std::vector<hour_row> timeline;
  std::vector<operator_record> operator_actions;
  int final_percent = 0;
  std::string final_state;
  std::optional<core::instant> reached_100_at;
  int rollbacks = 0;
  outcome result;
  std::map<std::string, core::micros> cost_by_provider;
  core::micros cost = 0;
  std::int64_t images = 0; ///< images delivered (succeeded jobs' n)
  double wait_p50_s = 0, wait_p95_s = 0; ///< every finished job, created -> final
  std::map<std::string, std::int64_t> submits, items, polls; ///< per provider: calls, items in them, polls
  /// The drill: the first incident's onset, the first rollback at or after it, and when the candidate's last
  /// attempt of a job that arrived by then finished.
  std::optional<core::instant> incident_at, rollback_at, candidate_drained_at;
  std::optional<core::instant> first_failure_at; ///< the candidate's first failed attempt after the onset
  core::duration tick{0};
  std::int64_t candidate_unfinished = 0;
  double wall_seconds = 0; ///< not deterministic: stderr and bench only
};

struct run_options {
  std::string temp_dir; ///< where the run's store lives (removed after); empty: the system's temp folder
  bool progress = false; ///< a progress line on stderr
  bool keep_store = false; ///< leave the run's SQLite file for inspection (--keep-store)
};

run_result run_once(std::shared_ptr<const core::scenario> sc, std::uint64_t seed, const run_options& opts);

} // namespace cutover::sim
