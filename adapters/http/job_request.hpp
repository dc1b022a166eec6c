#pragma once
/// Validation of a submitted job body (`POST /v1/jobs`): a job spec and its body hash, or the first error with its
/// status, code and field. Nothing is stored unless this succeeds.

#include "core/job.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace cutover::http {

struct request_error {
  int status = 400;
  std::string code;
  std::string message;
  std::string field;
};

struct parsed_job {
  core::job_spec spec;
  std::string body_hash; ///< of the parsed fields, so a repeat with other whitespace is still the same request
  std::string response_format; ///< the OpenAI endpoint's: "b64_json" (its default) or "url"; empty elsewhere
};

namespace limits {
constexpr std::size_t user_id_max = 256;
constexpr std::size_t prompt_max = 32000;
constexpr std::size_t label_max = 256; ///< endpoint and segment
constexpr std::size_t webhook_url_max = 2048;
constexpr int n_min = 1;
constexpr int n_max = core::max_images_per_job;
constexpr std::size_t idempotency_key_max = 255;
} // namespace limits

std::variant<parsed_job, request_error> parse_job_request(const std::string& body);

/// An Idempotency-Key must be 1..255 visible ASCII characters.
bool valid_idempotency_key(const std::string& key);

/// The key as the engine's idempotency table holds it: scoped per endpoint and per tenant, so the same key sent to
/// /v1/jobs and to /v1/images/generations (or by two tenants) names two requests. `/v1/jobs` without a tenant
/// keeps the bare key (the keys stored before scoping stay valid); any other scope is prefixed with
/// "<endpoint> <tenant> ", which no bare key can collide with (a key has no spaces). `tenant` is the accepted
/// API key's tenant (empty: none).
std::string scoped_idempotency_key(std::string_view endpoint, std::string_view tenant, const std::string& key);

} // namespace cutover::http

namespace cutover::http {

/// `POST /v1/jobs/{id}/feedback`: `{"quality": 0..1}`; nullopt when the body is not that.
std::optional<double> parse_feedback(const std::string& body);
/// `{"percent": N}` of POST /v1/rollout/percent: a whole number 0..100, else nullopt.
std::optional<int> parse_percent(const std::string& body);

} // namespace cutover::http
