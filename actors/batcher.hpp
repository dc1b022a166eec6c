#pragma once
/// A batcher for one (provider, tier): flushes one batch to the provider at `max_items`, or `max_wait` after the
/// window's first item, whichever comes first. Timers run on the actor clock; a stale timer is ignored.

#include "core/config.hpp"
#include "messages/provider.hpp"

namespace caf { class actor_system; }

namespace cutover::actors {

msg::batcher_actor spawn_batcher(caf::actor_system& sys, core::tier tier, core::batch_config cfg,
                                 msg::provider_actor provider);

} // namespace cutover::actors
