#include "adapters/http/server.hpp"
#include "core/log_line.hpp"

#include "adapters/http/listener.hpp"
#include "adapters/http/routes.hpp"

#include "core/metric_catalog.hpp"

#include <array>
#include <atomic>
#include <iostream>

namespace cutover::http {

namespace {

bool is_loopback(const std::string& peer) {
  return peer.rfind("127.", 0) == 0 || peer == "::1" || peer.rfind("::ffff:127.", 0) == 0;
}

/// cutover_http_responses_total of one route (its pattern, never the raw path: the series stay bounded): a slot per
/// status code, filled from the registry on the first answer with that code, then an atomic add.
class route_counter final : public answer_counter {
public:
  route_counter(core::metrics_ptr registry, std::string route, std::string method)
    : registry_(std::move(registry)), route_(std::move(route)), method_(std::move(method)) {
    for (auto& s : slots_)
      s.store(nullptr, std::memory_order_relaxed);
  }
  void count(int status) override {
    const auto i = static_cast<std::size_t>(status >= 100 && status <= 599 ? status - 100 : 499);
    auto* c = slots_[i].load(std::memory_order_acquire);
    if (c == nullptr) { // two threads may both look it up: the registry hands both the same counter
      c = &registry_->get_counter(core::metric::http_responses,
                                  {{"route", route_}, {"method", method_}, {"code", std::to_string(i + 100)}});
      slots_[i].store(c, std::memory_order_release);
    }
    c->add();
  }

private:
  core::metrics_ptr registry_;
  std::string route_, method_;
  std::array<std::atomic<core::counter*>, 500> slots_;
};

} // namespace

struct server::impl {
  server_options opts;
  engine_client engine;
  api_context ctx{opts, engine};
  route_table table;
  std::unique_ptr<listener> net;

  impl(caf::actor_system& sys, msg::intake_actor a, msg::jobs_store j, msg::audit_store au, msg::ledger_actor l,
       msg::rollout_actor r, server_options o)
    : opts(std::move(o)), engine(sys, std::move(a), std::move(j), std::move(au), std::move(l), std::move(r)) {
    add_operations_routes(table, ctx);
    add_job_routes(table, ctx);
    add_job_management_routes(table, ctx);
    add_openai_routes(table, ctx);
    add_image_routes(table, ctx);
    add_rollout_routes(table, ctx);
    add_admin_routes(table, ctx);
    add_console_routes(table);
    if (opts.registry) {
      for (const auto& r : table.routes())
        counters.push_back(std::make_shared<route_counter>(opts.registry, r.pattern, r.method));
      unmatched = std::make_shared<route_counter>(opts.registry, "unmatched", "any");
      preflight = std::make_shared<route_counter>(opts.registry, "preflight", "OPTIONS");
    }
  }

  std::vector<std::shared_ptr<route_counter>> counters; ///< by index in table.routes()
  std::shared_ptr<route_counter> unmatched, preflight;

  /// `raw` counted as the answer of route `r` (null: no route matched).
  reply counted(const reply& raw, const route* r, const std::shared_ptr<route_counter>& fallback) const {
    if (!opts.registry)
      return raw;
    if (r == nullptr)
      return raw.counted_by(fallback);
    return raw.counted_by(counters[static_cast<std::size_t>(r - table.routes().data())]);
  }

  /// Decided from the headers, before the body is read.
  std::size_t body_limit(std::string_view method, std::string_view path) const {
    const auto m = table.find(method, path);
    return m.found != nullptr && m.found->body_limit != 0 ? m.found->body_limit : opts.max_body_bytes;
  }

