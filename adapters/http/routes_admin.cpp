// /v1/admin: configuration reload (admin).

#include "adapters/http/json_out.hpp"
#include "adapters/http/routes.hpp"

namespace cutover::http {

void add_admin_routes(route_table& t, api_context& c) {
  t.add({"POST", "/v1/admin/reload", scope::admin, small_body, [&c](auto&, auto& rep) {
           auto [status, body] = c.opts.reload
                                   ? c.opts.reload()
                                   : std::pair<int, std::string>{503, error_json("unavailable", "reload is not wired", "")};
           rep.send(status, std::move(body));
         }});
}

} // namespace cutover::http
