#pragma once
/// A job as it is stored and shown: what was asked, where it was routed and why, every attempt, the result.
/// Plain values; `inspect` overloads let actors send them (and later serialize them) without core knowing CAF.

#include "core/types.hpp"

#include <string>
#include <vector>

namespace cutover::core {

/// What a client asked for.
struct job_spec {
  std::string user_id;
  std::string prompt;
  tier tier_ = tier::sd;
  int n = 1;
  std::string endpoint;
  std::string segment;
  std::string metadata; ///< the client's JSON object, as text; empty when absent
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
};

struct job_record {
  job_id id;
  job_spec spec;
  job_status status = job_status::accepted;
  std::string provider; ///< the provider of the current (or last) attempt
  int bucket = 0;
  std::string route_reason;
  std::vector<attempt_record> attempts;
  std::vector<std::string> images; ///< base64 PNG data, one per image
  micros cost = 0;
  instant created_at{};
  instant updated_at{};
  std::string error;
  std::string idempotency_key;
  std::string body_hash;
};

template <class Inspector>
auto inspect(Inspector& f, job_id& x) {
  return f(x.value);
}
template <class Inspector>
auto inspect(Inspector& f, job_spec& x) {
  return f(x.user_id, x.prompt, x.tier_, x.n, x.endpoint, x.segment, x.metadata);
}
template <class Inspector>
auto inspect(Inspector& f, attempt_record& x) {
  return f(x.no, x.provider, x.started_at, x.finished_at, x.outcome, x.error, x.remote_id, x.cost);
}
template <class Inspector>
auto inspect(Inspector& f, job_record& x) {
  return f(x.id, x.spec, x.status, x.provider, x.bucket, x.route_reason, x.attempts, x.images, x.cost,
           x.created_at, x.updated_at, x.error, x.idempotency_key, x.body_hash);
}

} // namespace cutover::core
