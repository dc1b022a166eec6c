#pragma once
/// A simulation scenario (`cutover simulate --scenario S`): the traffic, how each provider behaves, incidents in
/// time windows and operator actions at given instants. Plain values, built and validated by adapters/config;
/// every instant is virtual (the scenario's own calendar), nothing here reads a clock.

#include "core/config.hpp"
#include "core/types.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace cutover::core {

namespace scenario_defaults {
/// 2026-01-01T00:00:00Z
constexpr instant start{std::chrono::seconds(1767225600)};
constexpr duration drain = std::chrono::hours(1);
constexpr int users = 1000;
} // namespace scenario_defaults

/// A log-normal fitted to its median and 95th percentile (p95 == p50: a constant).
struct latency_model {
  duration p50{0};
  duration p95{0};
};

/// A share of failures that end with `error`.
struct error_share {
  error_class error = error_class::server;
  ppm share = 0;
};

/// How one provider serves one tier. Unset fields fall back to the provider-wide model, then to the provider's
/// `simulated:` block in the config.
struct tier_model {
  std::optional<latency_model> latency;  ///< one call (sync) or the submit call (async)
  std::optional<latency_model> run_time; ///< async: from submit until the remote job is done
  std::optional<ppm> failure_rate;       ///< items that fail
  std::vector<error_share> errors;       ///< which classes the failures have (shares of 100 %); empty: server
  std::optional<double> quality;         ///< mean quality score 0..1
};

struct provider_model {
  std::string name;
  tier_model all;                                  ///< provider-wide
  std::array<std::optional<tier_model>, tier_count> tiers; ///< per tier, over `all`
};

enum class incident_kind : std::uint8_t { latency, errors, rate_limit, hang, auth, quota, outage };
std::string_view to_string(incident_kind k);

/// Something goes wrong at one provider during [from, to).
struct incident {
  std::string provider;
  incident_kind kind = incident_kind::outage;
  instant from{};
  instant to{};
  double factor = 1;                     ///< latency: latency and run time multiplied by this
  ppm rate = ppm_one;                    ///< share of calls (errors: of items) affected
  error_class error = error_class::server; ///< errors: the class of the injected failures
  duration retry_after{0};               ///< rate_limit: the Retry-After the provider sends
};

/// An operator's action at an instant: hold, resume, rollback, promote, step_down (to `percent`) or reload
/// (the config with every patch up to this one applied, validated when the scenario was loaded).
struct operator_step {
  instant at{};
  std::string action;
  int percent = 0;
  config_ptr config; ///< reload: the snapshot to load
  std::string patch_text; ///< reload: the patch as written, for the report
};

/// Weighted choices; shares in ppm, summing to at most 100 % (the rest: none).
template <class T>
struct mix {
  std::vector<std::pair<T, ppm>> shares;
};

struct traffic_model {
  std::array<double, 24> per_hour{}; ///< mean arrivals (Poisson) during each UTC hour of the day
  int users = scenario_defaults::users;
  double skew = 0;                   ///< Zipf exponent of user activity: 0 = every user alike
  mix<tier> tiers;                   ///< sums to 100 %
  mix<int> n;                        ///< images per job, sums to 100 %
  mix<std::string> endpoints;        ///< the rest: no endpoint
  mix<std::string> segments;         ///< the rest: no segment
};

/// One row of a recorded trace. The observed outcome is replayed only when the job goes to that provider.
struct trace_row {
  instant at{};
  std::string user;
  tier tier_ = tier::sd;
  int n = 1;
  std::string endpoint;
  std::string segment;
  std::string provider;         ///< empty: none observed
  std::optional<duration> latency;
  error_class status = error_class::none; ///< none = succeeded
  bool has_status = false;
};

struct scenario {
  std::string file;
  instant start = scenario_defaults::start;
  duration length{0};                ///< YAML `duration`
  duration drain = scenario_defaults::drain; ///< after the end, no new jobs: in-flight ones finish
  traffic_model traffic;
  std::vector<trace_row> trace;      ///< non-empty: replaces the generated traffic
  std::vector<provider_model> providers;
  std::vector<incident> incidents;
  std::vector<operator_step> actions; ///< in time order
  config_ptr config;                  ///< the config the run starts with (cost patches applied)

  instant end() const { return start + length; }
  const provider_model* provider(const std::string& name) const {
    for (const auto& p : providers)
      if (p.name == name)
        return &p;
    return nullptr;
  }
};

} // namespace cutover::core
