#pragma once
/// cutover-fake-provider (tools/fake_provider) as a child process, for tests that talk to the providers' wire
/// formats on loopback. The constructor starts the binary on a free port and returns once it has printed
/// `listening http://127.0.0.1:PORT`; the destructor kills it (SIGKILL) and reaps it, so no test leaves one behind.
/// In between, the fake is driven over its control routes: fault settings (POST /_fake/faults), the call log
/// (GET /_fake/calls), the counters (GET /_fake/stats) and a reset (POST /_fake/reset).
///
/// Every method blocks until the fake answers: call them from the test thread, never from an adapter callback.
/// Failures (the fake did not start, refused a fault setting, did not answer) throw std::runtime_error.
///
/// The binary: `options::binary`, else the FAKE_PROVIDER_BINARY compile definition of the test target, else the
/// CUTOVER_FAKE_PROVIDER environment variable. Register a test like test_adapters in tests/CMakeLists.txt:
/// define FAKE_PROVIDER_BINARY="$<TARGET_FILE:cutover-fake-provider>" (and _TURN_OFF_PLATFORM_STRING for
/// cpprestsdk), and add_dependencies(<test> cutover-fake-provider).

#include <cpprest/json.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace web::http::client {
class http_client;
}

namespace cutover::testing {

/// One entry of the fake's call log.
struct fake_call {
  std::uint64_t seq = 0;   ///< 1, 2, ... in arrival order (restarts at 1 after reset())
  long long at_ms = 0;     ///< milliseconds since the fake started
  std::string method;      ///< GET, POST, ...
  std::string path;        ///< e.g. /v1/images/generations
  std::string api;         ///< openai | replicate | imagen | gemini_batch | unknown
  int status = 0;          ///< the status answered; 0 while the call is held by a hang fault
  std::string fault;       ///< none | hang | error | quota | content_policy | malformed | empty_data
  std::string key;         ///< who asked: OpenAI's `user`, else the request's first prompt (empty for polls)
};

/// A raw HTTP answer of the fake (see request()).
struct fake_answer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers; ///< names lower-cased
};

class fake_provider_process {
public:
  struct options {
    std::string binary;               ///< empty: FAKE_PROVIDER_BINARY, else $CUTOVER_FAKE_PROVIDER
    std::string api_key = "test-key"; ///< the only key the fake accepts (--api-key)
    std::string faults;               ///< fault JSON in force from the start (--faults); empty: none
    std::uint64_t seed = 1;           ///< seed of the fault draws when the faults name none (--seed)
  };

  /// Starts the fake with default options (key "test-key", no faults).
  fake_provider_process();
  explicit fake_provider_process(options opts);
  /// Kills the fake (SIGKILL) unless terminate() already stopped it. Requests it still holds are cut off.
  ~fake_provider_process();
  fake_provider_process(const fake_provider_process&) = delete;
  fake_provider_process& operator=(const fake_provider_process&) = delete;

  /// "http://127.0.0.1:PORT", without a trailing slash. OpenAI and Replicate live under url() + "/v1",
  /// Imagen and Gemini batches under url() + "/v1beta".
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  /// The key the fake accepts.
  const std::string& api_key() const { return opts_.api_key; }

  /// Replaces every fault setting (the fake's JSON schema, see tools/fake_provider/main.cpp) and reseeds the
  /// draws. Throws with the fake's error text when the JSON is refused.
  void set_faults(const std::string& json);
  /// Forgets the call log, the remote jobs and the counters, and reseeds the draws; the faults stay.
  void reset();
  /// The call log, calls with seq > `since` only.
  /// `wait_ms` > 0: the fake answers once a call after `since` is logged (or after that long).
  std::vector<fake_call> calls(std::uint64_t since = 0, int wait_ms = 0);
  /// How many provider calls the fake has taken in (control routes are not counted).
  std::size_t call_count() { return calls().size(); }
  /// GET /_fake/stats: {calls, calls_dropped, by_api{API:{calls, by_status, images, jobs_created}},
  /// jobs_created{replicate, gemini_batch, total}, batch_items_created, faults_injected{FAULT: n}}.
  web::json::value stats();

  /// One raw request to the fake (provider or control route), e.g. to cancel a Replicate prediction behind an
  /// adapter's back. `path` is absolute ("/v1/predictions/ID/cancel"); a non-empty body is sent as JSON.
  fake_answer request(const std::string& method, const std::string& path, const std::string& body = {},
                      const std::map<std::string, std::string>& headers = {});

  /// Stops the fake with SIGTERM (held and delayed answers go out first) and returns its exit status.
  int terminate();

private:
  options opts_;
  int pid_ = -1;
  int stdout_fd_ = -1;
  int port_ = 0;
  std::string url_;
  std::unique_ptr<web::http::client::http_client> control_;
};

} // namespace cutover::testing
