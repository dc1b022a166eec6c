// Rules across fields, checked after every field was read. Each message names both fields; a rule is skipped
// when one of its fields already failed, so one mistake is reported once.

#include "adapters/config/reader.hpp"
#include "adapters/config/values.hpp"
#include "core/api_keys.hpp"
#include "core/images.hpp"

#include <algorithm>

namespace cutover::config_adapter::detail {

namespace {

using core::config;
using core::provider_config;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

/// ` (did you mean "x"?)` or the list of defined providers.
std::string provider_hint(const config& cfg, const std::string& name) {
  std::vector<std::string> names;
  for (const auto& p : cfg.providers)
    names.push_back(p.name);
  if (std::string near = nearest(name, names); !near.empty())
    return " (did you mean " + quoted(near) + "?)";
  std::string list;
  for (const auto& n : names)
    list += (list.empty() ? "" : ", ") + n;
  return " (providers: " + list + ")";
}

void check_poll_schedule(context& c, const std::string& path, const provider_config& p) {
  const auto& steps = p.polling.schedule;
  std::string schedule = path + ".polling.schedule";
  if (c.has(schedule) && c.ok(schedule) && steps.empty()) {
    c.error(schedule, "polling.schedule must list at least one step when mode is async");
    return;
  }
  for (std::size_t i = 0; i + 1 < steps.size(); ++i) // by presence, so a bad `times` is not reported twice
    if (c.has(item(schedule, i)) && !c.has(item(schedule, i) + ".times"))
      c.error(item(schedule, i) + ".times", "only the last step of polling.schedule may omit times (this step polls "
                                            "until polling.deadline, so the steps after it would never run)");
  if (!c.ok(schedule))
    return;
  core::duration total{0};
  for (const auto& s : steps)
    total += s.every * s.times;
  if (c.ok(path + ".polling.deadline") && p.polling.deadline <= total)
    c.error(path + ".polling.deadline", "polling.deadline (" + format_duration(p.polling.deadline) +
                                            ") must exceed polling.schedule total (" + format_duration(total) + ")");
}

void check_provider(context& c, const provider_config& p) {
  std::string path = "providers." + p.name;
  auto at = [&](const char* key) { return path + "." + key; };
  if (p.name == core::cache_provider)
    c.error(path, "the provider name \"cache\" is reserved: jobs answered by the result cache show it");
  std::string kind(core::to_string(p.kind));
  if (c.has(at("kind")) && c.ok(at("kind")) && p.kind != core::provider_kind::simulated) {
    if (c.ok(at("base_url")) && p.base_url.empty())
      c.error(at("base_url"), "base_url is required when kind is " + kind);
    if (c.ok(at("api_key_env")) && p.api_key_env.empty())
      c.error(at("api_key_env"), "api_key_env is required when kind is " + kind);
    if (c.has(at("simulated")))
      c.error(at("simulated"), "simulated is only allowed when kind is simulated (kind is " + kind + ")");
  }
  // the APIs decide the mode: a Replicate prediction is created and polled (as sync it would get no poll
  // schedule, and a create that timed out could be repeated and paid twice); OpenAI answers the call itself
  const auto mode_at = c.has(at("mode")) ? at("mode") : at("kind");
  if (c.ok(at("kind")) && c.ok(at("mode")) && p.kind == core::provider_kind::replicate &&
      p.mode != core::provider_mode::async)
    c.error(mode_at, "kind replicate is asynchronous (its predictions are polled): set mode: async");
  if (c.ok(at("kind")) && c.ok(at("mode")) && p.kind == core::provider_kind::openai &&
      p.mode != core::provider_mode::sync)
    c.error(mode_at, "kind openai answers in the call itself: mode must be sync");
  if (c.ok(at("mode")) && p.mode == core::provider_mode::sync && c.has(at("polling")))
    c.error(at("polling"), "polling is only used when mode is async (mode is sync)");
  if (c.ok(at("mode")) && p.mode == core::provider_mode::async)
    check_poll_schedule(c, path, p);
  bool simulated_used = p.kind == core::provider_kind::simulated; // else the block itself is the error
  if (simulated_used && c.ok(at("simulated.latency_p50")) && c.ok(at("simulated.latency_p95")) &&
      p.simulated.latency_p95 < p.simulated.latency_p50)
    c.error(at("simulated.latency_p95"), "simulated.latency_p95 (" + format_duration(p.simulated.latency_p95) +
                                             ") must be >= simulated.latency_p50 (" +
                                             format_duration(p.simulated.latency_p50) + ")");
  if (c.has(at("retry.deadline")) && c.ok(at("retry.deadline")) && c.ok(at("mode")) &&
      p.mode == core::provider_mode::async)
    c.error(at("retry.deadline"), "retry.deadline bounds a sync attempt (mode is async: polling.deadline bounds it)");
  if (c.ok(at("retry.backoff")) && c.ok(at("retry.max_backoff")) && p.retry.max_backoff < p.retry.backoff)
    c.error(at("retry.max_backoff"), "retry.max_backoff (" + format_duration(p.retry.max_backoff) +
                                         ") must be >= retry.backoff (" + format_duration(p.retry.backoff) + ")");
}

void check_rollout_providers(context& c, const config& cfg) {
  const auto& r = cfg.rollout;
  bool both = true;
  for (auto [key, value] : {std::pair{"baseline", &r.baseline}, std::pair{"candidate", &r.candidate}}) {
    std::string path = std::string("rollout.") + key;
    if (!c.has(path) || !c.ok(path)) {
      both = false;
    } else if (!cfg.provider(*value)) {
      c.error(path, path + " " + quoted(*value) + " is not defined in providers" + provider_hint(cfg, *value));
      both = false;
    }
  }
  if (both && r.baseline == r.candidate)
    c.error("rollout.candidate", "rollout.candidate must differ from rollout.baseline (both are " +
                                     quoted(r.candidate) + ")");
}

void check_phases(context& c, const config& cfg) {
  const auto& phases = cfg.rollout.phases;
  auto percent_ok = [&](std::size_t i) {
    std::string path = item("rollout.phases", i) + ".percent";
    return c.has(path) && c.ok(path);
  };
  if (phases.empty())
    return;
  for (std::size_t i = 1; i < phases.size(); ++i)
    if (percent_ok(i) && percent_ok(i - 1) && phases[i].percent <= phases[i - 1].percent)
      c.error(item("rollout.phases", i) + ".percent",
              item("rollout.phases", i) + ".percent (" + std::to_string(phases[i].percent) + ") must be greater than " +
                  item("rollout.phases", i - 1) + ".percent (" + std::to_string(phases[i - 1].percent) + ")");
  if (percent_ok(phases.size() - 1) && phases.back().percent != 100)
    c.error(item("rollout.phases", phases.size() - 1) + ".percent",
            "the last phase of rollout.phases must be 100, got " + std::to_string(phases.back().percent));
}

/// The sequential trigger needs a figure to test and an alpha strictly between 0 and 1 (ln(1/alpha) must be finite
/// and positive).
void check_sequential(context& c, const config& cfg) {
  const auto& seq = cfg.rollout.triggers.sequential;
  const std::string path = "rollout.triggers.sequential";
  if (!seq || !c.ok(path))
    return;
  if (c.ok(path + ".alpha") && (seq->alpha <= 0 || seq->alpha >= core::ppm_one))
    c.error(path + ".alpha", path + ".alpha must be above 0% and below 100%");
  if (!seq->error_rate_margin && !seq->latency_factor)
    c.error(path, path + " tests nothing: give error_rate_margin, latency_factor or both");
}

/// Depth-first search over "provider -> next in its chain"; each back edge closes one cycle.
class cycle_finder {
public:
  cycle_finder(context& c, const config& cfg, std::vector<std::string> order)
      : c_(c), cfg_(cfg), order_(std::move(order)) {}
  void run() {
    for (const auto& from : order_)
      if (state_[from] == fresh)
        visit(from);
  }

private:
  enum mark { fresh = 0, open, done };
  void visit(const std::string& from) {
    state_[from] = open;
    stack_.push_back(from);
    const auto& chain = cfg_.chain_after(from);
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const std::string& to = chain[i];
      if (to == from || !cfg_.provider(to))
        continue; // reported on their own
      if (state_[to] == open) {
        std::string path;
        for (auto it = std::find(stack_.begin(), stack_.end(), to); it != stack_.end(); ++it)
          path += *it + " -> ";
        c_.error(item("fallback." + from, i), "fallback chains form a cycle: " + path + to);
      } else if (state_[to] == fresh) {
        visit(to);
      }
    }
    stack_.pop_back();
    state_[from] = done;
  }
  context& c_;
  const config& cfg_;
  std::vector<std::string> order_;
  std::map<std::string, mark> state_;
  std::vector<std::string> stack_;
};

void check_fallback(context& c, const config& cfg) {
  if (!c.ok("fallback"))
    return;
  std::vector<std::string> order; // file order, so a cycle reads from the chain written first
  for (const auto& [from, chain] : cfg.fallback) {
    order.push_back(from);
    std::string path = "fallback." + from;
    if (!cfg.provider(from))
      c.error(path, "fallback key " + quoted(from) + " is not defined in providers" + provider_hint(cfg, from));
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const std::string& to = chain[i];
      auto earlier = std::find(chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(i), to);
      if (to == from)
        c.error(item(path, i), "the fallback chain of " + quoted(from) + " may not contain " + quoted(from) + " itself");
      else if (!cfg.provider(to))
        c.error(item(path, i), quoted(to) + " is not defined in providers" + provider_hint(cfg, to));
      else if (earlier != chain.begin() + static_cast<std::ptrdiff_t>(i))
        c.error(item(path, i), quoted(to) + " appears twice in the fallback chain of " + quoted(from));
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return c.line_of("fallback." + a) < c.line_of("fallback." + b);
  });
  cycle_finder(c, cfg, std::move(order)).run();
}

