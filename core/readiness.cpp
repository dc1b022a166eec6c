#include "core/readiness.hpp"

#include <cstdio>

namespace cutover::core {

namespace {

std::string percent(std::int64_t ppm_value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", static_cast<double>(ppm_value) / 10'000.0);
  return buf;
}

} // namespace

readiness_verdict assess_readiness(const readiness_facts& f) {
  readiness_verdict r;
  auto unavailable = [&r] { r.status = "unavailable"; };
  auto degraded = [&r] {
    if (r.status == "ok")
      r.status = "degraded";
  };
  if (f.draining) {
    r.checks.emplace_back("draining", "yes");
    unavailable();
  }
  if (f.config_hash.empty()) {
    r.checks.emplace_back("config", "not loaded");
    unavailable();
  } else {
    r.checks.emplace_back("config", "loaded " + f.config_hash.substr(0, 12));
  }
  if (f.view == nullptr) {
    r.checks.emplace_back("ledger", "no answer");
    unavailable();
    return r; // without the ledger's clock nothing below can be judged
  }
  // the store: its last commit failed, or none came within the probe's allowance (a hung store)
  if (f.store_failing) {
    r.checks.emplace_back("store", "commit failing");
    unavailable();
  } else if (f.store_stale_after > duration{0} &&
             (!f.store_last_commit || f.now - *f.store_last_commit > f.store_stale_after)) {
    r.checks.emplace_back("store", f.store_last_commit ? "no commit for " +
                                                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                                            f.now - *f.store_last_commit)
                                                                            .count()) +
                                                           " s"
                                                       : "not committed yet");
    unavailable();
  } else {
    r.checks.emplace_back("store", "ok");
  }
  int admissible = 0;
  for (const auto& p : f.providers) {
    admissible += f.view->admissible(p.name, f.now, p.cheapest);
    const char* state = "ok";
    if (const auto why = f.view->stopped_by(p.name, f.now)) {
      switch (*why) {
      case block_reason::breaker: state = "breaker_open"; break;
      case block_reason::budget: state = "budget_stopped"; break;
      case block_reason::hourly_limit: state = "hourly_limit"; break;
      case block_reason::daily_limit: state = "daily_limit"; break;
      }
    } else if (p.half_open) {
      state = "breaker_half_open"; // open_for has passed (probes are admitted) or the probes are out
    }
    if (std::string_view{state} != "ok")
      degraded();
    r.checks.emplace_back(p.name, state);
  }
  if (admissible == 0 && !f.providers.empty()) {
    r.checks.emplace_back("providers", "none admissible");
    unavailable(); // no provider can take even the cheapest job: intake answers 503 to all
  }
  const bool over = f.fallback_ppm > f.degraded_fallback_ppm;
  r.checks.emplace_back("fallback_rate_5m", percent(f.fallback_ppm) + (over ? " > " : " <= ") +
                                              percent(f.degraded_fallback_ppm));
  if (over)
    degraded();
  return r;
}

} // namespace cutover::core
