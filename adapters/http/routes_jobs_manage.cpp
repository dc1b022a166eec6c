// Jobs as an operator manages them: list them (paged), cancel one not yet final, erase one user's.

#include "adapters/http/json_out.hpp"
#include "adapters/http/routes.hpp"

namespace cutover::http {

namespace {

/// The longest user id a query or an erasure names (the same bound as a submitted job's).
constexpr std::size_t max_user_id = 256;

/// GET /v1/jobs?user_id=&status=&since=&limit=&before= — newest first; `next` is the `before` of the next page
/// (null on the last one). A tenant's key lists only its tenant's jobs.
void list(api_context& c, const request& req, const reply& rep) {
  msg::list_jobs m;
  auto& q = m.query;
  q.tenant = req.tenant;
  q.user_id = req.query_param("user_id");
  if (q.user_id.size() > max_user_id)
    return rep.error(400, "invalid_parameter", "user_id is longer than 256 bytes", "user_id");
  bool found = false;
  if (const auto status = req.query_param("status", &found); found) {
    if (!core::parse_job_status(status, q.status))
      return rep.error(400, "invalid_parameter",
                       "status must be one of accepted, queued, submitted, running, succeeded, failed, "
                       "dead_lettered, cancelled; got \"" + status + "\"",
                       "status");
    q.by_status = true;
  }
  if (const auto since = req.query_param("since", &found); found && !core::parse_rfc3339(since, q.since))
    return rep.error(400, "invalid_parameter", "since must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z", "since");
  if (const auto before = req.query_param("before", &found); found) {
    core::job_id id;
    if (!core::parse_job_id(before, id) || id.value == 0)
      return rep.error(400, "invalid_parameter", "before must be a job id such as j42 (a page's next)", "before");
    q.before = id.value;
  }
  if (!limit_param(req, rep, q.limit))
    return;
  const auto limit = q.limit;
  c.engine.list_jobs(std::move(m), [rep, limit](const msg::job_list* r, const std::string& error) {
    if (r == nullptr)
      return rep.unavailable(error);
    std::string body = "{\"jobs\":[";
    for (std::size_t i = 0; i < r->jobs.size(); ++i) {
      if (i > 0)
        body += ',';
      body += job_json(r->jobs[i]);
    }
    body += "],\"next\":";
    // a full page may have a next one: it starts below the last id shown
    if (r->jobs.size() == limit && !r->jobs.empty())
      append_json_string(body, core::to_string(r->jobs.back().id));
    else
      body += "null";
    body += '}';
    rep.send(200, std::move(body));
  });
}

/// DELETE /v1/jobs/{id} — 202 while the cancel is under way (the job ends `cancelled`), 404, 409 once final.
void cancel(api_context& c, const request& req, const reply& rep) {
  const auto& id_text = req.params[0];
  core::job_id id;
  if (!core::parse_job_id(id_text, id))
    return rep.error(404, "not_found", "no job " + id_text);
  c.engine.cancel(msg::cancel_job{id, req.tenant}, [rep, id](const msg::cancel_reply* r, const std::string& error) {
    if (r == nullptr)
      return rep.unavailable(error);
    if (r->error != msg::cancel_error::none)
      return rep.error(status_of(r->error), to_string(r->error), r->message);
    std::string body = "{";
    body += "\"id\":";
    append_json_string(body, core::to_string(id));
    body += ",\"status\":";
    append_json_string(body, core::to_string(r->status));
    body += ",\"cancel\":\"requested\"}";
    rep.send(202, std::move(body), "application/json", {{"Location", "/v1/jobs/" + core::to_string(id)}});
  });
}

/// DELETE /v1/users/{id}/jobs — erases the user's final jobs and cancels the others (call again once they end).
void erase_user(api_context& c, const request& req, const reply& rep) {
  auto user = decode_path_segment(req.params[0]);
  if (user.size() > max_user_id)
    return rep.error(400, "invalid_parameter", "the user id is longer than 256 bytes", "id");
  c.engine.erase_user(msg::erase_user{user, req.tenant}, [rep, user](const msg::erase_reply* r, const std::string& error) {
    if (r == nullptr)
      return rep.unavailable(error);
    std::string body = "{\"user_id\":";
    append_json_string(body, user);
    body += ",\"erased\":" + std::to_string(r->erased) + ",\"cancelled\":" + std::to_string(r->cancelled) + "}";
    rep.send(200, std::move(body));
  });
}

} // namespace

void add_job_management_routes(route_table& t, api_context& c) {
  t.add({"GET", "/v1/jobs", scope::read, small_body, [&c](auto& q, auto& r) { list(c, q, r); }, tenancy::tenant});
  // cancelling is the submitter's act on its own tenant's job, like submitting it
  t.add({"DELETE", "/v1/jobs/{id}", scope::submit, small_body, [&c](auto& q, auto& r) { cancel(c, q, r); },
         tenancy::tenant});
  t.add({"DELETE", "/v1/users/{id}/jobs", scope::admin, small_body, [&c](auto& q, auto& r) { erase_user(c, q, r); },
         tenancy::tenant});
}

} // namespace cutover::http
