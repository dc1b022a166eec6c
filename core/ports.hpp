#pragma once
/// Ports: the small interfaces core needs from the outside world. adapters/ implements them (SQLite,
/// HTTP providers, the simulated provider); tests may script their own. The store's ports are in store_ports.hpp.

#include "core/job.hpp"
#include "core/store_ports.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cutover::core {

/// What a provider answered to a submit or a poll.
struct provider_reply {
  enum class kind : std::uint8_t {
    done,     ///< final answer: `items` holds one result per item (or `error` holds a call-wide failure)
    accepted, ///< async: the provider took the work as `remote_id`; poll it
    pending,  ///< async poll: not finished yet
  };
  kind k = kind::done;
  std::string remote_id;
  error_class error = error_class::none; ///< a failure of the whole call
  std::string message;
  duration retry_after{0}; ///< the provider's own hint (Retry-After, RetryInfo), 0 when none
  bool no_retry = false;   ///< the provider said not to retry this call (e.g. OpenAI's x-should-retry: false)
  bool poll_failed = false; ///< a poll call itself failed (HTTP or transport): says nothing of the remote job
  /// accepted or pending: the provider says the remote job has not started (Replicate `starting`, Gemini batch
  /// `PENDING`), so nothing of it is billed yet. A job given up on in that state is not charged.
  bool not_started = false;
  /// No answer arrived at all (connection cut, timed out): the provider may or may not have acted on the call.
  /// For an async create this means a remote job may exist, and be billing, without the engine knowing its id.
  bool unanswered = false;
  struct item {
    job_id id;
    error_class error = error_class::none;
    std::string message;
    std::vector<std::string> images; ///< base64 PNG (or URLs). No cost: the worker prices images from its config
    double quality = 0;
  };
  std::vector<item> items;
  /// Simulated providers: the reply is to be taken as arriving this much later (on the actor clock).
  duration delay{0};
};

/// A provider's API behind one interface. Calls return at once; `done` runs later, on any thread, exactly once.
class provider_port {
public:
  using callback = std::function<void(provider_reply)>;
  virtual ~provider_port() = default;
  /// True when one call carries a whole batch (batch APIs); false: one call per item.
  virtual bool takes_batches() const = 0;
  virtual void submit(const std::vector<work_item>& items, instant now, callback done) = 0;
  virtual void poll(const std::string& remote_id, const std::vector<work_item>& items, instant now,
                    callback done) = 0;
  /// Asks the provider to stop remote job `remote_id` (e.g. past the polling deadline), so it stops billing.
  /// Best effort: `done` gets error none when the provider took the request, else the failure. Ports without
  /// remote jobs to stop (sync APIs, the simulated provider) answer at once with a message saying so.
  virtual void cancel(const std::string& remote_id, instant now, callback done) = 0;
};

} // namespace cutover::core
