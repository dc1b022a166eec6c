#pragma once
/// Runs the real `cutover serve` binary as a child process on a free loopback port, with a config written to a
/// temporary folder, and talks to it over real HTTP. Start-up is awaited by reading its "event=listening" line.

#include "support/virtual_time.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cutover::testing {

/// A loopback port nobody listens on right now.
int free_port();

/// A config for tests: simulated providers with millisecond latencies, 20 ms batch windows, polls every 50 ms.
/// `gemini` (async) is the candidate at `percent`, `photomaker` (sync) the baseline, `sdxl` the last fallback.
std::string fast_config(int percent = 50, const std::string& failure_rate = "0%");

/// A `budget.day_starts` ("HH:MMZ") twelve hours from now on the wall clock, so that a test that checks a budget
/// day's figures never runs across the start of a budget day.
std::string day_starts_far_from_now();

class engine_process {
public:
  /// Starts `cutover serve --config DIR/config.yaml --listen HOST:PORT --data DIR` (the client always connects to
  /// 127.0.0.1, which a wildcard host such as 0.0.0.0 includes).
  engine_process(const std::string& dir, const std::string& config_text, int port = 0,
                 std::string host = "127.0.0.1", std::vector<std::string> extra_args = {});
  ~engine_process();

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  /// The engine's process id (e.g. to read /proc/<pid>/status).
  int pid() const { return pid_; }
  /// SIGKILL, and reap.
  void kill9();
  /// SIGTERM; returns the exit status.
  int terminate();
  /// Sends `sig` (e.g. SIGHUP) and returns at once.
  void signal(int sig);
  /// Rewrites the config file the engine was started with (for reloads).
  void write_config(const std::string& text);
  /// Everything the engine wrote to stderr so far.
  std::string log() const;
  /// How many bytes the engine wrote to stderr so far (a `from` for wait_for_log).
  std::size_t log_size() const;
  /// Blocks until the engine's stderr, from byte `from` on, contains `text`, at most `limit`; whether it did.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds limit, std::size_t from = 0);
  /// The first whole line (its '\n' written) of the engine's stderr from byte `from` on that contains `text`, once
  /// there is one, waiting at most `limit`; empty when none came.
  std::string wait_for_line(const std::string& text, std::chrono::milliseconds limit, std::size_t from = 0);

private:
  void start();
  std::string dir_;
  std::string host_;
  std::vector<std::string> extra_args_; ///< after the usual flags, e.g. --log-format json
  int port_ = 0;
  int pid_ = -1;
  int err_fd_ = -1;
  std::thread reader_;
  mutable std::mutex log_mutex_;
  std::condition_variable log_grew_;
  std::string log_;
};

struct http_answer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

/// A blocking HTTP client for the test thread (cpprestsdk underneath).
class http_client {
public:
  explicit http_client(const std::string& base_url);
  ~http_client();
  http_answer post(const std::string& path, const std::string& body, const std::string& content_type = "application/json",
                   const std::map<std::string, std::string>& headers = {});
  http_answer get(const std::string& path);
  http_answer send(const std::string& method, const std::string& path, const std::map<std::string, std::string>& headers = {});
  /// Sends all posts at once and waits for every answer (in the order given).
  std::vector<http_answer> post_concurrently(const std::string& path, const std::vector<std::string>& bodies,
                                             const std::vector<std::map<std::string, std::string>>& headers = {});
  std::vector<http_answer> get_concurrently(const std::vector<std::string>& paths);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// GET /readyz until it answers 200 or `limit` passes; the last answer. Right after "listening" the engine may
/// not have made its first store commit yet (readiness then says "not committed yet"), most of all on a busy disk.
http_answer wait_ready(http_client& http, std::chrono::milliseconds limit);

/// A JSON string's field value from a flat answer, e.g. json_field(body, "id"); empty when absent.
std::string json_field(const std::string& body, const std::string& name);

} // namespace cutover::testing
