#include "adapters/http/admin_client.hpp"

#include <cpprest/http_client.h>

namespace cutover::http {

admin_answer post_admin(const std::string& base_url, const std::string& path, const std::string& key,
                        std::chrono::seconds timeout) {
  admin_answer out;
  try {
    web::http::client::http_client_config cfg;
    cfg.set_timeout(timeout);
    web::http::client::http_client client(base_url, cfg);
    web::http::http_request req(web::http::methods::POST);
    req.set_request_uri(path);
    if (!key.empty())
      req.headers().add("Authorization", "Bearer " + key);
    auto resp = client.request(req).get(); // a command-line tool: blocking is what it wants
    out.status = resp.status_code();
    out.body = resp.extract_utf8string(true).get();
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

} // namespace cutover::http
