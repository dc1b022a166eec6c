#pragma once
/// A batcher for one (provider, tier): flushes one batch to the provider at `max_items`, or `max_wait` after the
/// window's first item, whichever comes first. Timers run on the actor clock; a stale timer is ignored.

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "messages/provider.hpp"

namespace caf { class actor_system; }

namespace cutover::actors {

/// `depth`: the provider's gauge of items in batch windows (shared by its tiers' batchers, each adding what its
/// window gained or lost); null: not counted.
msg::batcher_actor spawn_batcher(caf::actor_system& sys, core::tier tier, core::batch_config cfg,
                                 msg::provider_actor provider, core::gauge* depth = nullptr);

} // namespace cutover::actors
