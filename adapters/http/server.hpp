#pragma once
/// The HTTP API over cpprestsdk's listener: a thin translation from requests to intake messages and back.
/// Handlers never block: each hands its message to the intake bridge and replies from the callback.

#include "messages/budget.hpp"
#include "messages/intake.hpp"
#include "messages/rollout.hpp"
#include "messages/audit_store.hpp"
#include "messages/jobs_store.hpp"

#include <functional>
#include <memory>
#include <string>

namespace caf { class actor_system; }

namespace cutover::http {

struct server_options {
  std::string listen = "127.0.0.1:8080"; ///< HOST:PORT
  std::size_t max_body_bytes = 65536;
  /// Prometheus text for GET /metrics (may be empty).
  std::function<std::string()> metrics;
  /// POST /v1/admin/reload: re-reads the configuration; answers the status and JSON body.
  std::function<std::pair<int, std::string>()> reload;
  /// GET /readyz: the status and JSON body (`{"status": "ok"|"degraded"|"unavailable", "checks": {...}}`).
  std::function<std::pair<int, std::string>()> readiness;
  /// Keys accepted for admin calls (`Authorization: Bearer KEY`); empty: admin calls only from loopback.
  std::vector<std::string> admin_keys;
  /// Browser origins allowed to call the API (`cors.allow_origins`; "*" = any); empty: no CORS headers.
  std::vector<std::string> cors_origins;
};

/// Call once, first thing in main, before any listener or client exists: sizes cpprestsdk's task pool.
void init_http_threads(std::size_t threads);

class server {
public:
  server(caf::actor_system& sys, msg::intake_actor intake, msg::jobs_store jobs, msg::audit_store audit,
         msg::ledger_actor ledger, msg::rollout_actor rollout, server_options opts);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Starts listening; throws std::runtime_error when the address cannot be bound.
  void open();
  /// Stops listening (requests in progress still get their answers).
  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace cutover::http
