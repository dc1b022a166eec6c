/// The providers' error answers (bodies, statuses and headers as the real providers send them).

#include "tools/fake_provider/wire.hpp"

#include <cpprest/json.h>

#include <cmath>
#include <ctime>

namespace cutover::fake {

namespace {

using web::json::value;

std::string seconds_text(double s) { return std::to_string(static_cast<long long>(std::ceil(s))); }

value str_or_null(const std::string& s) { return s.empty() ? value::null() : value::string(s); }

answer openai_error(int status, const std::string& message, const std::string& type, const std::string& param,
                    const std::string& code) {
  value err = value::object();
  err["message"] = value::string(message);
  err["type"] = value::string(type);
  err["param"] = str_or_null(param);
  err["code"] = str_or_null(code);
  value body = value::object();
  body["error"] = err;
  return {status, body.serialize(), "application/json", {}};
}

/// RFC 7807, as Replicate answers every API error.
answer replicate_problem(int status, const std::string& title, const std::string& detail) {
  value body = value::object();
  body["title"] = value::string(title);
  body["detail"] = value::string(detail);
  body["status"] = value::number(status);
  return {status, body.serialize(), "application/problem+json", {}};
}

std::string google_status_name(int status) {
  switch (status) {
  case 400: return "INVALID_ARGUMENT";
  case 401: return "UNAUTHENTICATED";
  case 403: return "PERMISSION_DENIED";
  case 404: return "NOT_FOUND";
  case 409: return "ABORTED";
  case 429: return "RESOURCE_EXHAUSTED";
  case 499: return "CANCELLED";
  case 501: return "UNIMPLEMENTED";
  case 503: return "UNAVAILABLE";
  case 504: return "DEADLINE_EXCEEDED";
  default: return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

/// Google's 429: QuotaFailure naming the quota, and RetryInfo with the wait.
answer google_exhausted(const std::string& quota_id, const std::string& metric, double retry_after_s,
                        const std::string& message) {
  const std::string details =
      R"([{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":")" + metric +
      R"(","quotaId":")" + quota_id + R"(","quotaDimensions":{"location":"global"},"quotaValue":"10"}]},)" +
      R"({"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas",)" +
      R"("url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},)" +
      R"({"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":")" + seconds_text(retry_after_s) + R"(s"}])";
  return google_error(429, "RESOURCE_EXHAUSTED", message, details);
}

} // namespace

answer google_error(int code, const std::string& status, const std::string& message, const std::string& details_json) {
  value err = value::object();
  err["code"] = value::number(code);
  err["message"] = value::string(message);
  err["status"] = value::string(status);
  err["details"] = value::parse(details_json);
  value body = value::object();
  body["error"] = err;
  return {code, body.serialize(), "application/json; charset=UTF-8", {}};
}

answer status_error(api_kind api, int status, double retry_after_s) {
  const std::string wait = seconds_text(retry_after_s);
  switch (api) {
  case api_kind::openai: {
    answer a;
    if (status == 401)
      return auth_error(api);
    if (status == 429) {
      a = openai_error(429, "Rate limit reached for images per minute. Please try again in " + wait + "s.",
                       "requests", "", "rate_limit_exceeded");
      a.headers.emplace_back("Retry-After", wait);
    } else if (status == 503) {
      a = openai_error(503, "The engine is currently overloaded, please try again later", "server_error", "", "");
    } else if (status >= 500) {
      a = openai_error(status, "The server had an error while processing your request. Sorry about that!",
                       "server_error", "", "");
    } else {
      a = openai_error(status, "Invalid request (injected fault " + std::to_string(status) + ").",
                       "invalid_request_error", "", "");
    }
    return a;
  }
  case api_kind::replicate: {
    if (status == 401)
      return auth_error(api);
    if (status == 402)
      return quota_error(api, retry_after_s);
    if (status == 429) {
      auto a = replicate_problem(429, "Request was throttled",
                                 "Request was throttled. Your rate limit resets in ~" + wait + "s.");
      a.headers.emplace_back("Retry-After", wait);
      return a;
    }
    if (status == 422)
      return replicate_problem(422, "Input validation failed", "- input: injected validation failure");
    if (status == 404)
      return replicate_problem(404, "Not found", "The requested resource could not be found.");
    if (status >= 500)
      return replicate_problem(status, status == 503 ? "Service unavailable" : "Internal server error",
                               "Something went wrong on our end (injected fault " + std::to_string(status) + ").");
    return replicate_problem(status, "Bad request", "Injected fault " + std::to_string(status) + ".");
  }
  case api_kind::imagen:
  case api_kind::gemini_batch:
    if (status == 429)
      return google_exhausted("GenerateRequestsPerMinutePerProjectPerModel",
                              "generativelanguage.googleapis.com/generate_requests_per_model", retry_after_s,
                              "Resource has been exhausted (e.g. check quota).");
    if (status == 503)
      return google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.");
    if (status == 500)
      return google_error(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                                           "https://developers.generativeai.google/guide/troubleshooting");
    if (status == 401)
      return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    return google_error(status, google_status_name(status),
                        "Injected fault " + std::to_string(status) + " (" + google_status_name(status) + ").");
  case api_kind::unknown: break;
  }
  value body = value::object();
  body["error"] = value::string("injected fault " + std::to_string(status));
  return {status, body.serialize(), "application/json", {}};
}

