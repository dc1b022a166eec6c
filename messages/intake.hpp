#pragma once
/// Intake's protocol: accepts jobs durably (the answer comes only after the job is on disk), honours
/// idempotency keys, and answers job lookups, optionally waiting until the job is final.

#include "core/job.hpp"
#include "messages/admissibility.hpp"
#include "messages/config.hpp"
#include "messages/jobs_store.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

struct submit_job {
  core::job_spec spec;
  std::string idempotency_key; ///< empty: none
  std::string body_hash;       ///< identifies the request body for idempotency
};
/// Why a job was not accepted. The HTTP adapter maps each to a status; here they are only reasons.
enum class submit_error : std::uint8_t {
  none,                    ///< accepted (also an idempotent repeat: the first job with its status now)
  draining,                ///< the engine is shutting down
  idempotency_key_reused,  ///< the same key came with another body
  idempotency_in_progress, ///< a repeat while the first is still being stored
  rate_limited,            ///< the user's request rate is exceeded (see retry_after_s)
  store_unavailable,       ///< the job could not be stored or read back
  no_provider_admissible,  ///< no provider of the job's chain can take it now (budget, limits, breakers); see
  invalid_webhook_url,     ///< the job's webhook_url may not be called (scheme, a private host, no signing secret)
                           ///< retry_after_s for when the first one can
};
constexpr const char* to_string(submit_error e) {
  switch (e) {
  case submit_error::none: return "none";
  case submit_error::draining: return "draining";
  case submit_error::idempotency_key_reused: return "idempotency_key_reused";
  case submit_error::idempotency_in_progress: return "idempotency_in_progress";
  case submit_error::rate_limited: return "rate_limited";
  case submit_error::store_unavailable: return "store_unavailable";
  case submit_error::no_provider_admissible: return "no_provider_admissible";
  case submit_error::invalid_webhook_url: return "invalid_webhook_url";
  }
  return "unknown";
}
struct submit_reply {
  submit_error error = submit_error::none;
  core::job_id id;
  core::job_status status = core::job_status::accepted;
  bool replayed = false;
  std::string message;
  std::int64_t retry_after_s = 0; ///< rate_limited, no_provider_admissible: seconds until a retry may pass
};
/// Look a job up; with `wait` > 0, answer when it is final or when `wait` has passed.
struct await_job {
  core::job_id id;
  core::duration wait{0};
  std::string tenant; ///< the caller's (empty: none); another tenant's job is not found
};
/// A job's end as the router wrote it to disk: what an answer waiting for the job needs, so it is not read back.
struct final_job {
  core::job_id id;
  core::job_status status = core::job_status::succeeded;
  std::string provider; ///< of the last attempt
  std::vector<std::string> images;
  core::micros cost = 0;
  std::string error;
  core::instant at{}; ///< when it ended (the job's updated_at)
};
/// From the router, after the final state is on disk: wakes waiters.
struct jobs_final { std::vector<final_job> jobs; };
/// Submit a job and answer once it is final or `wait` has passed (the OpenAI endpoint): one message instead of a
/// submission and a lookup, and the waiter is in place before the job can end, so its end is not read back.
struct submit_and_wait {
  submit_job job;
  core::duration wait{0};
};
/// The submission's answer; when it was accepted, the job as it stands at the end of the wait (final or not).
struct submit_outcome {
  submit_reply accepted;
  job_lookup job;
};
/// Internal: the earliest waiter's time is up.
struct await_expired {};
/// Stop accepting new jobs (503) ahead of a shutdown.
struct start_drain {};
/// Internal: hand the jobs stored since the last flush to the router, in one message.
struct flush_routes {};
/// Internal to intake: what a job's webhook host resolved to was judged (problem "" when every address is public).
struct webhook_checked {
  std::uint64_t token = 0;
  std::string problem;
};
/// Send a dead-lettered job round again.
struct replay_dead_letter {
  core::job_id id;
  std::string tenant; ///< the caller's (empty: none); another tenant's job is not found
};
enum class replay_error : std::uint8_t {
  none,              ///< replayed: the job is queued again
  not_found,         ///< no such job
  not_dead_lettered, ///< the job is not dead-lettered (or is already going round again)
  unavailable,       ///< the store or the router did not answer
};
constexpr const char* to_string(replay_error e) {
  switch (e) {
  case replay_error::none: return "none";
  case replay_error::not_found: return "not_found";
  case replay_error::not_dead_lettered: return "not_dead_lettered";
  case replay_error::unavailable: return "unavailable";
  }
  return "unknown";
}
struct replay_reply {
  replay_error error = replay_error::none;
  std::string message;
};

