// GET /console: the operator console, one page and its scripts, served from the files built into the binary. Open
// to anyone like /healthz: the files hold no data; the page asks for a key and calls the API with it.

#include "adapters/http/console_assets.hpp"
#include "adapters/http/routes.hpp"

namespace cutover::http {

namespace {

/// The page loads nothing from elsewhere and runs no inline script; it may only call this engine.
const header_list console_headers = {
  {"Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                              "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"},
  {"X-Content-Type-Options", "nosniff"},
  {"Referrer-Policy", "no-referrer"},
  {"Cache-Control", "no-cache"},
};

void serve_file(std::string_view name, const reply& rep) {
  for (const auto& a : console_assets())
    if (a.name == name)
      return rep.send(200, std::string{a.body}, std::string{a.content_type}, console_headers);
  rep.error(404, "not_found", "the console has no file " + std::string{name});
}

} // namespace

void add_console_routes(route_table& t) {
  t.add({"GET", "/console", scope::none, small_body, [](auto&, auto& rep) { serve_file("index.html", rep); }});
  t.add({"GET", "/console/{file}", scope::none, small_body, [](auto& q, auto& rep) { serve_file(q.params[0], rep); }});
}

} // namespace cutover::http
