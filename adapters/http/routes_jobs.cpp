// /v1/jobs: submit a job (202 only once it is on disk), read one (optionally waiting until it is final), rate one.

#include "adapters/http/job_request.hpp"
#include "adapters/http/json_out.hpp"
#include "adapters/http/routes.hpp"

namespace cutover::http {

namespace {

void submit(api_context& c, const request& req, const reply& rep) {
  const auto type = req.header("Content-Type");
  if (!is_json_type(type)) {
    rep.error(415, "unsupported_media_type", "the body must be application/json, got \"" + type + "\"");
    return;
  }
  std::string key;
  if (req.has_header("Idempotency-Key")) {
    key = req.header("Idempotency-Key");
    if (!valid_idempotency_key(key)) {
      rep.error(400, "invalid_header", "Idempotency-Key must be 1 to 255 visible ASCII characters", "Idempotency-Key");
      return;
    }
  }
  auto parsed = parse_job_request(req.body);
  if (auto* err = std::get_if<request_error>(&parsed)) {
    rep.error(err->status, err->code, err->message, err->field);
    return;
  }
  auto& job = std::get<parsed_job>(parsed);
  job.spec.tenant = req.tenant;
  key = scoped_idempotency_key("/v1/jobs", req.tenant, key);
  c.engine.submit(msg::submit_job{std::move(job.spec), key, std::move(job.body_hash)},
                  [rep](const msg::submit_reply* r, const std::string& error) {
                    if (r == nullptr)
                      return rep.unavailable(error);
                    if (r->error == msg::submit_error::none) {
                      header_list h{{"Location", "/v1/jobs/" + core::to_string(r->id)}};
                      if (r->replayed)
                        h.emplace_back("Idempotent-Replayed", "true");
                      rep.send(202, accepted_json(r->id, r->status), "application/json", std::move(h));
                      return;
                    }
                    header_list h;
                    if (const auto after = retry_after_of(*r); after > 0)
                      h.emplace_back("Retry-After", std::to_string(after));
                    const std::string field = r->error == msg::submit_error::invalid_webhook_url ? "webhook_url" : "";
                    rep.error(status_of(r->error), to_string(r->error), r->message, field, std::move(h));
                  });
}

void lookup(api_context& c, const request& req, const reply& rep) {
  const auto& id_text = req.params[0];
  core::job_id id;
  if (!core::parse_job_id(id_text, id))
    return rep.error(404, "not_found", "no job " + id_text);
  msg::await_job query{id, {}, req.tenant};
  bool has_wait = false;
  const auto wait = req.query_param("wait", &has_wait);
  if (has_wait && !parse_wait(wait, query.wait))
    return rep.error(400, "invalid_parameter", "wait must be seconds, e.g. 30 or 30s or 500ms", "wait");
  // result images as signed URLs (the default) or, with ?images=b64, as base64 data read from their files
  const auto as = req.query_param("images");
  if (!as.empty() && as != "b64" && as != "url")
    return rep.error(400, "invalid_parameter", "images must be url or b64", "images");
  const bool b64 = as == "b64";
  auto images = c.opts.images;
  c.engine.lookup(query, [rep, id_text, images, b64](const msg::job_lookup* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else if (!r->found)
      rep.error(404, "not_found", "no job " + id_text);
    else
      rep.send(200, job_json(r->job, images.get(), b64));
  });
}

void feedback(api_context& c, const request& req, const reply& rep) {
  const auto& id_text = req.params[0];
  core::job_id id;
  if (!core::parse_job_id(id_text, id))
    return rep.error(404, "not_found", "no job " + id_text);
  if (!is_json_type(req.header("Content-Type")))
    return rep.error(415, "unsupported_media_type", "the body must be application/json");
  const auto quality = parse_feedback(req.body);
  if (!quality)
    return rep.error(400, "invalid_field", "quality must be a number between 0 and 1", "quality");
  c.engine.rate(msg::rate_job{id, *quality, req.tenant}, [rep, id_text](const msg::rated* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else if (!r->found)
      rep.error(404, "not_found", "no job " + id_text);
    else
      rep.send(204, "");
  });
}

} // namespace

void add_job_routes(route_table& t, api_context& c) {
  t.add({"POST", "/v1/jobs", scope::submit, 0, [&c](auto& q, auto& r) { submit(c, q, r); }, tenancy::tenant});
  t.add({"GET", "/v1/jobs/{id}", scope::read, small_body, [&c](auto& q, auto& r) { lookup(c, q, r); },
         tenancy::tenant});
  t.add({"POST", "/v1/jobs/{id}/feedback", scope::submit, small_body, [&c](auto& q, auto& r) { feedback(c, q, r); },
         tenancy::tenant});
}

} // namespace cutover::http
