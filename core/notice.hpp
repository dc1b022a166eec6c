#pragma once
/// The engine's notifiable events and their deliveries: plain values. A notice is written with the commit that
/// records its cause (a decision, a job's end, a breaker or budget change); each of its deliveries is an outbox
/// entry, kept on disk until a receiver answers 2xx or notify.max_age passes (at least once).

#include "core/types.hpp"

#include <functional>
#include <string>
#include <vector>

namespace cutover::core {

/// Where one delivery of a notice goes and which environment variable holds the secret that signs it.
struct notice_target {
  std::string url;
  std::string secret_env;
  /// A job's own `webhook_url` (not an operator target): its deliveries queue apart, so a submitter's receiver
  /// that fails cannot hold back the operator's.
  bool job_hook = false;
};

/// One event: `type` like `rollout.rollback`, `budget.stopped`, `breaker.open`, `job.dead_lettered`.
struct notice {
  std::string type;
  instant at{};
  std::string data; ///< a JSON object: the event's figures
  /// Stored even when nobody is told (breaker and budget changes are kept as the engine's own event log; the
  /// others already have their rows: decisions, jobs).
  bool keep = false;
  std::vector<notice_target> to; ///< filled from the config when the commit is prepared
};

/// One delivery waiting for its receiver (a row of the outbox).
struct outbox_entry {
  std::int64_t id = 0;   ///< the outbox row
  std::string event_id;  ///< `Cutover-Event-Id`: the same for every try (receivers drop repeats by it)
  std::string type;
  std::string url;
  std::string secret_env;
  std::string body;      ///< the JSON sent, exactly as signed
  instant created_at{};  ///< when its event was committed: notify.max_age counts from here
  bool job_hook = false; ///< to a job's own webhook_url (see notice_target)
};

/// Which outbox entries to read: of one lane, id > after_id (and <= upto unless 0), of one receiver unless empty
/// (see core::receiver_of), lowest id first, at most limit.
struct outbox_query {
  std::int64_t after_id = 0;
  std::size_t limit = 0;
  bool job_hooks = false; ///< the lane of jobs' own webhooks, else the operator targets'
  std::string receiver;
  std::int64_t upto = 0;
};

/// The edge that sends one delivery: over HTTP in adapters/notify, scripted in tests.
class webhook_port {
public:
  virtual ~webhook_port() = default;
  struct answer {
    int status = 0;    ///< the receiver's HTTP status; 0: no answer (refused, timed out, no secret)
    std::string error; ///< why, when there was no 2xx
    /// Not sent, and never will be: the host resolved to a loopback or private address (see public_only).
    bool refused = false;
  };
  /// POSTs `e.body` to `e.url`, signed at `now` with the secret in the environment variable `e.secret_env`; calls
  /// `done` exactly once, from any thread (possibly before deliver returns). With `public_only` (a job's own
  /// webhook, notify.allow_private off) the host's addresses are resolved and checked first, and the answer is
  /// `refused` when any is internal.
  virtual void deliver(const outbox_entry& e, instant now, bool public_only, std::function<void(answer)> done) = 0;
};

/// Name resolution (DNS, /etc/hosts): getaddrinfo in adapters/notify, scripted in tests.
class name_resolver {
public:
  virtual ~name_resolver() = default;
  struct answer {
    std::vector<std::string> addresses; ///< textual IPv4/IPv6 addresses; empty when the name did not resolve
    std::string error;                  ///< why there are none
  };
  /// Resolves `host`; calls `done` exactly once, from any thread (possibly before resolve returns).
  virtual void resolve(const std::string& host, std::function<void(answer)> done) = 0;
};

template <class I> auto inspect(I& f, notice_target& x) { return f(x.url, x.secret_env, x.job_hook); }
template <class I> auto inspect(I& f, notice& x) { return f(x.type, x.at, x.data, x.keep, x.to); }
template <class I> auto inspect(I& f, outbox_query& x) {
  return f(x.after_id, x.limit, x.job_hooks, x.receiver, x.upto);
}
template <class I> auto inspect(I& f, outbox_entry& x) {
  return f(x.id, x.event_id, x.type, x.url, x.secret_env, x.body, x.created_at, x.job_hook);
}

} // namespace cutover::core
