#include "adapters/http/server.hpp"

#include "adapters/http/bridge.hpp"
#include "adapters/http/job_request.hpp"
#include "adapters/http/json_out.hpp"
#include "adapters/http/openai_compat.hpp"

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include <algorithm>
#include <cctype>

namespace cutover::http {

using web::http::http_request;
using web::http::http_response;
using web::http::methods;
using web::http::status_code;

namespace {

constexpr const char* json_type = "application/json";
/// Set by handle() on a request whose Origin may read the answer; send() turns it into the CORS headers.
constexpr const char* cors_mark = "X-Cutover-Cors-Origin";
/// The longest `GET /v1/jobs/{id}?wait=` honoured.
constexpr auto max_wait = std::chrono::seconds(60);

void send(const http_request& req, status_code code, std::string body, const char* type = json_type,
          std::vector<std::pair<std::string, std::string>> headers = {}) {
  http_response resp(code);
  for (auto& [k, v] : headers)
    resp.headers().add(k, v);
  const auto cors = req.headers().find(cors_mark);
  if (cors != req.headers().end()) {
    resp.headers().add("Access-Control-Allow-Origin", cors->second);
    resp.headers().add("Vary", "Origin");
  }
  resp.set_body(std::move(body), type);
  req.reply(resp).then([](pplx::task<void> t) {
    try {
      t.get();
    } catch (...) {
      // the client went away; nothing to do
    }
  });
}

void send_error(const http_request& req, status_code code, const std::string& err, const std::string& message,
                const std::string& field = {}, std::vector<std::pair<std::string, std::string>> headers = {}) {
  send(req, code, error_json(err, message, field), json_type, std::move(headers));
}

bool is_json_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t == "application/json";
}

/// `wait` as whole seconds ("30") or with a unit ("500ms", "30s"); false when malformed.
bool parse_wait(const std::string& text, std::chrono::microseconds& out) {
  std::size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &pos);
  } catch (...) {
    return false;
  }
  auto unit = text.substr(pos);
  if (v < 0)
    return false;
  if (unit.empty() || unit == "s")
    out = std::chrono::seconds(v);
  else if (unit == "ms")
    out = std::chrono::milliseconds(v);
  else
    return false;
  out = std::min<std::chrono::microseconds>(out, max_wait);
  return true;
}

} // namespace

void init_http_threads(std::size_t threads) { crossplat::threadpool::initialize_with_threads(threads); }

struct server::impl {
  server_options opts;
  engine_client engine;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener;

  impl(caf::actor_system& sys, msg::intake_actor a, msg::jobs_store j, msg::audit_store au, msg::ledger_actor l,
       msg::rollout_actor r, server_options o)
    : opts(std::move(o)), engine(sys, std::move(a), std::move(j), std::move(au), std::move(l), std::move(r)) {}

  /// Admin calls need a configured key, or, when none is configured, a caller on loopback. false: refused (sent).
  bool admin(const http_request& req) {
    if (opts.admin_keys.empty()) {
      const auto peer = req.remote_address();
      if (peer == "127.0.0.1" || peer == "::1" || peer == "::ffff:127.0.0.1" || peer.empty())
        return true;
      send_error(req, status_code(403), "forbidden", "admin calls are only open on loopback when no keys are configured");
      return false;
    }
    const auto& h = req.headers();
    auto it = h.find("Authorization");
    const std::string given = it == h.end() ? std::string{} : it->second;
    for (const auto& k : opts.admin_keys)
      if (given == "Bearer " + k)
        return true;
    send_error(req, status_code(given.empty() ? 401 : 403), given.empty() ? "unauthorized" : "forbidden",
               "an admin key is required: Authorization: Bearer <key>");
    return false;
  }

  /// The Origin of a browser call that `cors.allow_origins` lets read the answer; empty otherwise.
  std::string allowed_origin(const http_request& req) const {
    const auto it = req.headers().find("Origin");
    if (it == req.headers().end() || opts.cors_origins.empty())
      return {};
    for (const auto& o : opts.cors_origins)
      if (o == "*" || o == it->second)
        return it->second;
    return {};
  }

