#pragma once
/// simulate's output files: one run's summary.json, decisions.csv, daily.csv, timeline.csv, plots (SVG) and
/// report.md; several runs' runs.csv and outcome counts; a sweep's sweep.csv and trade-off plot. Same figures in,
/// same bytes out: fixed decimals, virtual RFC 3339 times, nothing from the wall clock.

#include "app/simulate/sim_run.hpp"

#include <string>
#include <vector>

namespace cutover::sim {

/// The figures of one run that runs.csv and sweep.csv keep (cheap to pass between processes).
struct run_row {
  std::uint64_t seed = 0;
  std::size_t combo = 0; ///< index of the sweep combination
  std::string outcome, detail;
  int final_percent = 0;
  double hours_to_100 = -1; ///< -1: not reached
  int rollbacks = 0;
  std::int64_t jobs = 0, images = 0;
  core::micros cost = 0;
  double wait_p50_s = 0, wait_p95_s = 0;
  std::int64_t batches = 0, batch_items = 0, calls = 0;
  double wall_s = 0;
  double drill_decision_s = -1, drill_drained_s = -1;
};

run_row row_of(const run_result& r, std::size_t combo, const std::vector<std::string>& batch_providers);
std::string encode(const run_row& r);
bool decode(const std::string& line, run_row& out);

struct sweep_key {
  std::string key;
  std::vector<std::string> values;
};

/// Writes one run's files into `dir` (created). `extra_json`: more members for summary.json (runs' aggregates).
void write_run(const std::string& dir, const core::scenario& sc, const run_result& r, const std::string& extra_json);
/// runs.csv, and summary.json's aggregate members (returned, to go into write_run's summary).
std::string write_runs(const std::string& dir, const std::vector<run_row>& rows);
/// sweep.csv and sweep.svg.
void write_sweep(const std::string& dir, const std::vector<sweep_key>& keys, const std::vector<run_row>& rows);

} // namespace cutover::sim
