#pragma once
/// The router's protocol: it alone decides where a job goes (first route, fallback, final state).

#include "core/job.hpp"
#include "messages/config.hpp"
#include "messages/intake.hpp"
#include "messages/provider.hpp"
#include "messages/rollout.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <map>

namespace cutover::msg {

/// New jobs, on disk, to route.
struct route_jobs { std::vector<core::job_record> jobs; };
/// Send a dead-lettered job round again (answered once that is on disk).
struct replay_job { core::job_record job; };
/// Internal: final states whose commit failed, tried again (waiters hear of them only once they are on disk).
struct retry_record {
  std::vector<core::job_event> events;
  std::vector<core::job_id> finals;
};
/// From intake: end these jobs `cancelled` (DELETE /v1/jobs/{id}, a user's erasure). Answered with the ids the
/// router has no flight for: they are final already (or their final state is being written).
struct cancel_flights { std::vector<core::job_id> ids; };
struct cancel_answer { std::vector<core::job_id> not_in_flight; };
/// From the rollout controller: the live routing view.
struct rollout_update {
  bool rolled_back = false;
  int percent = 0;
};
/// How many jobs have their current attempt at the rollout's candidate (in its batch windows, waiting for a slot or
/// a retry there, or on the wire): answered at once, or with `when_none` once there is none (a rollback drill).
struct count_at_candidate { bool when_none = false; };
struct at_candidate { std::int64_t jobs = 0; };
/// Internal: rollback.cancel_in_flight_after has passed since a rollback; cancel what still runs at the candidate.
struct recall_due {};
/// The router's own timer: republish the fallback ratio as its window ages.
struct meter_due {};
/// Where the router reports outcomes and dispatches for the rollout's figures.
using observe_sink = caf::typed_actor<caf::reacts_to<observe>>;
/// Who hears that jobs reached a final state (intake, to wake waiters).
using final_sink = caf::typed_actor<caf::reacts_to<jobs_final>>;
/// Wiring: the batchers per provider (index by tier), the provider faces, and the final-state listener.
/// On wiring, the router resumes every unfinished job from the store.
struct router_wiring {
  std::map<std::string, std::vector<batcher_actor>> batchers;
  std::map<std::string, provider_actor> providers;
  final_sink finals;
  observe_sink observer;
};

template <class I> auto inspect(I& f, route_jobs& x) { return f(caf::meta::type_name("route_jobs"), x.jobs); }
template <class I> auto inspect(I& f, replay_job& x) { return f(caf::meta::type_name("replay_job"), x.job); }
template <class I> auto inspect(I& f, retry_record& x) {
  return f(caf::meta::type_name("retry_record"), x.events, x.finals);
}
template <class I> auto inspect(I& f, rollout_update& x) {
  return f(caf::meta::type_name("rollout_update"), x.rolled_back, x.percent);
}
template <class I> auto inspect(I& f, count_at_candidate& x) {
  return f(caf::meta::type_name("count_at_candidate"), x.when_none);
}
template <class I> auto inspect(I& f, at_candidate& x) { return f(caf::meta::type_name("at_candidate"), x.jobs); }
template <class I> auto inspect(I& f, cancel_flights& x) { return f(caf::meta::type_name("cancel_flights"), x.ids); }
template <class I> auto inspect(I& f, cancel_answer& x) {
  return f(caf::meta::type_name("cancel_answer"), x.not_in_flight);
}
template <class I> auto inspect(I& f, recall_due&) { return f(caf::meta::type_name("recall_due")); }
template <class I> auto inspect(I& f, meter_due&) { return f(caf::meta::type_name("meter_due")); }
template <class I> auto inspect(I& f, router_wiring& x) {
  return f(caf::meta::type_name("router_wiring"), x.batchers, x.providers, x.finals, x.observer);
}

/// Answered once every message the router received before it is handled (and its writes are sent to the store).
struct barrier {};
template <class I> auto inspect(I& f, barrier&) { return f(caf::meta::type_name("barrier")); }

using router_actor = caf::typed_actor<
  caf::replies_to<barrier>::with<stored>,
  caf::reacts_to<route_jobs>,
  caf::replies_to<replay_job>::with<stored>,
  caf::replies_to<cancel_flights>::with<cancel_answer>,
  caf::reacts_to<outcomes>,
  caf::reacts_to<router_wiring>,
  caf::reacts_to<rollout_update>,
  caf::replies_to<count_at_candidate>::with<at_candidate>,
  caf::reacts_to<recall_due>,
  caf::reacts_to<meter_due>,
  caf::reacts_to<retry_record>,
  caf::reacts_to<config_snapshot>>;

} // namespace cutover::msg
