#pragma once
/// Name resolution for webhook hosts with the system's resolver (getaddrinfo: /etc/hosts, then DNS). Each lookup
/// runs on a thread of its own, so a slow DNS server holds neither an actor nor an HTTP I/O thread.

#include "core/notice.hpp"

#include <memory>

namespace cutover::notify_adapter {

std::shared_ptr<core::name_resolver> make_system_resolver();

} // namespace cutover::notify_adapter
