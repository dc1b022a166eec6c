// What operators watch: liveness, readiness, metrics, budget, daily stats, dead letters (and their replay).

#include "adapters/http/json_out.hpp"
#include "adapters/http/routes.hpp"

namespace cutover::http {

namespace {

void budget(api_context& c, const request& req, const reply& rep) {
  msg::budget_query q;
  if (!days_param(req, rep, q.days))
    return;
  c.engine.budget(q, [rep](const msg::budget_report* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else
      rep.send(200, budget_json(*r));
  });
}

void daily_stats(api_context& c, const request& req, const reply& rep) {
  msg::stats_query q;
  if (!days_param(req, rep, q.days))
    return;
  c.engine.daily_stats(q, [rep](const msg::daily_stats* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else
      rep.send(200, daily_stats_json(r->stats));
  });
}

void dead_letters(api_context& c, const request& req, const reply& rep) {
  msg::list_dead_letters query;
  query.tenant = req.tenant;
  if (!limit_param(req, rep, query.limit))
    return;
  c.engine.dead_letters(query, [rep](const msg::job_list* r, const std::string& error) {
    if (r == nullptr)
      return rep.unavailable(error);
    std::string body = "{\"dead_letters\":[";
    for (std::size_t i = 0; i < r->jobs.size(); ++i) {
      if (i > 0)
        body += ',';
      body += job_json(r->jobs[i]);
    }
    body += "]}";
    rep.send(200, std::move(body));
  });
}

void replay(api_context& c, const request& req, const reply& rep) {
  const auto& id_text = req.params[0];
  core::job_id id;
  if (!core::parse_job_id(id_text, id))
    return rep.error(404, "not_found", "no job " + id_text);
  c.engine.replay(msg::replay_dead_letter{id, req.tenant}, [rep, id](const msg::replay_reply* r, const std::string& error) {
    if (r == nullptr)
      rep.unavailable(error);
    else if (r->error == msg::replay_error::none)
      rep.send(200, accepted_json(id, core::job_status::queued), "application/json",
               {{"Location", "/v1/jobs/" + core::to_string(id)}});
    else
      rep.error(status_of(r->error), to_string(r->error), r->message);
  });
}

void send_readiness(const reply& rep, const readiness_report& report) {
  std::string body = "{\"status\":";
  append_json_string(body, report.status);
  body += ",\"checks\":{";
  for (std::size_t i = 0; i < report.checks.size(); ++i) {
    body += (i ? "," : "");
    append_json_string(body, report.checks[i].first);
    body += ':';
    append_json_string(body, report.checks[i].second);
  }
  rep.send(report.status == "unavailable" ? 503 : 200, body + "}}");
}

void readiness(api_context& c, const reply& rep) {
  if (!c.opts.readiness)
    return send_readiness(rep, readiness_report{});
  c.engine.admissibility([&c, rep](const msg::admissibility_update* view, const std::string&) {
    send_readiness(rep, c.opts.readiness(view));
  });
}

} // namespace

void add_operations_routes(route_table& t, api_context& c) {
  t.add({"GET", "/healthz", scope::none, small_body, [](auto&, auto& rep) { rep.send(200, R"({"status":"ok"})"); }});
  t.add({"GET", "/readyz", scope::none, small_body, [&c](auto&, auto& rep) { readiness(c, rep); }});
  t.add({"GET", "/metrics", scope::metrics, small_body, [&c](auto&, auto& rep) {
           rep.send(200, c.opts.metrics ? c.opts.metrics() : std::string{}, "text/plain; version=0.0.4");
         }});
  t.add({"GET", "/v1/budget", scope::read, small_body, [&c](auto& q, auto& r) { budget(c, q, r); }});
  t.add({"GET", "/v1/stats/daily", scope::read, small_body, [&c](auto& q, auto& r) { daily_stats(c, q, r); }});
  t.add({"GET", "/v1/dead-letters", scope::read, small_body, [&c](auto& q, auto& r) { dead_letters(c, q, r); },
         tenancy::tenant});
  t.add({"POST", "/v1/dead-letters/{id}/replay", scope::admin, small_body, [&c](auto& q, auto& r) { replay(c, q, r); },
         tenancy::tenant});
}

} // namespace cutover::http
