#pragma once
/// Plumbing shared by the real provider adapters (private to adapters/providers): one HTTP/1.1 exchange over a
/// Boost.Beast client with kept-alive connections, answered on the provider clients' I/O thread, never blocking;
/// transport failures become values. cpprestsdk is left for building and parsing JSON.

#include "core/config.hpp"
#include "core/ports.hpp"

#include <cpprest/json.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cutover::providers::detail {

struct http_result {
  int status = 0;                             ///< 0 when no HTTP answer arrived
  std::map<std::string, std::string> headers; ///< names lower-cased
  std::string body;
  core::error_class transport_error = core::error_class::none; ///< timeout or server when status == 0
  std::string transport_message;
  std::string header(const std::string& lower_name) const;
};

/// One call, relative to the client's base_url.
struct http_request {
  std::string method = "GET";
  std::string path; ///< "images/generations" or "/predictions/{id}": appended to base_url's path, percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body; ///< sent as application/json when not empty

  http_request(std::string m, std::string p) : method(std::move(m)), path(std::move(p)) {}
  http_request& header(std::string name, std::string value);
  http_request& json(const web::json::value& v); ///< the body, serialised
};

/// A provider's HTTP client: connections to base_url's host, kept open between calls, each call given up after
/// `timeout` (connecting, TLS, sending and the whole answer together). https verifies the server's certificate
/// against the system's authorities and its name. Calls in flight when it is destroyed still finish and answer.
/// Finds a host name's addresses, blocking: numeric ("127.0.0.1", "::1"), or none with `error` saying why.
using name_lookup = std::function<std::vector<std::string>(const std::string& host, std::string& error)>;
/// The system's lookup (getaddrinfo: /etc/hosts, DNS).
name_lookup system_name_lookup();

class http_client {
public:
  /// A host given by name is looked up with `lookup` (the system's when empty) on a thread of its own, one lookup
  /// at a time per client shared by the calls waiting for it: a lookup that hangs holds back no other client.
  http_client(const std::string& base_url, core::duration timeout, name_lookup lookup = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `req` and calls `done` exactly once with the answer or the failure: on the clients' I/O thread, or for
  /// a large answer on one of their parse threads (at once, on the caller's thread, when base_url is unusable).
  void send(http_request req, std::function<void(http_result)> done);

  struct state;

private:
  std::shared_ptr<state> state_;
};

/// Sends `req` and calls `done` exactly once with the answer or the transport failure.
inline void send(http_client& client, http_request req, std::function<void(http_result)> done) {
  client.send(std::move(req), std::move(done));
}

/// A client for `base_url` whose requests give up after `timeout`.
std::unique_ptr<http_client> make_client(const std::string& base_url, core::duration timeout);

/// The API key from the environment variable named `env_name` (empty when unset). Never logged.
std::string api_key_from_env(const std::string& env_name);

/// JSON of `text`, or a null value when `text` is not JSON.
web::json::value parse_json(const std::string& text);

/// A reply that fails the whole call.
core::provider_reply failure(core::error_class e, std::string message, core::duration retry_after = {});

/// A reply that fails the whole call for a transport problem (timeout, connection refused, ...): `unanswered`.
core::provider_reply transport_failure(const http_result& r);

/// The answer of a port's cancel() when the API has no remote job to stop: no failure, no HTTP call.
core::provider_reply nothing_to_cancel(std::string why);

/// "the body was not what the API documents", with the status and a short excerpt.
std::string unexpected_body(const http_result& r);

/// Builds the per-item result of `item` from images; no images is bad_response (never a success). No price:
/// the worker prices what came back from its current configuration.
core::provider_reply::item item_result(const core::work_item& item, std::vector<std::string> images);

} // namespace cutover::providers::detail