  void handle(http_request req) {
    const auto path = req.relative_uri().path();
    const auto& method = req.method();
    req.headers().remove(cors_mark); // only ever set here
    if (const auto origin = allowed_origin(req); !origin.empty()) {
      req.headers().add(cors_mark, origin);
      if (method == methods::OPTIONS) { // a preflight: what a browser may send
        send(req, status_code(204), "", json_type,
             {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
              {"Access-Control-Allow-Headers", "Content-Type, Authorization, Idempotency-Key"},
              {"Access-Control-Max-Age", "600"}});
        return;
      }
    }
    auto only = [&](const web::http::method& m, const char* allow) {
      if (method == m)
        return true;
      send_error(req, status_code(405), "method_not_allowed", method + " is not allowed on " + path, "",
                 {{"Allow", allow}});
      return false;
    };
    if (path == "/healthz") {
      if (only(methods::GET, "GET"))
        send(req, status_code(200), R"({"status":"ok"})");
    } else if (path == "/readyz") {
      if (only(methods::GET, "GET")) {
        auto [status, body] = opts.readiness ? opts.readiness()
                                             : std::pair<int, std::string>{200, R"({"status":"ok","checks":{}})"};
        send(req, status_code(status), std::move(body));
      }
    } else if (path == "/metrics") {
      if (only(methods::GET, "GET"))
        send(req, status_code(200), opts.metrics ? opts.metrics() : std::string{}, "text/plain; version=0.0.4");
    } else if (path == "/v1/jobs" || path == "/v1/jobs/") {
      if (only(methods::POST, "POST"))
        submit(std::move(req));
    } else if (path.rfind("/v1/jobs/", 0) == 0 && path.size() > 18 &&
               path.compare(path.size() - 9, 9, "/feedback") == 0) {
      if (only(methods::POST, "POST"))
        feedback(std::move(req), path.substr(9, path.size() - 9 - 9));
    } else if (path.rfind("/v1/jobs/", 0) == 0) {
      if (only(methods::GET, "GET"))
        lookup(std::move(req), path.substr(9));
    } else if (path == "/v1/rollout") {
      if (only(methods::GET, "GET"))
        rollout(std::move(req));
    } else if (path == "/v1/rollout/decisions") {
      if (only(methods::GET, "GET"))
        decisions(std::move(req));
    } else if (path == "/v1/rollout/promote" || path == "/v1/rollout/hold" || path == "/v1/rollout/resume" ||
               path == "/v1/rollout/rollback") {
      if (only(methods::POST, "POST") && admin(req))
        rollout_action(std::move(req), path.substr(12));
    } else if (path == "/v1/rollout/percent") {
      if (only(methods::POST, "POST") && admin(req))
        rollout_percent(std::move(req));
    } else if (path == "/v1/admin/reload") {
      if (only(methods::POST, "POST") && admin(req)) {
        auto [status, body] = opts.reload ? opts.reload() : std::pair<int, std::string>{503, error_json("unavailable", "reload is not wired", "")};
        send(req, status_code(status), std::move(body));
      }
    } else if (path == "/v1/images/generations") {
      if (only(methods::POST, "POST"))
        openai_generate(std::move(req));
    } else if (path == "/v1/budget") {
      if (only(methods::GET, "GET"))
        budget(std::move(req));
    } else if (path == "/v1/stats/daily") {
      if (only(methods::GET, "GET"))
        daily_stats(std::move(req));
    } else if (path == "/v1/dead-letters") {
      if (only(methods::GET, "GET"))
        dead_letters(std::move(req));
    } else if (path.rfind("/v1/dead-letters/", 0) == 0 && path.size() > 24 &&
               path.compare(path.size() - 7, 7, "/replay") == 0) {
      if (only(methods::POST, "POST"))
        replay(std::move(req), path.substr(17, path.size() - 17 - 7));
    } else {
      send_error(req, status_code(404), "not_found", "no such path: " + path);
    }
  }

