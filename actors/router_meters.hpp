#pragma once
/// The router's metrics: final states, fallbacks by reason, the user-wait histogram, the admission stage of the
/// queue and the 5-minute fallback ratio that readiness reads. Series are looked up once and kept, so the hot path
/// is an atomic add (no registry lock). Owned by the router alone; no CAF here.

#include "core/metric_window.hpp"
#include "core/metrics.hpp"
#include "core/ratio_window.hpp"
#include "core/types.hpp"

#include <array>
#include <map>
#include <string>
#include <tuple>

namespace cutover::actors {

class router_meters {
public:
  /// How long the fallback ratio looks back, and how finely.
  static constexpr core::duration ratio_span = std::chrono::minutes(5);
  static constexpr core::duration ratio_slot = std::chrono::seconds(10);

  explicit router_meters(core::metrics_ptr m);

  void finished(core::job_status s, core::instant now);
  /// An item moved from `from` to `to` (none: no provider left) because of `reason` (an error class or an
  /// admission verdict).
  void fell_back(const std::string& from, const std::string& to, std::string_view reason, core::instant now);
  void user_wait(const std::string& provider, core::tier t, core::cohort c, core::duration wait);
  /// Items asked of the ledger for `provider` (+) or answered (-).
  void admission(const std::string& provider, std::int64_t delta);
  /// Publishes the fallback ratio as of `now`; true while the window still holds events (keep ticking).
  bool publish_ratio(core::instant now);

  core::metrics_registry& registry() { return *m_; }

private:
  core::metrics_ptr m_;
  std::array<core::counter*, 8> finished_{};
  std::map<std::tuple<std::string, std::string, std::string>, core::counter*, std::less<>> fallbacks_;
  std::map<std::tuple<std::string, core::tier, core::cohort>, core::histogram*> waits_;
  std::map<std::string, core::gauge*, std::less<>> admission_;
  core::gauge* ratio_ = nullptr;
  core::ratio_window window_{ratio_span, ratio_slot};
};

} // namespace cutover::actors
