#pragma once
/// A job as it is stored and shown: what was asked, where it was routed and why, every attempt, the result.
/// Plain values; `inspect` overloads let actors send them (and later serialize them) without core knowing CAF.

#include "core/types.hpp"

#include <string>
#include <vector>

namespace cutover::core {

/// The most images one job may ask for (the API refuses more; the ledger sizes its dearest job by it).
constexpr int max_images_per_job = 4;

/// What a client asked for.
struct job_spec {
  std::string user_id;
  std::string prompt;
  tier tier_ = tier::sd;
  int n = 1;
  std::string endpoint;
  std::string segment;
  std::string metadata; ///< the client's JSON object, as text; empty when absent
  /// The tenant of the API key that submitted it (empty: a key without a tenant, or no keys). Set by the HTTP
  /// edge from the key, never from the body; only callers of the same tenant (or without one) see the job.
  std::string tenant;
  std::string webhook_url; ///< told when the job is final (signed with notify.job_secret_env); empty: none
};

/// One call of one provider for one job (with that provider's own retries inside it).
struct attempt_record {
  int no = 0; ///< 1-based across the whole fallback chain
  std::string provider;
  instant started_at{};
  instant finished_at{}; ///< epoch while the attempt is running
  job_status outcome = job_status::running; ///< running | succeeded | failed
  error_class error = error_class::none;
  std::string remote_id; ///< the provider's job id for async providers, persisted before the first poll
  micros cost = 0;
  double quality = -1; ///< the provider's own score (0..1) of a succeeded attempt; < 0: it gave none
  /// What was reserved for it at admission (the price then x n): what the attempt is charged when its outcome is
  /// never learnt, and what is held again after a restart; 0 in stores written before it was kept.
  micros reserved = 0;
};

/// Whether a caller of `tenant` may see or act on a job of `job_tenant`: a caller without a tenant (an operator's
/// key, or an engine without keys) sees every job; a tenant's caller only its own. Another tenant's job is, to
/// that caller, a job that does not exist.
inline bool tenant_sees(const std::string& tenant, const std::string& job_tenant) {
  return tenant.empty() || tenant == job_tenant;
}

struct job_record {
  job_id id;
  job_spec spec;
  job_status status = job_status::accepted;
  std::string provider; ///< the provider of the current (or last) attempt
  int bucket = 0;
  std::string route_reason;
  std::vector<attempt_record> attempts;
  int attempt_base = 0; ///< attempts made before the last dead-letter replay (they do not count again)
  std::vector<std::string> images; ///< base64 PNG data, one per image
  micros cost = 0;
  instant created_at{};
  instant updated_at{};
  std::string error;
  std::string idempotency_key;
  std::string body_hash;
};

/// One job's unit of work at one provider: what a batcher collects and a provider call carries.
struct work_item {
  job_id id;
  int attempt_no = 1;
  tier tier_ = tier::sd;
  int n = 1;
  std::string prompt;
  std::string user_id;
  /// Price per image fixed when the ledger admitted the attempt (its reservation is unit_price x n), so a reload
  /// that changes prices cannot settle a call above what was reserved. < 0: not fixed, priced from the config.
  micros unit_price = -1;
};

/// The result of one attempt of one item, reported by a provider actor.
struct item_outcome {
  job_id id;
  int attempt_no = 1;
  std::string provider;
  instant started_at{};
  instant finished_at{};
  error_class error = error_class::none; ///< none = succeeded
  std::string message;
  std::string remote_id;
  std::vector<std::string> images;
  micros cost = 0;
  double quality = 0; ///< the provider's own score where it gives one, else 0
  /// The engine took the item back from the provider at a rollback (not the provider's outcome): the router sends
  /// it to the baseline without using up an attempt; `cost` is what it may have cost at the candidate.
  bool recalled = false;
};

/// A change to a stored job. The store folds the events of one commit into one write per row.
enum class event_kind : std::uint8_t {
  routed,           ///< status (queued), provider, bucket (when >= 1) and route reason
  attempt_started,  ///< attempt row created, job submitted to `attempt.provider`
  attempt_remote,   ///< the provider accepted the work as remote job `attempt.remote_id`: job running
  attempt_finished, ///< attempt row completed (outcome, error, cost, finished_at)
  finished,         ///< final status, images, cost and error of the job
  replayed,         ///< a dead letter goes round again: status (queued) even from a final one, error cleared,
                    ///< route as for `routed`, attempt_base = attempt.no
};

struct job_event {
  job_id id;
  event_kind kind = event_kind::routed;
  instant at{};
  job_status status = job_status::queued; ///< the job's status after this event
  std::string provider;
  int bucket = 0;
  std::string text; ///< routed: route reason; finished: error message
  attempt_record attempt;
  std::vector<std::string> images;
  micros cost = 0;
};

template <class Inspector>
auto inspect(Inspector& f, job_id& x) {
  return f(x.value);
}
template <class Inspector>
auto inspect(Inspector& f, job_spec& x) {
  return f(x.user_id, x.prompt, x.tier_, x.n, x.endpoint, x.segment, x.metadata, x.tenant, x.webhook_url);
}
template <class Inspector>
auto inspect(Inspector& f, attempt_record& x) {
  return f(x.no, x.provider, x.started_at, x.finished_at, x.outcome, x.error, x.remote_id, x.cost, x.quality);
}
template <class Inspector>
auto inspect(Inspector& f, job_record& x) {
  return f(x.id, x.spec, x.status, x.provider, x.bucket, x.route_reason, x.attempts, x.attempt_base, x.images, x.cost,
           x.created_at, x.updated_at, x.error, x.idempotency_key, x.body_hash);
}

template <class Inspector>
auto inspect(Inspector& f, work_item& x) {
  return f(x.id, x.attempt_no, x.tier_, x.n, x.prompt, x.user_id, x.unit_price);
}
template <class Inspector>
auto inspect(Inspector& f, item_outcome& x) {
  return f(x.id, x.attempt_no, x.provider, x.started_at, x.finished_at, x.error, x.message, x.remote_id, x.images,
           x.cost, x.quality, x.recalled);
}
template <class Inspector>
auto inspect(Inspector& f, job_event& x) {
  return f(x.id, x.kind, x.at, x.status, x.provider, x.bucket, x.text, x.attempt, x.images, x.cost);
}

} // namespace cutover::core
