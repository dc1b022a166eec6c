#pragma once
/// The API's one route table: each route is declared once with its method, path pattern, required scope, body
/// limit and handler. The server looks a request up here before it reads the body, so the body limit of the
/// route is enforced while the body streams in.

#include "adapters/http/request.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::http {

/// What a caller's key must allow when `auth.keys_file` is set (without keys the engine listens on loopback only,
/// and only `admin` routes look at the caller: they need a loopback peer). `none`: open to anyone (health and
/// readiness); `metrics`: `read`, unless `auth.metrics_open`.
enum class scope { none, submit, read, admin, metrics };
std::string_view to_string(scope s);

/// Whose data a route touches. `tenant`: each tenant's own (jobs, feedback, dead letters, images), so a key tied to
/// a tenant may call it and sees only its tenant's; `global`: the engine's (budget, stats, rollout, decisions,
/// metrics, reload), open only to keys without a tenant (a tenant's key gets 403). Global unless declared.
enum class tenancy { global, tenant };

using handler = std::function<void(const request&, const reply&)>;

struct route {
  route(std::string m, std::string p, http::scope s, std::size_t limit, http::handler h,
        http::tenancy t = http::tenancy::global)
    : method(std::move(m)), pattern(std::move(p)), scope(s), body_limit(limit), handler(std::move(h)), tenancy(t) {}

  std::string method;  ///< "GET", "POST", ...
  std::string pattern; ///< e.g. "/v1/jobs/{id}/feedback"; a `{name}` matches one non-empty segment
  http::scope scope = scope::none;
  std::size_t body_limit = 0; ///< bytes; 0: the server's default (`server.max_body_bytes`)
  http::handler handler;
  http::tenancy tenancy;
};

class route_table {
public:
  void add(route r);

  struct match {
    const route* found = nullptr;    ///< null: no route for this method (see `allow`) or path
    std::vector<std::string> params; ///< the `{...}` segments, in order
    std::string allow;               ///< methods the path has, e.g. "GET, POST"; empty: unknown path
  };
  /// A trailing '/' is ignored ("/v1/jobs/" is "/v1/jobs").
  match find(std::string_view method, std::string_view path) const;

  const std::vector<route>& routes() const { return routes_; }

private:
  std::vector<route> routes_;
};

} // namespace cutover::http
