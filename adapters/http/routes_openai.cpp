// POST /v1/images/generations: OpenAI's Images API. The job is submitted as any other and the answer waits until it
// is final, in OpenAI's shape.

#include "adapters/http/job_request.hpp"
#include "adapters/http/openai_compat.hpp"
#include "adapters/http/routes.hpp"

#include <cstdio>
#include <random>

namespace cutover::http {

namespace {

/// How long the answer waits for the job before it says 504 and where to look.
constexpr auto answer_wait = std::chrono::seconds(120);

void fail(const reply& rep, int status, const std::string& message, const std::string& type, const std::string& param,
          const std::string& code, header_list headers = {}) {
  rep.send(status, openai_error_json(message, type, param, code), "application/json", std::move(headers));
}

/// OpenAI's error `type` for a refused submission: its rate limits are `rate_limit_error`s; the rest are the
/// server's state, or the request's own fault (an Idempotency-Key reused with another body).
const char* openai_type(msg::submit_error e) {
  switch (e) {
  case msg::submit_error::rate_limited: return "rate_limit_error";
  case msg::submit_error::idempotency_key_reused: return "invalid_request_error";
  default: return "server_error";
  }
}

/// "anonymous-" and 16 random hex digits: one per request, never sticky.
std::string fresh_user_id() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "anonymous-%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

void answer(const reply& rep, const core::job_record& job, const image_access* images, bool b64) {
  if (job.status == core::job_status::succeeded)
    rep.send(200, openai_images_json(job, images, b64));
  else if (!core::is_final(job.status))
    fail(rep, 504,
         "job " + core::to_string(job.id) + " is still running; GET /v1/jobs/" + core::to_string(job.id) +
           " for its result",
         "server_error", "", "timeout");
  else if (job.error.find("content_policy") != std::string::npos)
    fail(rep, 400, job.error, "invalid_request_error", "prompt", "content_policy_violation");
  else
    fail(rep, 502, job.error, "server_error", "", "upstream_failed");
}

void generate(api_context& c, const request& req, const reply& rep) {
  if (!is_json_type(req.header("Content-Type")))
    return fail(rep, 415, "the body must be application/json", "invalid_request_error", "", "unsupported_media_type");
  std::string key;
  if (req.has_header("Idempotency-Key")) {
    key = req.header("Idempotency-Key");
    if (!valid_idempotency_key(key))
      return fail(rep, 400, "Idempotency-Key must be 1 to 255 visible ASCII characters", "invalid_request_error",
                  "Idempotency-Key", "invalid_header");
  }
  // Without `user`, the key's name routes the request; without keys, each request is a user of its own, so the
  // rollout percent applies to them as to everyone (one shared "anonymous" would put them all in one bucket).
  auto parsed = parse_openai_request(req.body, req.key_name.empty() ? fresh_user_id() : req.key_name);
  if (auto* err = std::get_if<request_error>(&parsed))
    return fail(rep, err->status, err->message, "invalid_request_error", err->field, err->code);
  auto& job = std::get<parsed_job>(parsed);
  job.spec.tenant = req.tenant;
  key = scoped_idempotency_key("/v1/images/generations", req.tenant, key);
  // one request: the submission, and the answer when the job has ended (its end is not read back from the store)
  const bool b64 = job.response_format != "url";
  c.engine.submit_and_wait(
    msg::submit_and_wait{msg::submit_job{std::move(job.spec), key, std::move(job.body_hash)}, answer_wait},
    [rep, images = c.opts.images, b64](const msg::submit_outcome* o, const std::string& error) {
      if (o == nullptr)
        return fail(rep, 503, error, "server_error", "", "unavailable");
      const auto& r = o->accepted;
      if (r.error != msg::submit_error::none) {
        header_list h;
        if (const auto after = retry_after_of(r); after > 0)
          h.emplace_back("Retry-After", std::to_string(after));
        return fail(rep, status_of(r.error), r.message, openai_type(r.error), "", to_string(r.error), std::move(h));
      }
      if (!o->job.found)
        return fail(rep, 503, "the job disappeared", "server_error", "", "unavailable");
      answer(rep, o->job.job, images.get(), b64);
    });
}

} // namespace

void add_openai_routes(route_table& t, api_context& c) {
  t.add({"POST", "/v1/images/generations", scope::submit, 0, [&c](auto& q, auto& r) { generate(c, q, r); },
         tenancy::tenant});
}

} // namespace cutover::http
