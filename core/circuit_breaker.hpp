#pragma once
/// The circuit breaker of one provider: stops calling a provider that is failing, then probes it back to health.
/// Guarantees: it opens only when the rolling window holds at least `min_requests` counted calls and their failure
/// rate reaches `failure_rate` (so one failure never trips it); only the provider's own failures count (server,
/// timeout, rate_limited, bad_response); after `open_for` it half-opens and admits at most `half_open_probes`
/// probes; all of them succeeding closes it, any of them failing re-opens it. Every admission hands out a ticket
/// naming the breaker's generation (a new one at every change of state); an outcome counts only in the generation
/// that admitted its call, so a call started before a trip that answers late (a 60 s timeout against a 30 s
/// open_for) neither re-opens nor closes a later state. Only call outcomes are recorded: polls of remote jobs are
/// not calls. Memory is bounded (a ring of at most ~60 counters). No clock is read: every call takes `now`. Owned
/// by the provider's actor, which exports `state()` as a gauge and logs `take_transitions()`.

#include "core/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

enum class breaker_state : std::uint8_t { closed, open, half_open };
std::string_view to_string(breaker_state s); // "closed", "open", "half_open"

/// Whether an outcome speaks about the provider's health. Auth, quota, bad_request, content_policy, cancelled,
/// breaker_open and budget_exhausted are about us or the request, so they count as neither success nor failure.
constexpr bool is_provider_failure(error_class e) {
  return e == error_class::server || e == error_class::timeout || e == error_class::rate_limited ||
         e == error_class::bad_response;
}

/// One change of state with the figures behind it. For closed -> open: the window's counts. For half_open ->
/// closed/open: the probes (requests = probes decided, failures = failed probes). For open -> half_open: zeros.
struct breaker_transition {
  breaker_state from = breaker_state::closed;
  breaker_state to = breaker_state::closed;
  instant at{};
  int requests = 0;
  int failures = 0;
  ppm failure_rate = 0;
  std::string reason;
};

/// Counted calls in the rolling window.
struct breaker_window {
  int requests = 0;
  int failures = 0;
  ppm failure_rate = 0; ///< failures * 1e6 / requests, 0 when empty
};

/// What allow() hands to an admitted call; its outcome is recorded with it.
struct breaker_ticket {
  std::uint64_t generation = 0; ///< the breaker's generation at admission
  bool probe = false;           ///< admitted as one of the half-open probes
};

class circuit_breaker {
public:
  explicit circuit_breaker(breaker_config cfg);

  /// May a call start now? closed: yes. open: no until `open_for` has passed, then it turns half_open.
  /// half_open: yes for at most `half_open_probes` probes (a slot is released only by a non-counted outcome).
  /// An admitted call gets a ticket; nullopt = refused.
  std::optional<breaker_ticket> allow(instant now);

  /// The outcome of the call admitted with `ticket`; error_class::none is a success. An outcome of an earlier
  /// generation than the current one changes nothing (a late answer to a call admitted before the last change
  /// of state). Otherwise: outcomes that are not `is_provider_failure` (and not none) change nothing, except that
  /// in half_open they free the probe slot. Record each ticket once.
  void record(const breaker_ticket& ticket, error_class outcome, instant now);

  /// The current generation (changes with every transition).
  std::uint64_t generation() const { return generation_; }

  /// Applies the time-driven change (open -> half_open once `open_for` has passed) without starting a call,
  /// so a timer can log the transition on time. allow() and record() do this themselves.
  void advance(instant now);

  /// The state at `now`, without changing anything. An open breaker whose `open_for` has passed reports
  /// half_open (what allow() would find), even before advance() has logged that transition.
  breaker_state state(instant now) const;

  /// When an open breaker half-opens; nullopt unless open. Lets the actor schedule the gauge update.
  std::optional<instant> half_opens_at() const;

  /// Counted calls in the rolling window at `now` (recorded only while closed; cleared when it closes).
  breaker_window window(instant now) const;

  /// Transitions since the last call, oldest first; clears them. At most 128 are kept (the newest).
  std::vector<breaker_transition> take_transitions();

  /// Times it opened (closed -> open or half_open -> open), for the rollout's breaker_trips gate.
  int trips() const { return trips_; }

  /// The calls in flight are gone (their worker crashed; the work is sent again): probes admitted but not yet
  /// decided are freed, so the work sent again can probe. State and window counts are kept.
  void forget_calls_in_flight() { probes_admitted_ = probes_succeeded_; }
  /// Applies a new configuration, keeping the state, the probes and the window's counts.
  void reconfigure(breaker_config cfg);

private:
  struct bucket {
    std::int64_t index = 0; ///< bucket number: floor(time / resolution); meaningful when used
    bool used = false;
    int requests = 0;
    int failures = 0;
  };

  void resize_ring();
  void add(instant t, int requests, int failures);
  void clear_window();
  void open(instant now, int requests, int failures, std::string reason);
  void note(breaker_state to, instant at, int requests, int failures, std::string reason);

  breaker_config cfg_;
  duration resolution_{std::chrono::seconds(1)};
  std::vector<bucket> ring_;
  breaker_state state_ = breaker_state::closed;
  instant opened_at_{};
  int probes_admitted_ = 0;  ///< half_open: probes started and not released
  int probes_succeeded_ = 0; ///< half_open: probes that succeeded
  int trips_ = 0;
  std::uint64_t generation_ = 1; ///< bumped by every transition; tickets of older ones are stale
  std::vector<breaker_transition> transitions_;
};

} // namespace cutover::core
