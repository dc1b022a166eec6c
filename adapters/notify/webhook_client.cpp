#include "adapters/notify/webhook_client.hpp"

#include "adapters/notify/resolver.hpp"
#include "core/notify_rules.hpp"

#include <cpprest/http_client.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>

namespace cutover::notify_adapter {

namespace {

using web::http::client::http_client;

/// `scheme://authority` and the rest (path, query) of `url`.
std::pair<std::string, std::string> split_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  const auto path = scheme_end == std::string::npos ? std::string::npos : url.find_first_of("/?#", scheme_end + 3);
  if (path == std::string::npos)
    return {url, "/"};
  auto rest = url.substr(path);
  if (rest.front() != '/')
    rest.insert(0, "/");
  return {url.substr(0, path), rest};
}

class webhook_client final : public core::webhook_port, public std::enable_shared_from_this<webhook_client> {
public:
  webhook_client(core::duration timeout, std::shared_ptr<core::name_resolver> resolver)
      : timeout_(timeout), resolver_(std::move(resolver)) {}

  void deliver(const core::outbox_entry& e, core::instant now, bool public_only,
               std::function<void(answer)> done) override {
    const char* secret = e.secret_env.empty() ? nullptr : std::getenv(e.secret_env.c_str());
    if (secret == nullptr || *secret == '\0') {
      done(answer{0, "the signing secret is not set (environment variable " + e.secret_env + ")", false});
      return;
    }
    if (!public_only) {
      send(e, now, secret, {}, std::move(done));
      return;
    }
    const auto host = core::webhook_host(e.url);
    auto checked = [self = shared_from_this(), e, now, host, secret = std::string{secret},
                    done = std::move(done)](core::name_resolver::answer r) mutable {
      const auto why = core::resolved_host_problem(host, r.addresses);
      if (!why.empty()) {
        done(answer{0, r.error.empty() ? why : why + ": " + r.error, true});
        return;
      }
      self->send(e, now, secret, r.addresses.front(), std::move(done));
    };
    if (host.empty() || core::is_address_literal(host))
      checked(core::name_resolver::answer{{host}, {}});
    else
      resolver_->resolve(host, std::move(checked));
  }

private:
  /// One signed POST; to `address` (checked, plain http only) rather than what the URL's name resolves to now.
  void send(const core::outbox_entry& e, core::instant now, const std::string& secret, const std::string& address,
            std::function<void(answer)> done) {
    const auto t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    try {
      auto [base, rest] = split_url(e.url);
      web::http::http_request req(web::http::methods::POST);
      req.set_request_uri(rest);
      if (!address.empty())
        if (auto pinned = pin_to_address(e.url, address); !pinned.base.empty()) {
          base = pinned.base;
          req.headers().add("Host", pinned.host_header);
        }
      req.headers().add("Cutover-Signature", signature_header(secret, t, e.body));
      req.headers().add("Cutover-Event-Id", e.event_id);
      req.headers().add("User-Agent", "cutover-webhook");
      req.set_body(e.body, "application/json");
      auto shared_done = std::make_shared<std::function<void(answer)>>(std::move(done));
      client_for(base)
        .request(req)
        .then([](web::http::http_response resp) {
          // drain the body so the connection can be reused; its content does not matter
          const auto status = static_cast<int>(resp.status_code());
          return resp.content_ready().then([status](pplx::task<web::http::http_response> t) {
            try {
              t.get();
            } catch (const std::exception&) {
            }
            return status;
          });
        })
        .then([shared_done](pplx::task<int> t) {
          answer a;
          try {
            a.status = t.get();
            if (a.status < 200 || a.status >= 300)
              a.error = "answered HTTP " + std::to_string(a.status);
          } catch (const std::exception& ex) {
            a.status = 0;
            a.error = ex.what();
          }
          (*shared_done)(std::move(a));
        });
    } catch (const std::exception& ex) { // a URL cpprestsdk cannot take
      done(answer{0, std::string{"cannot send: "} + ex.what(), false});
    }
  }

  /// One client per receiver, reused: its connections stay open between deliveries.
  http_client& client_for(const std::string& base) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto it = clients_.find(base);
    if (it == clients_.end()) {
      web::http::client::http_client_config cfg;
      cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout_));
      it = clients_.emplace(base, std::make_unique<http_client>(base, cfg)).first;
    }
    return *it->second;
  }

  core::duration timeout_;
  std::shared_ptr<core::name_resolver> resolver_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<http_client>> clients_;
};

} // namespace

std::string signature_header(const std::string& secret, std::int64_t t, const std::string& body) {
  const auto signed_text = std::to_string(t) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out = "t=" + std::to_string(t) + ",v1=";
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 0xf];
  }
  return out;
}

pinned_target pin_to_address(const std::string& url, const std::string& address) {
  std::string scheme = url.substr(0, 7);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http://" || address.empty())
    return {};
  const auto end = url.find_first_of("/?#", 7);
  const auto authority = url.substr(7, end == std::string::npos ? std::string::npos : end - 7);
  std::string port = "80";
  const auto close = authority.find(']');
  const auto colon = authority.find(':', close == std::string::npos ? 0 : close);
  if (colon != std::string::npos && colon + 1 < authority.size())
    port = authority.substr(colon + 1);
  const bool v6 = address.find(':') != std::string::npos;
  return {"http://" + (v6 ? "[" + address + "]" : address) + ":" + port, authority};
}

std::shared_ptr<core::webhook_port> make_webhook_client(core::duration timeout,
                                                        std::shared_ptr<core::name_resolver> resolver) {
  return std::make_shared<webhook_client>(timeout, resolver ? std::move(resolver) : make_system_resolver());
}

} // namespace cutover::notify_adapter
