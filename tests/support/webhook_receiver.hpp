#pragma once
/// A webhook receiver on loopback for tests (cpprestsdk's listener): it records every delivery, checks its
/// Cutover-Signature with its own HMAC-SHA256 (OpenSSL) against the shared secret, and answers as scripted
/// (fail the next N tries, or every try until told otherwise).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cutover::testing {

class webhook_receiver {
public:
  struct delivery {
    std::string path;
    std::string event_id;
    std::string signature;
    std::string body;
    bool signature_ok = false; ///< v1 matches HMAC-SHA256(secret, "t.body") and t is within 5 minutes of now
    int answered = 0;          ///< the status this receiver answered
    std::chrono::system_clock::time_point received;
  };

  explicit webhook_receiver(std::string secret);
  ~webhook_receiver();

  std::string url(const std::string& path) const;
  /// The next `n` tries are answered `status`.
  void fail_next(int n, int status = 500);
  /// While set, every try is answered 503.
  void fail_all(bool on);
  std::vector<delivery> deliveries() const;
  /// Blocks until `pred(deliveries)` holds, at most `limit`; whether it did.
  bool wait_for(const std::function<bool(const std::vector<delivery>&)>& pred, std::chrono::milliseconds limit);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Whether `header` ("t=<unix>,v1=<hex>") signs `body` with `secret`, at a t within 5 minutes of now.
bool signature_valid(const std::string& secret, const std::string& header, const std::string& body);

} // namespace cutover::testing
