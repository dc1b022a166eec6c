#pragma once
/// The engine's HTTP API: the route table (adapters/http/routes_*.cpp, one file per resource) served by the
/// listener. Handlers never block: each hands its message to the engine bridge and replies from the callback.

#include "adapters/http/auth.hpp"
#include "adapters/http/image_access.hpp"
#include "adapters/http/route_table.hpp"
#include "adapters/http/tls.hpp"
#include "core/metrics.hpp"
#include "messages/budget.hpp"
#include "messages/intake.hpp"
#include "messages/rollout.hpp"
#include "messages/audit_store.hpp"
#include "messages/jobs_store.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace caf { class actor_system; }

namespace cutover::http {

/// A configuration reload: applied (with the new snapshot's hash), or refused with every error, nothing changed.
struct reload_outcome {
  bool applied = false;
  std::string config_hash;
  std::vector<std::string> errors;
};

/// Readiness: "ok", "degraded" (serving on fallback) or "unavailable" (draining), with one check per name.
struct readiness_report {
  std::string status = "ok";
  std::vector<std::pair<std::string, std::string>> checks;
};

struct server_options {
  std::string listen = "127.0.0.1:8080"; ///< HOST:PORT
  std::size_t max_body_bytes = 65536;    ///< routes that take a JSON body; enforced while it is read
  std::size_t threads = 2;               ///< the listener's I/O threads
  std::size_t max_headers = 100;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_json_depth = 32;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 4096;
  /// `server.tls`, loaded (load_tls); null: plain HTTP.
  std::shared_ptr<tls_context> tls;
  /// Prometheus text for GET /metrics (may be empty).
  std::function<std::string()> metrics;
  /// Where answers are counted by route pattern and code (cutover_http_responses_total); null: not counted.
  core::metrics_ptr registry;
  /// POST /v1/admin/reload: re-reads the configuration.
  std::function<reload_outcome()> reload;
  /// GET /readyz, from the ledger's admissibility view (null when the ledger did not answer): the same view by
  /// which intake refuses jobs no provider can take.
  std::function<readiness_report(const msg::admissibility_update* view)> readiness;
  /// The API keys in force (a reload swaps them); null or without keys: no key is asked, admin calls only from
  /// loopback peers.
  std::shared_ptr<auth_gate> auth;
  /// Result images: their files, how URLs are signed, and the clock; null: results show what the store holds and
  /// GET /v1/images answers 404.
  std::shared_ptr<const image_access> images;
  /// Browser origins allowed to call the API (`cors.allow_origins`; "*" = any); empty: no CORS headers.
  std::vector<std::string> cors_origins;
};

/// Call once, first thing in main, before any webhook or image-download client exists: sizes cpprestsdk's task
/// pool (those two still go through cpprestsdk's client; provider calls have a Beast client of their own).
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
  /// Stops listening and ends the I/O threads.
  void close();
  /// Every route the API declares (tests walk it so that no route escapes a check).
  const route_table& routes() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace cutover::http
