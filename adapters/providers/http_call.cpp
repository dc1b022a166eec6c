#include "adapters/providers/http_call.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace cutover::providers::detail {

std::string http_result::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

void send(web::http::client::http_client& client, web::http::http_request req,
          std::function<void(http_result)> done) {
  auto shared_done = std::make_shared<std::function<void(http_result)>>(std::move(done));
  client.request(req)
    .then([](web::http::http_response resp) {
      http_result r;
      r.status = resp.status_code();
      for (const auto& h : resp.headers()) {
        std::string name = h.first;
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        r.headers[name] = h.second;
      }
      return resp.extract_string(true).then([r](pplx::task<std::string> t) mutable {
        try {
          r.body = t.get();
        } catch (const std::exception& e) {
          r.status = 0;
          r.transport_error = core::error_class::server;
          r.transport_message = std::string{"reading the answer failed: "} + e.what();
        }
        return r;
      });
    })
    .then([shared_done](pplx::task<http_result> t) {
      http_result r;
      try {
        r = t.get();
      } catch (const web::http::http_exception& e) {
        r.status = 0;
        const auto code = e.error_code();
        const bool timed_out = code == std::errc::timed_out || code.value() == ETIMEDOUT ||
                               std::string{e.what()}.find("timed out") != std::string::npos;
        r.transport_error = timed_out ? core::error_class::timeout : core::error_class::server;
        r.transport_message = e.what();
      } catch (const std::exception& e) {
        r.status = 0;
        r.transport_error = core::error_class::server;
        r.transport_message = e.what();
      }
      (*shared_done)(std::move(r));
    });
}

std::unique_ptr<web::http::client::http_client> make_client(const std::string& base_url, core::duration timeout) {
  web::http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  return std::make_unique<web::http::client::http_client>(base_url, cfg);
}

std::string api_key_from_env(const std::string& env_name) {
  const char* v = env_name.empty() ? nullptr : std::getenv(env_name.c_str());
  return v == nullptr ? std::string{} : std::string{v};
}

web::json::value parse_json(const std::string& text) {
  std::error_code ec;
  auto v = web::json::value::parse(text, ec);
  return ec ? web::json::value::null() : v;
}

core::provider_reply failure(core::error_class e, std::string message, core::duration retry_after) {
  core::provider_reply r;
  r.error = e;
  r.message = std::move(message);
  r.retry_after = retry_after;
  return r;
}

core::provider_reply transport_failure(const http_result& r) {
  auto out = failure(r.transport_error == core::error_class::none ? core::error_class::server : r.transport_error,
                     r.transport_message);
  out.unanswered = true;
  return out;
}

core::provider_reply nothing_to_cancel(std::string why) {
  core::provider_reply r;
  r.message = std::move(why);
  return r;
}

std::string unexpected_body(const http_result& r) {
  auto excerpt = r.body.substr(0, 120);
  std::replace_if(excerpt.begin(), excerpt.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return "HTTP " + std::to_string(r.status) + " with an unexpected body: " + excerpt;
}

core::provider_reply::item item_result(const core::work_item& item, std::vector<std::string> images) {
  core::provider_reply::item out;
  out.id = item.id;
  if (images.empty()) {
    out.error = core::error_class::bad_response;
    out.message = "the answer has no image data";
    return out;
  }
  out.images = std::move(images);
  return out;
}

} // namespace cutover::providers::detail
