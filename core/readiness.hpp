#pragma once
/// Readiness (GET /readyz) from plain facts, so each rule is tested on its own: the store commits (its probe row
/// keeps the last commit recent on an idle engine), the configuration is loaded, at least one provider can be
/// admitted, and how much traffic is served on fallback. No clock: `now` is the ledger's when it answered.
///
///  - unavailable (HTTP 503): draining, the ledger did not answer, the store's last commit failed or is older than
///    `store_stale_after`, no configuration, or no provider can take even its cheapest job;
///  - degraded (200): a provider is stopped (breaker, limit, budget) or half-open, or the fallback ratio of the last
///    5 minutes is above `degraded_fallback_ppm`;
///  - ok otherwise.

#include "core/admissibility.hpp"
#include "core/types.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cutover::core {

struct readiness_facts {
  bool draining = false;
  const admissibility* view = nullptr; ///< null: the ledger did not answer
  instant now{};                       ///< the ledger's clock when it answered
  std::string config_hash;             ///< empty: no configuration loaded
  struct provider {
    std::string name;
    micros cheapest = 0;      ///< its cheapest job (one image), for the admissibility question
    bool half_open = false;   ///< its breaker lets probes through
  };
  std::vector<provider> providers;
  /// The store: whether its last commit failed, and when it last committed (nullopt: never yet).
  bool store_failing = false;
  std::optional<instant> store_last_commit;
  duration store_stale_after{0}; ///< 0: the age of the last commit is not checked (no probe runs)
  std::int64_t fallback_ppm = 0;
  ppm degraded_fallback_ppm = 0;
};

struct readiness_verdict {
  std::string status = "ok"; ///< "ok" | "degraded" | "unavailable"
  std::vector<std::pair<std::string, std::string>> checks;
};

readiness_verdict assess_readiness(const readiness_facts& f);

} // namespace cutover::core
