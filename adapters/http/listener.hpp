#pragma once
/// The HTTP/1.1 listener (Boost.Beast on an asio io_context run by a small thread pool). It owns the sockets and
/// every bound on them: header bytes and count, the body limit the caller names per request (enforced while the
/// body streams, chunked or not), header and idle timeouts, and the number of open connections. Requests on one
/// connection are answered in order (the next one is read only after the previous answer is written), so
/// pipelining is safe. It never waits for an answer: the handler gets a `reply` and returns.

#include "adapters/http/request.hpp"
#include "adapters/http/tls.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cutover::http {

struct listener_options {
  std::string listen = "127.0.0.1:8080"; ///< HOST:PORT; port 0 picks a free one
  std::size_t threads = 2;
  std::size_t max_headers = 100;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000}; ///< from a request's first byte to the end of its headers
  std::chrono::milliseconds idle_timeout{60'000};   ///< a connection with no request in progress; also the body
  std::size_t max_connections = 4096;
  /// Non-null: every connection speaks TLS (its handshake is bounded by header_timeout); null: plain HTTP.
  std::shared_ptr<tls_context> tls;
};

class listener {
public:
  /// The body limit for a request, decided from its method and path before the body is read.
  using body_limit_fn = std::function<std::size_t(std::string_view method, std::string_view path)>;
  using handler_fn = std::function<void(request, reply)>;

  listener(listener_options opts, body_limit_fn limit, handler_fn handle);
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  /// Binds and starts the threads; throws std::runtime_error when the address cannot be bound.
  void open();
  /// Stops accepting and ends the threads; answers not yet written are dropped with their connections.
  void close();
  /// The bound port (after open()).
  int port() const;
  /// Connections open right now.
  std::size_t connections() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// Raises the open-files soft limit to at least `wanted` (up to the hard limit); returns the soft limit now.
std::size_t raise_open_files_limit(std::size_t wanted);

} // namespace cutover::http
