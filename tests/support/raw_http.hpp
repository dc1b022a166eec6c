#pragma once
/// A bare TCP client for tests that must control the bytes on the wire: partial headers, slow senders, pipelined
/// requests, chunked bodies that never end, many idle connections. Blocking sockets with receive timeouts.

#include <chrono>
#include <string>
#include <string_view>

namespace cutover::testing {

class raw_connection {
public:
  /// Connects to 127.0.0.1:port; `connected()` says whether it worked.
  explicit raw_connection(int port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  /// Sends all of `bytes`; false when the peer closed or reset.
  bool send(std::string_view bytes);
  /// Reads one answer (status line, headers, Content-Length body), waiting at most `limit`; "" when none came.
  std::string read_answer(std::chrono::milliseconds limit);
  /// Waits at most `limit` for the server to close the connection (EOF or reset); bytes that arrive are dropped.
  bool closed_within(std::chrono::milliseconds limit);

private:
  int fd_ = -1;
  std::string pending_; ///< read but not yet returned (pipelined answers)
};

/// The status code of an answer from read_answer ("HTTP/1.1 413 ..." -> 413); 0 when there is none.
int status_of(const std::string& answer);

/// Raises this process's open-files soft limit to at least `n` (tests that open many sockets).
void raise_open_files(std::size_t n);

} // namespace cutover::testing
