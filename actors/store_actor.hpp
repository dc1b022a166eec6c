#pragma once
/// The store actor: sole owner of the job database. Group commit: the first write into an empty buffer schedules a
/// flush message behind everything already queued, so one transaction covers all of it; each write is answered
/// after its commit. A failed commit answers every write in it with an error and keeps nothing.

#include "core/ports.hpp"
#include "messages/store.hpp"

#include <memory>

namespace caf { class actor_system; }

namespace cutover::actors {

msg::store_actor spawn_store(caf::actor_system& sys, std::shared_ptr<core::job_store> db, bool detached);

} // namespace cutover::actors
