// /v1/rollout: the rollout's state, its decision audit, and the operator's actions (admin).

#include "adapters/http/job_request.hpp"
#include "adapters/http/json_out.hpp"
#include "adapters/http/routes.hpp"

namespace cutover::http {

namespace {

void view(api_context& c, const request&, const reply& rep) {
  c.engine.rollout([rep](const msg::rollout_view_reply* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else
      rep.send(200, rollout_json(*r));
  });
}

void act(api_context& c, const reply& rep, std::string action) {
  c.engine.rollout_action(msg::operator_action{std::move(action)},
                          [rep](const msg::operator_reply* r, const std::string& error) {
                            if (r == nullptr)
                              rep.unavailable(error);
                            else if (r->error == msg::operator_error::none)
                              rep.send(200, rollout_json(r->view));
                            else
                              rep.error(status_of(r->error),
                                        r->error == msg::operator_error::not_allowed ? "conflict" : "not_found",
                                        r->message);
                          });
}

/// POST /v1/rollout/percent {"percent": N}: the controller decides (done / no phase has it / raising).
void step_percent(api_context& c, const request& req, const reply& rep) {
  if (!is_json_type(req.header("Content-Type")))
    return rep.error(415, "unsupported_media_type", "the body must be application/json");
  const auto percent = parse_percent(req.body);
  if (!percent)
    return rep.error(400, "invalid_field", "percent must be a whole number between 0 and 100", "percent");
  c.engine.rollout_percent(msg::step_percent{*percent}, [rep](const msg::operator_reply* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else if (r->error == msg::operator_error::none)
      rep.send(200, rollout_json(r->view));
    else if (r->error == msg::operator_error::bad_request)
      rep.error(400, "invalid_field", r->message, "percent");
    else
      rep.error(status_of(r->error), r->error == msg::operator_error::not_allowed ? "conflict" : "not_found", r->message);
  });
}

/// `max_wait` of a drill: a whole number with a unit (ms, s, m or h), e.g. "90s"; false when malformed.
bool parse_drill_wait(const std::string& text, core::duration& out) {
  std::size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &pos);
  } catch (...) {
    return false;
  }
  const auto unit = text.substr(pos);
  if (v <= 0 || v > 24LL * 3600 * 1000)
    return false;
  if (unit == "ms")
    out = std::chrono::milliseconds(v);
  else if (unit == "s")
    out = std::chrono::seconds(v);
  else if (unit == "m")
    out = std::chrono::minutes(v);
  else if (unit == "h")
    out = std::chrono::hours(v);
  else
    return false;
  return true;
}

/// POST /v1/rollout/drill[?max_wait=90s]: a live rollback drill, answered when it has ended (200 with its record,
/// passed or failed); 409 where a drill makes no sense now, 400 for a max_wait out of bounds.
void drill(api_context& c, const request& req, const reply& rep) {
  msg::run_drill m;
  bool found = false;
  if (const auto text = req.query_param("max_wait", &found); found && !parse_drill_wait(text, m.max_wait))
    return rep.error(400, "invalid_parameter", "max_wait must be a duration such as 500ms, 90s or 5m", "max_wait");
  c.engine.drill(m, [rep](const msg::drill_reply* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else if (r->error == msg::operator_error::none)
      rep.send(200, drill_json(*r));
    else if (r->error == msg::operator_error::bad_request)
      rep.error(400, "invalid_parameter", r->message, "max_wait");
    else
      rep.error(status_of(r->error), "conflict", r->message);
  });
}

void decisions(api_context& c, const request& req, const reply& rep) {
  msg::load_decisions q;
  if (!limit_param(req, rep, q.limit))
    return;
  bool found = false;
  if (const auto since = req.query_param("since", &found); found && !core::parse_rfc3339(since, q.since))
    return rep.error(400, "invalid_parameter", "since must be an RFC 3339 time", "since");
  if (const auto before = req.query_param("before", &found); found) {
    try {
      q.before_id = std::stoll(before);
    } catch (...) {
      return rep.error(400, "invalid_parameter", "before must be a decision id", "before");
    }
  }
  c.engine.decisions(q, [rep](const msg::decision_list* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else
      rep.send(200, decisions_json(r->decisions));
  });
}

} // namespace

void add_rollout_routes(route_table& t, api_context& c) {
  t.add({"GET", "/v1/rollout", scope::read, small_body, [&c](auto& q, auto& r) { view(c, q, r); }});
  t.add({"GET", "/v1/rollout/decisions", scope::read, small_body, [&c](auto& q, auto& r) { decisions(c, q, r); }});
  for (const char* action : {"promote", "hold", "resume", "rollback"})
    t.add({"POST", std::string("/v1/rollout/") + action, scope::admin, small_body,
           [&c, action](auto&, auto& r) { act(c, r, action); }});
  t.add({"POST", "/v1/rollout/percent", scope::admin, small_body, [&c](auto& q, auto& r) { step_percent(c, q, r); }});
  t.add({"POST", "/v1/rollout/drill", scope::admin, small_body, [&c](auto& q, auto& r) { drill(c, q, r); }});
}

} // namespace cutover::http