answer auth_error(api_kind api) {
  switch (api) {
  case api_kind::openai:
    return openai_error(401, "Incorrect API key provided. You can find your API key at "
                             "https://platform.openai.com/account/api-keys.",
                        "invalid_request_error", "", "invalid_api_key");
  case api_kind::replicate:
    return replicate_problem(401, "Unauthenticated", "You did not pass a valid authentication token");
  default:
    return google_error(
        400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
        R"([{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com",)"
        R"("metadata":{"service":"generativelanguage.googleapis.com"}},)"
        R"({"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US",)"
        R"("message":"API key not valid. Please pass a valid API key."}])");
  }
}

answer quota_error(api_kind api, double retry_after_s) {
  switch (api) {
  case api_kind::openai:
    return openai_error(429, "You exceeded your current quota, please check your plan and billing details.",
                        "insufficient_quota", "", "insufficient_quota");
  case api_kind::replicate:
    return replicate_problem(402, "Insufficient credit",
                             "You have insufficient credit to run this model. Go to "
                             "https://replicate.com/account/billing to purchase credit.");
  default:
    return google_exhausted("GenerateRequestsPerDayPerProjectPerModel",
                            "generativelanguage.googleapis.com/generate_requests_per_model_per_day", retry_after_s,
                            "You exceeded your current quota, please check your plan and billing details.");
  }
}

answer not_found(api_kind api, const std::string& what) {
  switch (api) {
  case api_kind::openai: return openai_error(404, what, "invalid_request_error", "", "");
  case api_kind::replicate: return replicate_problem(404, "Not found", what);
  case api_kind::imagen:
  case api_kind::gemini_batch: return google_error(404, "NOT_FOUND", what);
  case api_kind::unknown: break;
  }
  value body = value::object();
  body["error"] = value::string(what);
  return {404, body.serialize(), "application/json", {}};
}

answer bad_request(api_kind api, const std::string& message, const std::string& param) {
  switch (api) {
  case api_kind::openai: return openai_error(400, message, "invalid_request_error", param, "");
  case api_kind::replicate:
    return replicate_problem(422, "Input validation failed", "- " + (param.empty() ? "" : param + ": ") + message);
  default: return google_error(400, "INVALID_ARGUMENT", message);
  }
}

answer openai_content_policy(bool gpt_image) {
  if (gpt_image)
    return openai_error(400, "Your request was rejected by the safety system. If you believe this is an error, "
                             "contact us at help.openai.com and include the request ID.",
                        "image_generation_user_error", "", "moderation_blocked");
  return openai_error(400, "Your request was rejected as a result of our safety system. Your prompt may contain text "
                           "that is not allowed by our safety system.",
                      "invalid_request_error", "", "content_policy_violation");
}

answer imagen_content_policy() {
  return google_error(400, "INVALID_ARGUMENT",
                      "Imagen API: Your current prompt may contain sensitive words that violate Google's Responsible "
                      "AI practices. Try rephrasing the prompt. If you think this was an error, send feedback.");
}

void make_malformed(answer& a) {
  a.body.resize(a.body.size() / 2);
  if (a.body.empty())
    a.body = "{";
}

std::string rfc3339_now() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us));
  return out;
}

} // namespace cutover::fake