void check_budget(context& c, const config& cfg) {
  for (const auto& [name, usd] : cfg.budget.providers)
    if (!cfg.provider(name))
      c.error("budget.providers." + name,
              "budget.providers names " + quoted(name) + ", which is not defined in providers" + provider_hint(cfg, name));
}

/// Without keys anyone who reaches the port could submit jobs and spend the budget: only loopback is allowed.
void check_listen_needs_keys(context& c, const config& cfg) {
  if (c.ok("server.listen") && cfg.auth.keys_file.empty() && !core::is_loopback_listen(cfg.server.listen))
    c.error(c.has("server.listen") ? "server.listen" : "auth.keys_file",
            "server.listen " + quoted(cfg.server.listen) +
              " is reachable from other machines; without auth.keys_file the engine listens on loopback only "
              "(127.0.0.0/8, ::1, localhost)");
}

/// A cached answer points at stored images: they must outlive the cache entry, or a hit would give URLs that 404.
void check_cache(context& c, const config& cfg) {
  if (cfg.cache.enabled && c.ok("cache.ttl") && c.ok("images.retention") && cfg.cache.ttl > cfg.images.retention)
    c.error(c.has("cache.ttl") ? "cache.ttl" : "images.retention",
            "cache.ttl (" + format_duration(cfg.cache.ttl) + ") must not exceed images.retention (" +
              format_duration(cfg.images.retention) + "): a cached answer would name deleted images");
}

} // namespace

void check_rules(context& c, config& cfg) {
  check_listen_needs_keys(c, cfg);
  check_cache(c, cfg);
  check_notify(c, cfg.notify);
  for (const auto& p : cfg.providers)
    check_provider(c, p);
  if (cfg.providers.empty())
    return; // references to providers cannot be checked
  check_rollout_providers(c, cfg);
  check_phases(c, cfg);
  check_sequential(c, cfg);
  check_fallback(c, cfg);
  check_budget(c, cfg);
}

} // namespace cutover::config_adapter::detail
