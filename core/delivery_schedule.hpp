#pragma once
/// When each webhook delivery is tried: at once, then after backoff x 2^(failures-1) (at most max_backoff) until a
/// try is answered 2xx; a delivery whose event is older than max_age is dropped (expired) instead of tried.
/// Deliveries to operator targets and to jobs' own webhooks are two lanes with max_in_flight tries each, and one
/// receiver (scheme://host:port) takes at most per_receiver of a lane's tries: a receiver that never answers, or a
/// flood of job webhooks, cannot hold back the others. Owned by the notifier actor; time comes in as `now`.

#include "core/notice.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

struct delivery_policy {
  duration backoff{std::chrono::seconds(1)};
  duration max_backoff{std::chrono::minutes(10)};
  duration max_age{std::chrono::hours(24)};
  std::size_t max_in_flight = 4; ///< tries at once, in each lane
  std::size_t per_receiver = 2;  ///< tries at once to one receiver
};

/// The receiver a delivery goes to: `scheme://host[:port]` of its URL, lower case (the whole URL if it has no "://").
std::string receiver_of(std::string_view url);

class delivery_schedule {
public:
  explicit delivery_schedule(delivery_policy p) : policy_(p) {}
  void set_policy(delivery_policy p) { policy_ = p; }
  const delivery_policy& policy() const { return policy_; }

  /// Holds `e`, due at once; false (and nothing changes) when its id is already held.
  bool add(outbox_entry e);

  struct round {
    std::vector<outbox_entry> send;    ///< tries to start now (in flight until delivered() or failed())
    std::vector<outbox_entry> expired; ///< dropped: their event is max_age old
  };
  /// At `now`: drops what expired, starts what is due (lowest id first) while its lane runs fewer than
  /// max_in_flight tries and its receiver fewer than per_receiver.
  round take(instant now);

  /// The try of `id` was answered 2xx: it is done.
  void delivered(std::int64_t id);
  /// The try of `id` failed at `now`; returns when it is due again.
  instant failed(std::int64_t id, instant now);

  /// The earliest time a waiting delivery is due or expires (only expires, for one that waits for a free try);
  /// nullopt when none waits.
  std::optional<instant> next_due() const;
  std::size_t held() const { return slots_.size(); }
  /// Held deliveries of one lane (job webhooks or operator targets), and of one receiver (see receiver_of).
  std::size_t held(bool job_hooks) const { return held_[job_hooks]; }
  std::size_t held_for(const std::string& receiver) const;
  std::size_t in_flight() const { return flying_[0] + flying_[1]; }
  std::size_t in_flight(bool job_hooks) const { return flying_[job_hooks]; }
  /// Failed tries of `id` so far (0 when unknown).
  int failures(std::int64_t id) const;

  /// The wait after the `failures`-th failure.
  duration backoff_after(int failures) const;

private:
  struct slot {
    outbox_entry e;
    std::string receiver;
    instant due{};
    int failures = 0;
    bool flying = false;
  };
  void land(slot& s); ///< a try of `s` ended
  void drop(std::map<std::int64_t, slot>::iterator it);
  delivery_policy policy_;
  std::map<std::int64_t, slot> slots_;
  std::size_t flying_[2] = {0, 0}; ///< by lane: [0] operator targets, [1] job webhooks
  std::size_t held_[2] = {0, 0};
  std::map<std::string, std::size_t> flying_to_, held_for_; ///< by receiver
};

} // namespace cutover::core
