#pragma once
/// Webhook deliveries over HTTP (cpprestsdk's client): each POST carries
/// `Cutover-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` and `Cutover-Event-Id`. The
/// secret is read from the environment variable the entry names, at each try (a delivery waiting from before a
/// restart is signed with the new process's value), and is never logged.

#include "core/notice.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace cutover::notify_adapter {

/// The webhook port over HTTP; each try gives up after `timeout`. A delivery asked to go to public hosts only
/// resolves its host with `resolver` (null: the system's), refuses it when any address is internal, and, over plain
/// http, connects to the address it checked (the original Host header is kept), so a name cannot be re-pointed
/// inside between the check and the connection. Over https cpprestsdk resolves the name again for its own
/// connection (the certificate is checked against the name): a DNS answer that changes in between is not caught.
std::shared_ptr<core::webhook_port> make_webhook_client(core::duration timeout,
                                                        std::shared_ptr<core::name_resolver> resolver = nullptr);

/// `http://host:port/...` aimed at `address` instead: the base URL to connect to (`http://<address>:<port>`, IPv6
/// in brackets) and the Host header to send (the URL's own authority). Empty base when `url` is not plain http.
struct pinned_target {
  std::string base;
  std::string host_header;
};
pinned_target pin_to_address(const std::string& url, const std::string& address);

/// The `Cutover-Signature` value of `body` signed with `secret` at unix time `t` (OpenSSL HMAC-SHA256).
std::string signature_header(const std::string& secret, std::int64_t t, const std::string& body);

} // namespace cutover::notify_adapter
