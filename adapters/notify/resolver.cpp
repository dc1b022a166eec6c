#include "adapters/notify/resolver.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <thread>

namespace cutover::notify_adapter {

namespace {

core::name_resolver::answer lookup(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  core::name_resolver::answer a;
  if (rc != 0) {
    a.error = ::gai_strerror(rc);
    return a;
  }
  for (auto* p = found; p != nullptr; p = p->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* bytes = nullptr;
    if (p->ai_family == AF_INET)
      bytes = &reinterpret_cast<const sockaddr_in*>(p->ai_addr)->sin_addr;
    else if (p->ai_family == AF_INET6)
      bytes = &reinterpret_cast<const sockaddr_in6*>(p->ai_addr)->sin6_addr;
    if (bytes != nullptr && ::inet_ntop(p->ai_family, bytes, text, sizeof text) != nullptr &&
        std::find(a.addresses.begin(), a.addresses.end(), text) == a.addresses.end())
      a.addresses.emplace_back(text);
  }
  ::freeaddrinfo(found);
  return a;
}

class system_resolver final : public core::name_resolver {
public:
  void resolve(const std::string& host, std::function<void(answer)> done) override {
    // A thread per lookup: lookups are rare (job webhooks), and getaddrinfo cannot be given up on halfway.
    std::thread([host, done = std::move(done)] { done(lookup(host)); }).detach();
  }
};

} // namespace

std::shared_ptr<core::name_resolver> make_system_resolver() { return std::make_shared<system_resolver>(); }

} // namespace cutover::notify_adapter
