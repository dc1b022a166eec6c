// /v1/admin: configuration reload (admin).

#include "adapters/http/json_out.hpp"
#include "adapters/http/routes.hpp"

namespace cutover::http {

void add_admin_routes(route_table& t, api_context& c) {
  t.add({"POST", "/v1/admin/reload", scope::admin, small_body, [&c](auto&, auto& rep) {
           if (!c.opts.reload)
             return rep.error(503, "unavailable", "reload is not wired");
           const auto outcome = c.opts.reload();
           if (outcome.applied) {
             std::string body = "{\"status\":\"reloaded\",\"config_hash\":";
             append_json_string(body, outcome.config_hash);
             return rep.send(200, body + "}");
           }
           std::string body = "{\"error\":{\"code\":\"invalid_config\",\"message\":\"the configuration was not "
                              "reloaded; nothing changed\",\"errors\":[";
           for (std::size_t i = 0; i < outcome.errors.size(); ++i) {
             body += (i ? "," : "");
             append_json_string(body, outcome.errors[i]);
           }
           rep.send(422, body + "]}}");
         }});
}

} // namespace cutover::http
