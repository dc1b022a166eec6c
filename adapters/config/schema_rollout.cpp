// The `rollout` section: phases and their gates, rollback triggers and overrides, each field declared once.

#include "adapters/config/reader.hpp"
#include "adapters/config/values.hpp"
#include "core/triggers.hpp"

namespace cutover::config_adapter::detail {

namespace {

using namespace std::chrono_literals;
using core::rollout_config;

/// Traffic moves in whole percent: `10` or `10%`.
template <class T>
field<T> traffic_percent(std::string key, int T::*m, int lo, std::string meaning) {
  auto type = "whole percent " + std::to_string(lo) + "..100 (10 or 10%)";
  return described(custom<T>(std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
    auto s = read_scalar(c, n, p);
    if (!s)
      return;
    std::string digits = !s->empty() && s->back() == '%' ? s->substr(0, s->size() - 1) : *s;
    std::int64_t v = 0;
    std::string why;
    if (!parse_integer(digits, v, why))
      c.error(p, "must be a whole percentage of traffic (e.g. 10 or 10%), got \"" + *s + "\"");
    else if (v < lo || v > 100)
      c.error(p, "must be between " + std::to_string(lo) + " and 100, got " + digits);
    else
      out.*m = static_cast<int>(v);
  }), type);
}

/// The names of core::latency_kind, in its order (a function: the tables may be built during static initialisation).
const std::vector<std::string>& latency_names() {
  static const std::vector<std::string> names{"provider", "user"};
  return names;
}

/// `p95_max: {max: 120s, latency: user}`: one p95 gate and the latency it judges.
struct latency_gate {
  core::duration max{};
  core::latency_kind latency = core::latency_kind::provider;
};
const fields<latency_gate>& latency_gate_fields() {
  static const fields<latency_gate> f = {
    required(duration("max", &latency_gate::max, 1ms, 24h, "the p95 at most")),
    choice("latency", &latency_gate::latency, latency_names(),
           "provider: the provider call (default); user: job created -> final, by route cohort"),
  };
  return f;
}

/// `p95_max` is `60s` (the provider call, as before), `{max: 120s, latency: user}`, or a list of those (one per
/// latency), so that one phase can gate on both.
void read_p95_gates(context& c, const YAML::Node& n, const std::string& p, core::gates_config& out) {
  auto one = [&c, &out](const YAML::Node& v, const std::string& path) {
    latency_gate g;
    if (v.IsMap()) {
      read_map(c, v, path, latency_gate_fields(), g);
      if (!c.ok(path))
        return;
    } else if (auto d = read_duration(c, v, path, 1ms, 24h)) {
      g.max = *d;
    } else {
      return;
    }
    auto& slot = g.latency == core::latency_kind::user ? out.user_p95_max : out.p95_max;
    if (slot)
      c.error(line_of(v), path, "a second p95 gate for latency " +
                                  latency_names()[static_cast<std::size_t>(g.latency)] + " (one per latency)");
    else
      slot = g.max;
  };
  if (n.IsSequence())
    for_each_item(c, n, p, [&one](std::size_t, const YAML::Node& v, const std::string& path) { one(v, path); });
  else
    one(n, p);
}

const fields<core::gates_config>& gates_fields() {
  using g = core::gates_config;
  static const fields<g> f = {
    money("cost_per_image_max", &g::cost_per_image_max, "candidate's average USD per image at most"),
    described(custom<g>("p95_max",
                        "candidate's p95 latency at most: 60s (the provider call), {max: 120s, latency: user} "
                        "(created -> final), or a list of both",
                        read_p95_gates),
              "duration 1ms..24h, {max, latency}, or a list of those", keys_of(latency_gate_fields)),
    percent("failure_rate_max", &g::failure_rate_max, "candidate's failure rate at most"),
    number("quality_parity_min", &g::quality_parity_min, 0.0, 1.0, "candidate quality / baseline quality at least"),
    integer("breaker_trips_max", &g::breaker_trips_max, 0, 1'000'000, "candidate breaker trips in the phase at most"),
  };
  return f;
}

const fields<core::phase_config>& phase_fields() {
  using p = core::phase_config;
  static const fields<p> f = {
    required(traffic_percent("percent", &p::percent, 0,
                             "share of users on the candidate in this phase; 0: a verification phase (only "
                             "overrides reach the candidate)")),
    duration("min_duration", &p::min_duration, 0s, 365 * 24h, "time in the phase before promotion"),
    integer("min_samples", &p::min_samples, 0, 1'000'000'000, "candidate jobs in the phase before promotion"),
    section("gates", &p::gates, gates_fields, "all must pass to promote; an absent gate is not checked"),
  };
  return f;
}

const fields<core::rate_trigger>& rate_fields() {
  using r = core::rate_trigger;
  static const fields<r> f = {
    required(percent("above", &r::above, "the rate that fires the trigger when exceeded")),
    required(duration("for", &r::window, 1s, 7 * 24h, "how long the rate must stay above")),
    integer("min_samples", &r::min_samples, 0, 1'000'000'000, "jobs in the window before the rate counts"),
  };
  return f;
}

const fields<core::factor_trigger>& factor_fields() {
  using r = core::factor_trigger;
  static const fields<r> f = {
    required(number("factor", &r::factor, 1.0, 1000.0, "candidate / baseline ratio that fires the trigger")),
    required(duration("for", &r::window, 1s, 7 * 24h, "how long the ratio must stay above")),
    integer("min_samples", &r::min_samples, 1, 1'000'000,
            "succeeded samples each side needs over the breach before it may fire (default 20)"),
    choice("latency", &r::latency, latency_names(),
           "provider: the provider call (default); user: job created -> final, by route cohort"),
  };
  return f;
}

const fields<core::count_trigger>& count_fields() {
  using r = core::count_trigger;
  static const fields<r> f = {
    required(integer("above", &r::above, 0, 1'000'000'000, "count in the window that fires the trigger when exceeded")),
    required(duration("for", &r::window, 1s, 7 * 24h, "the window of the count")),
  };
  return f;
}

/// breaker_trips counts in the rollout's metric window, which keeps core::breaker_trips_max_window.
const fields<core::count_trigger>& trip_fields() {
  using r = core::count_trigger;
  static const fields<r> f = {
    required(integer("above", &r::above, 0, 1'000'000, "candidate breaker trips in the window that fire the trigger")),
    required(duration("for", &r::window, 1s, core::breaker_trips_max_window, "the window of the count")),
  };
  return f;
}

/// `silence: {for: 2m}` is a mapping so that it reads like the other triggers.
struct silence_trigger {
  core::duration window{};
};
const fields<silence_trigger>& silence_fields() {
  static const fields<silence_trigger> f = {
    required(duration("for", &silence_trigger::window, 1s, 7 * 24h, "no candidate outcome for this long")),
  };
  return f;
}

const fields<core::sequential_trigger>& sequential_fields() {
  using r = core::sequential_trigger;
  static const fields<r> f = {
    percent("error_rate_margin", &r::error_rate_margin,
            "fires when candidate - baseline failure rate is surely above this (absent: not tested)"),
    number("latency_factor", &r::latency_factor, 1.0, 1000.0,
           "fires when candidate / baseline geometric-mean provider latency is surely above this (absent: not tested)"),
    percent("alpha", &r::alpha, "chance that one test fires on a candidate within the margins"),
    duration("window", &r::window, 1min, 30 * 24h, "each test's life; a new test starts every half window"),
    integer("min_samples", &r::min_samples, 2, 1'000'000'000, "samples each side needs in a test before it may fire"),
  };
  return f;
}

const fields<core::triggers_config>& trigger_fields() {
  using t = core::triggers_config;
  static const fields<t> f = {
    section("error_rate", &t::error_rate, rate_fields, "candidate failure rate"),
    section("p95_vs_baseline", &t::p95_vs_baseline, factor_fields, "candidate p95 over baseline p95"),
    section("p99_vs_baseline", &t::p99_vs_baseline, factor_fields, "candidate p99 over baseline p99"),
    percent("cost_over_budget", &t::cost_over_budget, "candidate spend over its budget by this share"),
    section("auth_failures", &t::auth_failures, count_fields, "authentication failures at the candidate"),
    section("breaker_trips", &t::breaker_trips, trip_fields, "repeated trips of the candidate's circuit breaker"),
    section("content_policy_rate", &t::content_policy_rate, rate_fields, "content-policy refusals"),
    boolean("quota_exhausted", &t::quota_exhausted, "roll back when the candidate reports its quota gone"),
    described(custom<t>("silence", "no outcome from the candidate for a while",
                        [](context& c, const YAML::Node& n, const std::string& p, t& out) {
                          silence_trigger s;
                          read_map(c, n, p, silence_fields(), s);
                          out.silence = s.window;
                        }),
              "mapping", keys_of(silence_fields)),
    section("sequential", &t::sequential, sequential_fields,
            "always-valid tests of candidate - baseline (failure rate, latency)"),
  };
  return f;
}

using override_map = std::map<std::string, core::override_target>;

void read_overrides(context& c, const YAML::Node& n, const std::string& path, override_map& out, bool endpoints) {
  for_each_entry(c, n, path, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
    if (endpoints && key.rfind('/', 0) != 0)
      c.error(p, "an endpoint is a path starting with '/', e.g. /v1/avatars");
    if (auto target = read_name(c, v, p, {"baseline", "candidate"}))
      out[key] = static_cast<core::override_target>(*target);
  });
}

const fields<rollout_config>& override_fields() {
  static const fields<rollout_config> f = {
    described(custom<rollout_config>("endpoints", "endpoint path -> baseline | candidate",
                                     [](auto& c, auto& n, auto& p, auto& out) {
                                       read_overrides(c, n, p, out.endpoint_overrides, true);
                                     }),
              "mapping /path -> baseline | candidate"),
    described(custom<rollout_config>("segments", "segment name -> baseline | candidate",
                                     [](auto& c, auto& n, auto& p, auto& out) {
                                       read_overrides(c, n, p, out.segment_overrides, false);
                                     }),
              "mapping segment -> baseline | candidate"),
  };
  return f;
}

} // namespace

const fields<rollout_config>& rollout_fields() {
  using r = rollout_config;
  static const fields<r> f = {
    required(text("name", &r::name, "rollout name, also the bucket hash group", check_not_empty)),
    required(text("baseline", &r::baseline, "provider serving everyone not on the candidate", check_not_empty)),
    required(text("candidate", &r::candidate, "provider being rolled out", check_not_empty)),
    boolean("enabled", &r::enabled, "false = kill switch: everyone on the baseline at once"),
    traffic_percent("percent", &r::percent, 0,
                    "share of users on the candidate when the rollout starts (a reload only raises the live share)"),
    described(custom<r>("phases", "steps of the rollout, ending at 100",
                        [](context& c, const YAML::Node& n, const std::string& path, r& out) {
                          for_each_item(c, n, path, [&](std::size_t, const YAML::Node& v, const std::string& p) {
                            read_map(c, v, p, phase_fields(), out.phases.emplace_back());
                          });
                        }),
              "list of phases", keys_of(phase_fields, "[]")),
    section("triggers", &r::triggers, trigger_fields, "any one fires a rollback; an absent one is not checked"),
    choice("on_trigger", &r::on_trigger, {"immediate", "gradual"}, "rollback straight to 0% or phase by phase"),
    duration("gradual_dwell", &r::gradual_dwell, 1s, 7 * 24h, "time at each step of a gradual rollback"),
    duration("tick", &r::tick, 100ms, 1h, "how often the rollout controller evaluates gates and triggers"),
    described(custom<r>("overrides", "routes that bypass the bucket",
                        [](context& c, const YAML::Node& n, const std::string& p, r& out) {
                          read_map(c, n, p, override_fields(), out);
                        }),
              "mapping", keys_of(override_fields)),
  };
  return f;
}

} // namespace cutover::config_adapter::detail
