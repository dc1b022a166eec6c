#pragma once
/// The arrivals of a scenario's traffic, deterministic from a seed: a Poisson process whose rate is constant within
/// each UTC hour of the day, users drawn with a Zipf skew, tier, n, endpoint and segment from the scenario's mixes;
/// or the rows of a recorded trace in order. Pure: the caller asks for the next arrival and decides when it happens.

#include "core/job.hpp"
#include "core/scenario.hpp"

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace cutover::core {

struct arrival {
  instant at{};
  job_spec spec;
};

class traffic_generator {
public:
  traffic_generator(const scenario& s, std::uint64_t seed);
  /// The next arrival before the scenario's end, or nullopt when there is none.
  std::optional<arrival> next();
  /// Rows of the trace replayed so far, or jobs generated so far.
  std::uint64_t count() const { return count_; }

private:
  template <class T>
  const T* pick(const mix<T>& m);
  std::string pick_user();

  const scenario& s_;
  std::mt19937_64 rng_;
  instant t_;
  std::vector<double> user_cdf_;
  std::uint64_t count_ = 0;
};

/// A job's prompt names where it came from: "sim <n>" (generated) or "trace <row>" (row index of the trace), so a
/// scenario provider can find a trace row's observed outcome and draw per job without any shared state.
std::optional<std::size_t> trace_row_of(const std::string& prompt);

} // namespace cutover::core