/// Cancel a job not yet final (DELETE /v1/jobs/{id}): the router ends it `cancelled` at its next step.
struct cancel_job {
  core::job_id id;
  std::string tenant; ///< the caller's (empty: none); another tenant's job is not found
};
enum class cancel_error : std::uint8_t {
  none,        ///< the cancel is under way (the job ends `cancelled`)
  not_found,   ///< no such job
  final,       ///< the job is already final
  unavailable, ///< the store or the router did not answer
};
constexpr const char* to_string(cancel_error e) {
  switch (e) {
  case cancel_error::none: return "none";
  case cancel_error::not_found: return "not_found";
  case cancel_error::final: return "already_final";
  case cancel_error::unavailable: return "unavailable";
  }
  return "unknown";
}
struct cancel_reply {
  cancel_error error = cancel_error::none;
  core::job_status status = core::job_status::accepted; ///< the job's status when asked
  std::string message;
};
/// Erase a user's jobs (DELETE /v1/users/{id}/jobs): final ones now; those not final are cancelled first.
struct erase_user {
  std::string user_id;
  std::string tenant; ///< the caller's (empty: every tenant)
};
struct erase_reply {
  std::uint64_t erased = 0;    ///< final jobs deleted
  std::uint64_t cancelled = 0; ///< jobs not final: being cancelled (erased by a later call once they are final)
};

template <class I> auto inspect(I& f, cancel_job& x) { return f(caf::meta::type_name("cancel_job"), x.id, x.tenant); }
template <class I> auto inspect(I& f, cancel_reply& x) {
  return f(caf::meta::type_name("cancel_reply"), x.error, x.status, x.message);
}
template <class I> auto inspect(I& f, erase_user& x) { return f(caf::meta::type_name("erase_user"), x.user_id, x.tenant); }
template <class I> auto inspect(I& f, erase_reply& x) {
  return f(caf::meta::type_name("erase_reply"), x.erased, x.cancelled);
}

template <class I> auto inspect(I& f, submit_job& x) {
  return f(caf::meta::type_name("submit_job"), x.spec, x.idempotency_key, x.body_hash);
}
template <class I> auto inspect(I& f, submit_reply& x) {
  return f(caf::meta::type_name("submit_reply"), x.error, x.id, x.status, x.replayed, x.message,
           x.retry_after_s);
}
template <class I> auto inspect(I& f, await_job& x) { return f(caf::meta::type_name("await_job"), x.id, x.wait, x.tenant); }
template <class I> auto inspect(I& f, final_job& x) {
  return f(caf::meta::type_name("final_job"), x.id, x.status, x.provider, x.images, x.cost, x.error, x.at);
}
template <class I> auto inspect(I& f, jobs_final& x) { return f(caf::meta::type_name("jobs_final"), x.jobs); }
template <class I> auto inspect(I& f, submit_and_wait& x) {
  return f(caf::meta::type_name("submit_and_wait"), x.job, x.wait);
}
template <class I> auto inspect(I& f, submit_outcome& x) {
  return f(caf::meta::type_name("submit_outcome"), x.accepted, x.job);
}
template <class I> auto inspect(I& f, await_expired&) { return f(caf::meta::type_name("await_expired")); }
template <class I> auto inspect(I& f, start_drain&) { return f(caf::meta::type_name("start_drain")); }
template <class I> auto inspect(I& f, flush_routes&) { return f(caf::meta::type_name("flush_routes")); }
template <class I> auto inspect(I& f, webhook_checked& x) {
  return f(caf::meta::type_name("webhook_checked"), x.token, x.problem);
}
template <class I> auto inspect(I& f, replay_dead_letter& x) {
  return f(caf::meta::type_name("replay_dead_letter"), x.id, x.tenant);
}
template <class I> auto inspect(I& f, replay_reply& x) {
  return f(caf::meta::type_name("replay_reply"), x.error, x.message);
}

using intake_actor = caf::typed_actor<
  caf::replies_to<submit_job>::with<submit_reply>,
  caf::replies_to<await_job>::with<job_lookup>,
  caf::replies_to<submit_and_wait>::with<submit_outcome>,
  caf::reacts_to<jobs_final>,
  caf::reacts_to<await_expired>,
  caf::reacts_to<start_drain>,
  caf::reacts_to<flush_routes>,
  caf::reacts_to<webhook_checked>,
  caf::replies_to<replay_dead_letter>::with<replay_reply>,
  caf::replies_to<cancel_job>::with<cancel_reply>,
  caf::replies_to<erase_user>::with<erase_reply>,
  caf::reacts_to<config_snapshot>,
  caf::reacts_to<admissibility_update>>;

} // namespace cutover::msg