  void submit(http_request req) {
    const auto& headers = req.headers();
    if (!is_json_type(headers.content_type())) {
      send_error(req, status_code(415), "unsupported_media_type",
                 "the body must be application/json, got \"" + headers.content_type() + "\"");
      return;
    }
    if (headers.content_length() > opts.max_body_bytes) {
      send_error(req, status_code(413), "body_too_large",
                 "the body is larger than " + std::to_string(opts.max_body_bytes) + " bytes");
      return;
    }
    std::string key;
    if (auto it = headers.find("Idempotency-Key"); it != headers.end()) {
      key = it->second;
      if (!valid_idempotency_key(key)) {
        send_error(req, status_code(400), "invalid_header", "Idempotency-Key must be 1 to 255 visible ASCII characters",
                   "Idempotency-Key");
        return;
      }
    }
    req.extract_string(true).then([this, req, key](pplx::task<std::string> t) {
      std::string body;
      try {
        body = t.get();
      } catch (const std::exception& e) {
        send_error(req, status_code(400), "unreadable_body", e.what());
        return;
      }
      if (body.size() > opts.max_body_bytes) {
        send_error(req, status_code(413), "body_too_large",
                   "the body is larger than " + std::to_string(opts.max_body_bytes) + " bytes");
        return;
      }
      auto parsed = parse_job_request(body);
      if (auto* err = std::get_if<request_error>(&parsed)) {
        send_error(req, status_code(err->status), err->code, err->message, err->field);
        return;
      }
      auto& job = std::get<parsed_job>(parsed);
      engine.submit(msg::submit_job{std::move(job.spec), key, std::move(job.body_hash)},
                    [req](const msg::submit_reply* r, const std::string& error) {
                      if (r == nullptr) {
                        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "",
                                   {{"Retry-After", "1"}});
                        return;
                      }
                      if (r->http_status == 202) {
                        std::vector<std::pair<std::string, std::string>> h{{"Location", "/v1/jobs/" + core::to_string(r->id)}};
                        if (r->replayed)
                          h.emplace_back("Idempotent-Replayed", "true");
                        send(req, status_code(202), accepted_json(r->id, r->status), json_type, std::move(h));
                        return;
                      }
                      std::vector<std::pair<std::string, std::string>> h;
                      if (r->http_status == 429)
                        h.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, r->retry_after_s)));
                      if (r->http_status == 409 || r->http_status == 503)
                        h.emplace_back("Retry-After", "1");
                      send_error(req, status_code(r->http_status), r->error_code, r->message, "", std::move(h));
                    });
    });
  }

  /// OpenAI-compatible: the job is submitted as any other, and the answer waits until it is final.
  void openai_generate(http_request req) {
    const auto& headers = req.headers();
    auto openai_error = [](const http_request& r, int status, const std::string& message, const std::string& type,
                           const std::string& param, const std::string& code) {
      send(r, status_code(status), openai_error_json(message, type, param, code));
    };
    if (!is_json_type(headers.content_type())) {
      openai_error(req, 415, "the body must be application/json", "invalid_request_error", "", "unsupported_media_type");
      return;
    }
    if (headers.content_length() > opts.max_body_bytes) {
      openai_error(req, 413, "the body is too large", "invalid_request_error", "", "body_too_large");
      return;
    }
    std::string key;
    if (auto it = headers.find("Idempotency-Key"); it != headers.end() && valid_idempotency_key(it->second))
      key = it->second;
    req.extract_string(true).then([this, req, key, openai_error](pplx::task<std::string> t) {
      std::string body;
      try {
        body = t.get();
      } catch (const std::exception& e) {
        openai_error(req, 400, e.what(), "invalid_request_error", "", "unreadable_body");
        return;
      }
      auto parsed = parse_openai_request(body);
      if (auto* err = std::get_if<request_error>(&parsed)) {
        openai_error(req, err->status, err->message, "invalid_request_error", err->field, err->code);
        return;
      }
      auto& job = std::get<parsed_job>(parsed);
      engine.submit(msg::submit_job{std::move(job.spec), key, std::move(job.body_hash)},
                    [this, req, openai_error](const msg::submit_reply* r, const std::string& error) {
                      if (r == nullptr || r->http_status != 202) {
                        openai_error(req, r ? r->http_status : 503, r ? r->message : error, "server_error", "",
                                     r ? r->error_code : "unavailable");
                        return;
                      }
                      engine.lookup(msg::await_job{r->id, std::chrono::seconds(120)},
                                    [req, openai_error](const msg::job_lookup* l, const std::string& err) {
                                      if (l == nullptr || !l->found) {
                                        openai_error(req, 503, l ? "the job disappeared" : err, "server_error", "",
                                                     "unavailable");
                                        return;
                                      }
                                      const auto& job = l->job;
                                      if (job.status == core::job_status::succeeded)
                                        send(req, status_code(200), openai_images_json(job));
                                      else if (!core::is_final(job.status))
                                        openai_error(req, 504, "job " + core::to_string(job.id) +
                                                                 " is still running; GET /v1/jobs/" +
                                                                 core::to_string(job.id) + " for its result",
                                                     "server_error", "", "timeout");
                                      else if (job.error.find("content_policy") != std::string::npos)
                                        openai_error(req, 400, job.error, "invalid_request_error", "prompt",
                                                     "content_policy_violation");
                                      else
                                        openai_error(req, 502, job.error, "server_error", "", "upstream_failed");
                                    });
                    });
    });
  }

  /// `?days=N` (1..90, default 7); false (and a 400 sent) when malformed.
  static bool days_param(const http_request& req, int& days) {
    auto params = web::uri::split_query(req.request_uri().query());
    auto it = params.find("days");
    if (it == params.end())
      return true;
    try {
      days = std::stoi(it->second);
    } catch (...) {
      days = 0;
    }
    if (days >= 1 && days <= 90)
      return true;
    send_error(req, status_code(400), "invalid_parameter", "days must be between 1 and 90", "days");
    return false;
  }

  void budget(http_request req) {
    msg::budget_query q;
    if (!days_param(req, q.days))
      return;
    engine.budget(q, [req](const msg::budget_report* r, const std::string& error) {
      if (r == nullptr) {
        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
        return;
      }
      send(req, status_code(200), budget_json(*r));
    });
  }

  void daily_stats(http_request req) {
    msg::stats_query q;
    if (!days_param(req, q.days))
      return;
    engine.daily_stats(q, [req](const msg::daily_stats* r, const std::string& error) {
      if (r == nullptr) {
        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
        return;
      }
      send(req, status_code(200), daily_stats_json(r->stats));
    });
  }

  void rollout(http_request req) {
    engine.rollout([req](const msg::rollout_view_reply* r, const std::string& error) {
      if (r == nullptr)
        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
      else
        send(req, status_code(200), rollout_json(*r));
    });
  }

  void rollout_action(http_request req, const std::string& action) {
    engine.rollout_action(msg::operator_action{action}, [req](const msg::operator_reply* r, const std::string& error) {
      if (r == nullptr)
        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
      else if (r->http_status == 200)
        send(req, status_code(200), rollout_json(r->view));
      else
        send_error(req, status_code(r->http_status), r->http_status == 409 ? "conflict" : "not_found", r->message);
    });
  }

  /// POST /v1/rollout/percent {"percent": N}: the controller decides (200 / 400 no such phase / 409 raising).
  void rollout_percent(http_request req) {
    if (!is_json_type(req.headers().content_type())) {
      send_error(req, status_code(415), "unsupported_media_type", "the body must be application/json");
      return;
    }
    req.extract_string(true).then([this, req](pplx::task<std::string> t) {
      int percent = -1;
      try {
        std::error_code ec;
        auto v = web::json::value::parse(t.get(), ec);
        if (!ec && v.is_object() && v.has_field("percent") && v.at("percent").is_integer()) {
          const auto n = v.at("percent").as_number();
          if (n.is_int32())
            percent = n.to_int32();
        }
      } catch (...) {
      }
      if (percent < 0 || percent > 100) {
        send_error(req, status_code(400), "invalid_field", "percent must be a whole number between 0 and 100", "percent");
        return;
      }
      engine.rollout_percent(msg::step_percent{percent}, [req](const msg::operator_reply* r, const std::string& error) {
        if (r == nullptr)
          send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
        else if (r->http_status == 200)
          send(req, status_code(200), rollout_json(r->view));
        else if (r->http_status == 400)
          send_error(req, status_code(400), "invalid_field", r->message, "percent");
        else
          send_error(req, status_code(r->http_status), "conflict", r->message);
      });
    });
  }

  void decisions(http_request req) {
    msg::load_decisions q;
    auto params = web::uri::split_query(req.request_uri().query());
    if (auto it = params.find("limit"); it != params.end()) {
      try {
        q.limit = static_cast<std::size_t>(std::stoul(it->second));
      } catch (...) {
        q.limit = 0;
      }
      if (q.limit < 1 || q.limit > 1000) {
        send_error(req, status_code(400), "invalid_parameter", "limit must be between 1 and 1000", "limit");
        return;
      }
    }
    if (auto it = params.find("since"); it != params.end() && !core::parse_rfc3339(web::uri::decode(it->second), q.since)) {
      send_error(req, status_code(400), "invalid_parameter", "since must be an RFC 3339 time", "since");
      return;
    }
    if (auto it = params.find("before"); it != params.end()) {
      try {
        q.before_id = std::stoll(it->second);
      } catch (...) {
        send_error(req, status_code(400), "invalid_parameter", "before must be a decision id", "before");
        return;
      }
    }
    engine.decisions(q, [req](const msg::decision_list* r, const std::string& error) {
      if (r == nullptr)
        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
      else
        send(req, status_code(200), decisions_json(r->decisions));
    });
  }

  void feedback(http_request req, const std::string& id_text) {
    core::job_id id;
    if (!core::parse_job_id(id_text, id)) {
      send_error(req, status_code(404), "not_found", "no job " + id_text);
      return;
    }
    if (!is_json_type(req.headers().content_type())) {
      send_error(req, status_code(415), "unsupported_media_type", "the body must be application/json");
      return;
    }
    req.extract_string(true).then([this, req, id, id_text](pplx::task<std::string> t) {
      double quality = -1;
      try {
        std::error_code ec;
        auto v = web::json::value::parse(t.get(), ec);
        if (!ec && v.is_object() && v.has_field("quality") && v.at("quality").is_number())
          quality = v.at("quality").as_double();
      } catch (...) {
      }
      if (quality < 0 || quality > 1) {
        send_error(req, status_code(400), "invalid_field", "quality must be a number between 0 and 1", "quality");
        return;
      }
      engine.rate(msg::rate_job{id, quality}, [req, id_text](const msg::rated* r, const std::string& error) {
        if (r == nullptr)
          send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
        else if (!r->found)
          send_error(req, status_code(404), "not_found", "no job " + id_text);
        else
          send(req, status_code(204), "");
      });
    });
  }

  void dead_letters(http_request req) {
    msg::list_dead_letters query;
    auto params = web::uri::split_query(req.request_uri().query());
    if (auto it = params.find("limit"); it != params.end()) {
      try {
        query.limit = static_cast<std::size_t>(std::stoul(it->second));
      } catch (...) {
        query.limit = 0;
      }
      if (query.limit < 1 || query.limit > 1000) {
        send_error(req, status_code(400), "invalid_parameter", "limit must be between 1 and 1000", "limit");
        return;
      }
    }
    engine.dead_letters(query, [req](const msg::job_list* r, const std::string& error) {
      if (r == nullptr) {
        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
        return;
      }
      std::string body = "{\"dead_letters\":[";
      for (std::size_t i = 0; i < r->jobs.size(); ++i) {
        if (i > 0)
          body += ',';
        body += job_json(r->jobs[i]);
      }
      body += "]}";
      send(req, status_code(200), std::move(body));
    });
  }

  void replay(http_request req, const std::string& id_text) {
    core::job_id id;
    if (!core::parse_job_id(id_text, id)) {
      send_error(req, status_code(404), "not_found", "no job " + id_text);
      return;
    }
    engine.replay(msg::replay_dead_letter{id}, [req, id](const msg::replay_reply* r, const std::string& error) {
      if (r == nullptr)
        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "", {{"Retry-After", "1"}});
      else if (r->http_status == 202)
        send(req, status_code(200), accepted_json(id, core::job_status::queued), json_type,
             {{"Location", "/v1/jobs/" + core::to_string(id)}});
      else
        send_error(req, status_code(r->http_status), r->error_code, r->message);
    });
  }

  void lookup(http_request req, const std::string& id_text) {
    core::job_id id;
    if (!core::parse_job_id(id_text, id)) {
      send_error(req, status_code(404), "not_found", "no job " + id_text);
      return;
    }
    msg::await_job query{id, {}};
    auto params = web::uri::split_query(req.request_uri().query());
    if (auto it = params.find("wait"); it != params.end() && !parse_wait(it->second, query.wait)) {
      send_error(req, status_code(400), "invalid_parameter", "wait must be seconds, e.g. 30 or 30s or 500ms", "wait");
      return;
    }
    engine.lookup(query, [req, id_text](const msg::job_lookup* r, const std::string& error) {
      if (r == nullptr)
        send_error(req, status_code(503), "unavailable", "the engine did not answer: " + error, "",
                   {{"Retry-After", "1"}});
      else if (!r->found)
        send_error(req, status_code(404), "not_found", "no job " + id_text);
      else
        send(req, status_code(200), job_json(r->job));
    });
  }
};

