#pragma once
/// Intake: the door of the engine. Gives each job its id, stores it (the 202 leaves only after the commit), hands
/// it to the router, honours idempotency keys (a repeat answers the first job; another body with the same key is
/// refused; a repeat while the first is being stored is told to retry), and answers lookups — at once, or when
/// the job is final. With a config, it refuses a job that no provider of its chain can take (the ledger's
/// admissibility view, pushed to it at every change), naming when one can again; an idempotent repeat is still
/// answered with its job. It reads the next id and recent keys from the store before taking any request. A job's
/// webhook_url whose host is a name is resolved (with the resolver given; none: names are not checked) and the job
/// refused when the name leads to a loopback or private address, unless notify.allow_private.

#include "actors/clock.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/notice.hpp"
#include "messages/intake.hpp"
#include "messages/routing.hpp"
#include "messages/jobs_store.hpp"

namespace caf { class actor_system; }

namespace cutover::actors {

namespace defaults {
/// How long an idempotency key is remembered.
constexpr core::duration idempotency_ttl = std::chrono::hours(24);
} // namespace defaults

msg::intake_actor spawn_intake(caf::actor_system& sys, msg::jobs_store store, msg::router_actor router,
                               clock_anchor clock, core::metrics_ptr metrics = nullptr,
                               core::user_rate_config user_rate = {}, core::config_ptr cfg = nullptr,
                               std::shared_ptr<core::name_resolver> resolver = nullptr);

} // namespace cutover::actors
