#pragma once
/// The fake's wire vocabulary: one provider call as received, one answer to send, and the error answers of each
/// provider in its real wire format: status, body shape, headers (docs/providers.md).

#include "tools/fake_provider/faults.hpp"

#include <string>
#include <utility>
#include <vector>

namespace cutover::fake {

/// One provider call as received (headers already picked out; names are case-insensitive on the wire).
struct call {
  std::string method;
  std::string path;  ///< percent-decoded
  std::string query; ///< raw query string
  std::string body;
  std::string authorization; ///< Authorization header
  std::string goog_api_key;  ///< x-goog-api-key header, or the `key` query parameter
  std::string prefer;        ///< Prefer header (Replicate)
};

struct answer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The provider's error answer for an HTTP status drawn from `error_rates` (429 carries the wait:
/// Retry-After for OpenAI and Replicate, RetryInfo for Google).
answer status_error(api_kind api, int status, double retry_after_s);
/// Wrong or missing key: OpenAI 401 invalid_api_key, Replicate 401 Unauthenticated, Google 400 API_KEY_INVALID.
answer auth_error(api_kind api);
/// Out of credit: OpenAI 429 insufficient_quota, Replicate 402, Google 429 with a PerDay quotaId.
answer quota_error(api_kind api, double retry_after_s);
/// A route this fake does not know, in the api's own 404 shape.
answer not_found(api_kind api, const std::string& what);
/// A request the provider would refuse (400 OpenAI / 422 Replicate / 400 INVALID_ARGUMENT Google).
answer bad_request(api_kind api, const std::string& message, const std::string& param = {});

/// OpenAI's refusal: `content_policy_violation` (dall-e), `moderation_blocked` (gpt-image models).
answer openai_content_policy(bool gpt_image);
/// Imagen's up-front refusal: 400 INVALID_ARGUMENT with the Responsible AI message.
answer imagen_content_policy();
/// Replicate's safety failure text of a `failed` prediction.
constexpr const char* replicate_nsfw_error = "NSFW content detected. Try running it again, or try a different prompt.";

/// A Google error body `{"error":{code, message, status, details}}` (details is a JSON array text).
answer google_error(int code, const std::string& status, const std::string& message,
                    const std::string& details_json = "[]");

/// The answer cut in half: still 200/201 and application/json, but not parseable.
void make_malformed(answer& a);
/// RFC 3339 UTC timestamp of the wall clock (what the providers put in created_at / createTime).
std::string rfc3339_now();

} // namespace cutover::fake
