#pragma once
/// What a route handler sees of one HTTP request, and the handle it answers through. Neither names the server
/// library: handlers stay plain C++, and the listener (Beast) is the only file that knows the wire.
///
/// A `reply` may be used from any thread (typically an actor's continuation); the answer is written on the
/// connection's own strand. Each request is answered exactly once.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cutover::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct request {
  std::string method; ///< "GET", "POST", ...
  std::string path;   ///< without the query, as sent (not decoded)
  std::string query;  ///< after '?', empty when none
  std::string body;
  header_list headers;
  std::string peer;                ///< the client's address, e.g. "127.0.0.1"
  std::vector<std::string> params; ///< the `{...}` segments of the matched route pattern, in order
  std::string key_name;            ///< the API key that was accepted (empty without keys or on open routes)
  std::string tenant;              ///< that key's tenant; empty: not tied to one

  /// A header's value (the name compared without case); empty when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  /// A query parameter, percent-decoded; empty when absent. `found` says whether it was there.
  std::string query_param(std::string_view name, bool* found = nullptr) const;
};

/// Percent-decoding of a path segment ('+' stays '+'); a malformed escape stays as it is.
std::string decode_path_segment(std::string_view s);

struct response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  header_list headers;
};

/// The connection a request came in on, as the answer needs it.
class response_sink {
public:
  virtual ~response_sink() = default;
  /// Thread-safe; writes on the connection's strand.
  virtual void respond(response r) = 0;
};

/// Counts answers by status code for one route (cutover_http_responses_total); thread-safe, lock-free once a code
/// has been seen.
class answer_counter {
public:
  virtual ~answer_counter() = default;
  virtual void count(int status) = 0;
};

class reply {
public:
  reply(std::shared_ptr<response_sink> sink, std::string cors_origin = {},
        std::shared_ptr<answer_counter> counted = nullptr)
    : sink_(std::move(sink)), cors_origin_(std::move(cors_origin)), counted_(std::move(counted)) {}

  /// Answers; adds the CORS headers when the request came from an allowed browser origin.
  void send(int status, std::string body, std::string content_type = "application/json",
            header_list headers = {}) const;
  /// `{"error":{"code","message","field"}}` with `status`.
  void error(int status, std::string_view code, std::string_view message, std::string_view field = {},
             header_list headers = {}) const;
  /// 503 with Retry-After: 1, for an engine that did not answer.
  void unavailable(const std::string& why) const;

  /// The same connection, answering with the CORS headers for `origin`.
  reply with_cors(std::string origin) const { return reply{sink_, std::move(origin), counted_}; }
  /// The same connection, its answer counted by `c`.
  reply counted_by(std::shared_ptr<answer_counter> c) const { return reply{sink_, cors_origin_, std::move(c)}; }

private:
  std::shared_ptr<response_sink> sink_;
  std::string cors_origin_;
  std::shared_ptr<answer_counter> counted_;
};

} // namespace cutover::http