  /// With keys, the route's scope; without, admin calls from loopback peers only (the engine then listens on
  /// loopback, but a reverse proxy on the same host makes every client look local). false: refused (sent).
  bool authorize(const route& r, request& req, const reply& rep) const {
    const auto settings = opts.auth ? opts.auth->get() : nullptr;
    if (!settings || !settings->keys) {
      if (r.scope != scope::admin || is_loopback(req.peer))
        return true;
      rep.error(403, "forbidden", "admin calls are only open on loopback when no keys are configured");
      return false;
    }
    core::api_scope needed{};
    switch (r.scope) {
    case scope::none: return true;
    case scope::metrics:
      if (settings->metrics_open)
        return true;
      needed = core::api_scope::read;
      break;
    case scope::submit: needed = core::api_scope::submit; break;
    case scope::read: needed = core::api_scope::read; break;
    case scope::admin: needed = core::api_scope::admin; break;
    }
    auto verdict = check_key(*settings->keys, req.header("Authorization"), needed);
    if (verdict.status != 0) {
      header_list h;
      if (verdict.status == 401)
        h.emplace_back("WWW-Authenticate", "Bearer realm=\"cutover\"");
      rep.error(verdict.status, verdict.code, verdict.message, {}, std::move(h));
      return false;
    }
    if (!verdict.tenant.empty() && r.tenancy == tenancy::global) {
      rep.error(403, "forbidden",
                "the key " + verdict.key_name + " is tied to tenant " + verdict.tenant +
                  "; this route is the whole engine's and needs a key without a tenant");
      return false;
    }
    req.key_name = std::move(verdict.key_name);
    req.tenant = std::move(verdict.tenant);
    return true;
  }

  /// The Origin of a browser call that `cors.allow_origins` lets read the answer; empty otherwise.
  std::string allowed_origin(const request& req) const {
    if (opts.cors_origins.empty())
      return {};
    const auto origin = req.header("Origin");
    if (origin.empty())
      return {};
    for (const auto& o : opts.cors_origins)
      if (o == "*" || o == origin)
        return origin;
    return {};
  }

  void handle(request req, reply raw) {
    const auto origin = allowed_origin(req);
    auto m = table.find(req.method, req.path);
    const reply rep = counted(origin.empty() ? raw : raw.with_cors(origin), m.found,
                              !origin.empty() && req.method == "OPTIONS" ? preflight : unmatched);
    if (!origin.empty() && req.method == "OPTIONS") { // a preflight: what a browser may send
      rep.send(204, "", "application/json",
               {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                {"Access-Control-Allow-Headers", "Content-Type, Authorization, Idempotency-Key"},
                {"Access-Control-Max-Age", "600"}});
      return;
    }
    if (m.found == nullptr) {
      if (m.allow.empty())
        rep.error(404, "not_found", "no such path: " + req.path);
      else
        rep.error(405, "method_not_allowed", req.method + " is not allowed on " + req.path, {}, {{"Allow", m.allow}});
      return;
    }
    if (!authorize(*m.found, req, rep))
      return;
    if (!req.body.empty() && json_too_deep(req.body, opts.max_json_depth)) {
      rep.error(400, "json_too_deep", "the body nests deeper than " + std::to_string(opts.max_json_depth) + " levels");
      return;
    }
    req.params = std::move(m.params);
    m.found->handler(req, rep);
  }
};

server::server(caf::actor_system& sys, msg::intake_actor intake, msg::jobs_store jobs, msg::audit_store audit,
               msg::ledger_actor ledger, msg::rollout_actor rollout, server_options opts)
  : impl_(std::make_unique<impl>(sys, std::move(intake), std::move(jobs), std::move(audit), std::move(ledger),
                                 std::move(rollout), std::move(opts))) {}

server::~server() { close(); }

void server::open() {
  const auto& o = impl_->opts;
  listener_options lo;
  lo.listen = o.listen;
  lo.threads = o.threads;
  lo.max_headers = o.max_headers;
  lo.max_header_bytes = o.max_header_bytes;
  lo.header_timeout = o.header_timeout;
  lo.idle_timeout = o.idle_timeout;
  lo.max_connections = o.max_connections;
  lo.tls = o.tls;
  // every connection is a file descriptor; the store, logs and provider calls need some more
  constexpr std::size_t spare_files = 256;
  const auto files = raise_open_files_limit(o.max_connections + spare_files);
  if (files < o.max_connections + spare_files)
    core::log_line{} << "event=open_files_limit limit=" << files << " wanted=" << o.max_connections + spare_files;
  auto* self = impl_.get();
  impl_->net = std::make_unique<listener>(
    lo, [self](std::string_view method, std::string_view path) { return self->body_limit(method, path); },
    [self](request req, reply rep) { self->handle(std::move(req), std::move(rep)); });
  impl_->net->open();
}

const route_table& server::routes() const { return impl_->table; }

void server::close() {
  if (impl_->net)
    impl_->net->close();
  impl_->net.reset();
}

} // namespace cutover::http
