#include "support/webhook_receiver.hpp"
#include "support/engine_process.hpp"

#include <cpprest/http_listener.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

namespace cutover::testing {

using namespace web::http;

bool signature_valid(const std::string& secret, const std::string& header, const std::string& body) {
  const auto comma = header.find(",v1=");
  if (header.rfind("t=", 0) != 0 || comma == std::string::npos)
    return false;
  const auto t_text = header.substr(2, comma - 2);
  const auto v1 = header.substr(comma + 4);
  long long t = 0;
  try {
    t = std::stoll(t_text);
  } catch (const std::exception&) {
    return false;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  if (t < now - 300 || t > now + 300) // a receiver refuses old signatures (replays)
    return false;
  const auto text = t_text + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &len);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", mac[i]);
    hex += buf;
  }
  return hex == v1;
}

struct webhook_receiver::impl {
  std::string secret;
  int port = 0;
  std::unique_ptr<experimental::listener::http_listener> listener;
  mutable std::mutex mutex;
  std::condition_variable grew;
  std::vector<delivery> got;
  int fail_count = 0;
  int fail_status = 500;
  bool fail_every = false;

  void handle(http_request req) {
    const auto path = req.relative_uri().path();
    const auto event_id = req.headers().has("Cutover-Event-Id") ? req.headers()["Cutover-Event-Id"] : std::string{};
    const auto signature = req.headers().has("Cutover-Signature") ? req.headers()["Cutover-Signature"] : std::string{};
    req.extract_string(true).then([this, req, path, event_id, signature](pplx::task<std::string> t) mutable {
      std::string body;
      try {
        body = t.get();
      } catch (const std::exception&) {
      }
      delivery d{path, event_id, signature, body, signature_valid(secret, signature, body), 200,
                 std::chrono::system_clock::now()};
      {
        std::lock_guard<std::mutex> guard{mutex};
        if (fail_every) {
          d.answered = 503;
        } else if (fail_count > 0) {
          --fail_count;
          d.answered = fail_status;
        }
        got.push_back(d);
      }
      grew.notify_all();
      req.reply(static_cast<status_code>(d.answered)).wait();
    });
  }
};

webhook_receiver::webhook_receiver(std::string secret) : impl_(std::make_unique<impl>()) {
  impl_->secret = std::move(secret);
  impl_->port = free_port();
  impl_->listener = std::make_unique<experimental::listener::http_listener>(
    "http://127.0.0.1:" + std::to_string(impl_->port) + "/");
  impl_->listener->support(methods::POST, [this](http_request req) { impl_->handle(std::move(req)); });
  impl_->listener->open().wait();
}

webhook_receiver::~webhook_receiver() { impl_->listener->close().wait(); }

std::string webhook_receiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + path;
}

void webhook_receiver::fail_next(int n, int status) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  impl_->fail_count = n;
  impl_->fail_status = status;
}

void webhook_receiver::fail_all(bool on) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  impl_->fail_every = on;
}

std::vector<webhook_receiver::delivery> webhook_receiver::deliveries() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->got;
}

bool webhook_receiver::wait_for(const std::function<bool(const std::vector<delivery>&)>& pred,
                                std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> guard{impl_->mutex};
  return impl_->grew.wait_for(guard, limit, [&] { return pred(impl_->got); });
}

} // namespace cutover::testing
