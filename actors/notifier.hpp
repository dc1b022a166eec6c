#pragma once
/// The notifier: owns the delivery of the outbox. It reads the outbox entries the store committed (all of them at
/// start, so deliveries survive a restart; more when the store says a commit added some), sends each through the
/// webhook port and retries on the schedule of core::delivery_schedule until a 2xx or notify.max_age; then tells
/// the store to delete the entry (at least once: a crash between a 2xx and that delete sends it again, with the
/// same Cutover-Event-Id). Counts delivered, failed (tries) and expired deliveries. A job's own webhook (not an
/// operator's target) is sent only to a host that resolves to public addresses unless notify.allow_private; one
/// that resolves inside is dropped at once, logged and counted (refused).
/// Operator targets and jobs' own webhooks are read and tried as two lanes, each with its own room in memory and
/// its own tries; in the jobs' lane one receiver holds at most receiver_cap entries in memory (the rest of its
/// wait on disk and are read again as its entries end), so one submitter's failing receiver delays only itself.

#include "actors/clock.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/notice.hpp"
#include "messages/notify.hpp"

#include <memory>

namespace caf { class actor_system; }

namespace cutover::actors {

struct notifier_options {
  clock_anchor clock;
  core::notify_config notify;
  core::metrics_ptr metrics;         ///< null: a private registry
  std::size_t memory_cap = 1000;     ///< entries held in memory, in each lane; the rest wait on disk
  std::size_t receiver_cap = 100;    ///< entries of one receiver held in memory, in the jobs' lane
  std::size_t max_in_flight = 4;     ///< tries at once, in each lane
  std::size_t per_receiver = 2;      ///< tries at once to one receiver
};

msg::notifier_actor spawn_notifier(caf::actor_system& sys, msg::outbox_store store,
                                   std::shared_ptr<core::webhook_port> port, notifier_options opts);

} // namespace cutover::actors
