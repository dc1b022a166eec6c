#pragma once
/// When each webhook delivery is tried: at once, then after backoff x 2^(failures-1) (at most max_backoff) until a
/// try is answered 2xx; a delivery whose event is older than max_age is dropped (expired) instead of tried. At most
/// max_in_flight tries run at once. Owned by the notifier actor; time comes in as `now`.

#include "core/notice.hpp"

#include <map>
#include <optional>
#include <vector>

namespace cutover::core {

struct delivery_policy {
  duration backoff{std::chrono::seconds(1)};
  duration max_backoff{std::chrono::minutes(10)};
  duration max_age{std::chrono::hours(24)};
  std::size_t max_in_flight = 4;
};

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
  /// At `now`: drops what expired, starts what is due (lowest id first) while fewer than max_in_flight run.
  round take(instant now);

  /// The try of `id` was answered 2xx: it is done.
  void delivered(std::int64_t id);
  /// The try of `id` failed at `now`; returns when it is due again.
  instant failed(std::int64_t id, instant now);

  /// The earliest time a waiting delivery is due or expires; nullopt when none waits.
  std::optional<instant> next_due() const;
  std::size_t held() const { return slots_.size(); }
  std::size_t in_flight() const { return flying_; }
  /// Failed tries of `id` so far (0 when unknown).
  int failures(std::int64_t id) const;

  /// The wait after the `failures`-th failure.
  duration backoff_after(int failures) const;

private:
  struct slot {
    outbox_entry e;
    instant due{};
    int failures = 0;
    bool flying = false;
  };
  delivery_policy policy_;
  std::map<std::int64_t, slot> slots_;
  std::size_t flying_ = 0;
};

} // namespace cutover::core
