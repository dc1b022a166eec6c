#pragma once
/// Webhook deliveries over HTTP (cpprestsdk's client, as the provider adapters call providers): each POST carries
/// `Cutover-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` and `Cutover-Event-Id`. The
/// secret is read from the environment variable the entry names, at each try (a delivery waiting from before a
/// restart is signed with the new process's value), and is never logged.

#include "core/notice.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace cutover::notify_adapter {

/// The webhook port over HTTP; each try gives up after `timeout`.
std::shared_ptr<core::webhook_port> make_webhook_client(core::duration timeout);

/// The `Cutover-Signature` value of `body` signed with `secret` at unix time `t` (OpenSSL HMAC-SHA256).
std::string signature_header(const std::string& secret, std::int64_t t, const std::string& body);

} // namespace cutover::notify_adapter
