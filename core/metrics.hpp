#pragma once
/// Observable state for Prometheus: counters, gauges and histograms, each written by the one actor that owns what
/// it measures and read by the /metrics handler. Values are atomics, so writing never takes a lock and reading never
/// stops an actor; creating a series takes a lock (once: owners keep the reference). Every family is declared once
/// with its type and help (core/metric_catalog) before the engine starts, so an idle engine shows them all. Not
/// business state: nothing decides on these numbers.

#include "core/types.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cutover::core {

/// A monotonically increasing count.
class counter {
public:
  void add(std::int64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::int64_t> v_{0};
};

/// A value that goes up and down (integers: states, micro-dollars, counts).
class gauge {
public:
  void set(std::int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::int64_t> v_{0};
};

/// A Prometheus histogram of durations over fixed bucket bounds: observe() is a search over a dozen bounds and
/// three relaxed atomic adds. Buckets are kept apart and made cumulative when read, so one reading is consistent
/// in itself (`+Inf` = `_count`); `_sum` may trail a concurrent observe by one value.
class histogram {
public:
  /// `bounds`: upper bounds, ascending, strictly positive; `+Inf` is implicit.
  explicit histogram(std::vector<duration> bounds);
  void observe(duration d);

  struct reading {
    std::vector<std::int64_t> cumulative; ///< per bound, then +Inf
    duration sum{0};
    std::int64_t count = 0; ///< = cumulative.back()
  };
  reading read() const;
  const std::vector<duration>& bounds() const { return bounds_; }

private:
  std::vector<duration> bounds_;
  std::unique_ptr<std::atomic<std::int64_t>[]> counts_; ///< bounds_.size() + 1, not cumulative
  std::atomic<std::int64_t> sum_us_{0};
};

/// The bounds of the engine's wait and call-time histograms: 100 ms to 30 min (a user wait includes batch windows,
/// retries and remote polling; the alerting threshold of 60 s falls on a bound).
const std::vector<duration>& wait_buckets();

using labels = std::vector<std::pair<std::string, std::string>>;

/// summary: quantiles computed by their owner and set as gauges with a `quantile` label (no _sum or _count).
enum class metric_type { counter, gauge, histogram, summary };

class metrics_registry {
public:
  /// Declares a family: shown with HELP and TYPE from now on, even before it has a series. `scale`: gauges shown
  /// `scale` times smaller (micro-dollars as dollars: 1e6). Declaring a name again changes nothing.
  void declare(const std::string& name, metric_type type, const std::string& help, std::int64_t scale = 1);

  /// The counter, gauge or histogram of `name` with `labels`, created on first use; the reference stays valid for
  /// the registry's life. `help` is used when the family was not declared.
  counter& get_counter(const std::string& name, const labels& l, const std::string& help = {});
  gauge& get_gauge(const std::string& name, const labels& l, const std::string& help = {});
  /// A gauge whose value is `scale` times smaller when shown (e.g. micro-dollars shown as dollars: 1e6).
  gauge& get_scaled_gauge(const std::string& name, const labels& l, const std::string& help, std::int64_t scale);
  /// A histogram of the declared family (wait_buckets() unless `bounds` are given on its first series).
  histogram& get_histogram(const std::string& name, const labels& l, const std::string& help = {},
                           const std::vector<duration>& bounds = wait_buckets());

  /// Names of the families declared or used so far (the dashboard test checks its queries against them).
  std::vector<std::string> family_names() const;

  /// The Prometheus text exposition format (version 0.0.4).
  std::string render() const;

private:
  struct family {
    std::string help;
    metric_type type = metric_type::gauge;
    std::int64_t scale = 1;
    std::map<std::string, std::unique_ptr<counter>> counters; ///< by rendered label set
    std::map<std::string, std::unique_ptr<gauge>> gauges;
    std::map<std::string, std::unique_ptr<histogram>> histograms;
  };
  family& family_of(const std::string& name, metric_type type, const std::string& help);
  mutable std::mutex mutex_;
  std::map<std::string, family> families_;
};

using metrics_ptr = std::shared_ptr<metrics_registry>;

/// The user wait (job created -> final) of the jobs routed to one cohort, as the gates see it (since the phase
/// began): `cutover_user_wait_seconds{cohort, quantile="0.5|0.95|0.99"}` and `cutover_user_wait_jobs{cohort}`,
/// the succeeded jobs behind them. The rollout controller writes them.
struct user_wait_gauges {
  gauge* p50 = nullptr;
  gauge* p95 = nullptr;
  gauge* p99 = nullptr;
  gauge* jobs = nullptr;
};
user_wait_gauges user_wait_metrics(metrics_registry& m, const std::string& cohort);

} // namespace cutover::core