server::server(caf::actor_system& sys, msg::intake_actor intake, msg::jobs_store jobs, msg::audit_store audit,
               msg::ledger_actor ledger, msg::rollout_actor rollout, server_options opts)
  : impl_(std::make_unique<impl>(sys, std::move(intake), std::move(jobs), std::move(audit), std::move(ledger),
                                 std::move(rollout), std::move(opts))) {}

server::~server() { close(); }

void server::open() {
  auto uri = "http://" + impl_->opts.listen;
  impl_->listener = std::make_unique<web::http::experimental::listener::http_listener>(uri);
  impl_->listener->support([this](http_request req) { impl_->handle(std::move(req)); });
  // cpprestsdk answers OPTIONS itself unless it has a handler for that method: CORS preflights are ours
  impl_->listener->support(methods::OPTIONS, [this](http_request req) { impl_->handle(std::move(req)); });
  try {
    impl_->listener->open().wait(); // start-up only, on the main thread
  } catch (const std::exception& e) {
    impl_->listener.reset();
    throw std::runtime_error("cannot listen on " + impl_->opts.listen + ": " + e.what());
  }
}

void server::close() {
  if (!impl_->listener)
    return;
  try {
    impl_->listener->close().wait();
  } catch (...) {
  }
  impl_->listener.reset();
}

} // namespace cutover::http
