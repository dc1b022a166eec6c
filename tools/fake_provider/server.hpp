#pragma once
/// The fake provider's HTTP side: one cpprestsdk listener on 127.0.0.1 for every provider route and the
/// `/_fake/*` control routes. Handlers never block: bodies are read asynchronously, delayed and hung answers
/// are handed to the timer thread.

#include <memory>

namespace cutover::fake {

class provider_fake;
class timers;

class server {
public:
  server(provider_fake& fake, timers& clock);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Listens on 127.0.0.1:port; port 0 picks a free port. Returns the port; throws std::runtime_error.
  int open(int port);
  /// Stops listening (held answers must have been let go first: timers::shutdown).
  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace cutover::fake
