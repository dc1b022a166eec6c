#pragma once
/// The provider port of `cutover simulate`: whatever a provider's `kind`, its calls are answered from the scenario's
/// model of it (latency, failures and their classes, quality, async run time, per tier), changed by the incidents
/// active at the call's instant, or from a recorded trace row when the job is one and was observed at this
/// provider. A provider the scenario does not describe behaves as its config's `simulated:` block says.
/// Deterministic: draws come from one generator seeded by (seed, provider name), called in the scheduler's order.

#include "core/config.hpp"
#include "core/ports.hpp"
#include "core/scenario.hpp"

#include <memory>

namespace cutover::providers {

/// What the port was asked, for simulate's figures (a batch API's submit carries a whole batch).
struct port_counts {
  std::int64_t submits = 0; ///< calls that submit work (sync: one per item; async: one per batch)
  std::int64_t items = 0;   ///< items in those calls
  std::int64_t polls = 0;
};

std::shared_ptr<core::provider_port> make_scenario_provider(const core::provider_config& cfg,
                                                            std::shared_ptr<const core::scenario> s,
                                                            std::uint64_t seed,
                                                            std::shared_ptr<port_counts> counts);

} // namespace cutover::providers
