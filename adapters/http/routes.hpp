#pragma once
/// What the API's resource files share: the context their handlers run in, the functions that declare each
/// resource's routes, and the one place where the engine's error values become HTTP statuses.

#include "adapters/http/bridge.hpp"
#include "adapters/http/route_table.hpp"
#include "adapters/http/server.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace cutover::http {

/// Bodies of routes that take none or a few fields (GETs, operator actions, feedback).
constexpr std::size_t small_body = 4096;

struct api_context {
  const server_options& opts;
  engine_client& engine;
};

void add_job_routes(route_table& t, api_context& c);        ///< /v1/jobs...
void add_job_management_routes(route_table& t, api_context& c); ///< list, cancel, a user's erasure
void add_rollout_routes(route_table& t, api_context& c);    ///< /v1/rollout...
void add_admin_routes(route_table& t, api_context& c);      ///< /v1/admin/...
void add_openai_routes(route_table& t, api_context& c);     ///< /v1/images/generations
void add_operations_routes(route_table& t, api_context& c); ///< health, readiness, metrics, budget, stats, dead letters
void add_image_routes(route_table& t, api_context& c);      ///< /v1/images/{sha256} (signed URLs)
void add_console_routes(route_table& t);                    ///< /console: the operator console's page and scripts

// --- the engine's errors as HTTP statuses (only here)
int status_of(msg::submit_error e);
/// The Retry-After (whole seconds) a refused submission carries: when the user's rate or the first provider of the
/// job's chain admits again, 1 for a passing state (draining, store, a repeat in progress); 0: none (accepted, or
/// a request that will never pass as it is).
std::int64_t retry_after_of(const msg::submit_reply& r);
int status_of(msg::replay_error e);
int status_of(msg::cancel_error e);
int status_of(msg::operator_error e);

// --- small parsers shared by handlers
/// `application/json`, with or without parameters, any case.
bool is_json_type(const std::string& content_type);
/// `wait` as whole seconds ("30") or with a unit ("500ms", "30s"), capped at 60 s; false when malformed.
bool parse_wait(const std::string& text, std::chrono::microseconds& out);
/// `?days=N` (1..90, default 7) into `days`; false (and a 400 sent) when malformed.
bool days_param(const request& req, const reply& rep, int& days);
/// Whether `body` nests arrays and objects deeper than `max` levels (inside strings nothing counts); a cheap scan
/// done before any JSON parser recurses into the body.
bool json_too_deep(std::string_view body, std::size_t max);
/// `?limit=N` (1..1000) into `limit` when present; false (and a 400 sent) when malformed.
bool limit_param(const request& req, const reply& rep, std::size_t& limit);

} // namespace cutover::http
