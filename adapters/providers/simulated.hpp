#pragma once
/// The simulated provider (`kind: simulated`): latency from a log-normal fitted to latency_p50/p95, failures at
/// failure_rate, a quality score, and a real PNG per image (the worker prices them). Seeded, so runs repeat.
/// `mode: async` answers a submit with a remote id that must be polled; the id encodes the remote job's timing,
/// so a restarted engine can poll it again just as it would a real provider's.

#include "core/config.hpp"
#include "core/ports.hpp"

#include <memory>

namespace cutover::providers {

std::shared_ptr<core::provider_port> make_simulated_provider(const core::provider_config& cfg);

} // namespace cutover::providers
