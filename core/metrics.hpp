#pragma once
/// Observable state for Prometheus: counters and gauges, each written by the one actor that owns what it
/// measures and read by the /metrics handler. Values are atomics, so reading never stops an actor; registering a
/// series takes a lock (once, when the owner starts). Not business state: nothing decides on these numbers.

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

using labels = std::vector<std::pair<std::string, std::string>>;

class metrics_registry {
public:
  /// The counter or gauge of `name` with `labels`, created on first use; the reference stays valid for the
  /// registry's life. `help` is kept from the first registration of `name`.
  counter& get_counter(const std::string& name, const labels& l, const std::string& help);
  gauge& get_gauge(const std::string& name, const labels& l, const std::string& help);
  /// A gauge whose value is `scale` times smaller when shown (e.g. micro-dollars shown as dollars: 1e6).
  gauge& get_scaled_gauge(const std::string& name, const labels& l, const std::string& help, std::int64_t scale);

  /// The Prometheus text exposition format (version 0.0.4).
  std::string render() const;

private:
  struct family {
    std::string help;
    bool is_counter = false;
    std::int64_t scale = 1;
    std::map<std::string, std::unique_ptr<counter>> counters; ///< by rendered label set
    std::map<std::string, std::unique_ptr<gauge>> gauges;
  };
  mutable std::mutex mutex_;
  std::map<std::string, family> families_;
};

using metrics_ptr = std::shared_ptr<metrics_registry>;

/// The user wait (job created -> final) of the jobs routed to one cohort, as the gates see it (since the phase
/// began): `cutover_user_wait_seconds{cohort, quantile="0.5|0.95|0.99"}` and `cutover_user_wait_jobs{cohort}`,
/// the succeeded jobs behind them. Declared here once; the rollout controller writes them.
struct user_wait_gauges {
  gauge* p50 = nullptr;
  gauge* p95 = nullptr;
  gauge* p99 = nullptr;
  gauge* jobs = nullptr;
};
user_wait_gauges user_wait_metrics(metrics_registry& m, const std::string& cohort);

} // namespace cutover::core
