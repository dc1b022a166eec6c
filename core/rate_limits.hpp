#pragma once
/// Rate limits: per provider (concurrent calls, calls per hour, calls per budget day) and per user at intake
/// (a token bucket behind 429 + Retry-After). Plain classes owned by one actor each; time is always passed in.
///
/// Windows, chosen so that a provider's own quota is never exceeded:
///  - hour: SLIDING, kept as per-minute buckets (at most 61, so memory is bounded whatever the rate). The count
///    covers the current minute and the 60 whole minutes before it, so every 60-minute span on the clock holds
///    at most max_per_hour calls; an acquisition ages out 60 to 61 minutes after it was made (conservative by
///    at most a minute);
///  - day: FIXED, the budget day (it begins at `day_starts` UTC, as the ledger's); the count resets at its start.

#include "core/config.hpp"
#include "core/types.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

enum class limit_verdict : std::uint8_t { ok, concurrency, hourly, daily };
std::string_view to_string(limit_verdict v);

struct limit_check {
  limit_verdict verdict = limit_verdict::ok;
  /// The earliest instant at which the hour and day windows would admit again (a concurrency slot may still be
  /// needed then); nullopt when only concurrency refused, since a slot frees when some call ends.
  std::optional<instant> retry_at;
  /// Why it was refused, e.g. "limit: gemini 1000/1000 per hour"; empty when ok.
  std::string reason;
  bool ok() const { return verdict == limit_verdict::ok; }
};

/// One provider's limits from limits_config (0 = unlimited for each field).
class provider_limits {
public:
  provider_limits(std::string provider, limits_config cfg, duration day_starts = duration{0});

  /// When every limit admits: takes a concurrency slot and counts the call in the hour and day windows.
  /// Otherwise changes nothing and names the binding limit, checked in the order daily, hourly, concurrency
  /// (the one that binds longest first).
  /// `items` generations ride on this one call (a batch API): they all count in the hour and day windows.
  limit_check try_acquire(instant now, int items = 1);
  /// Whether the hour and day windows would take a call of `items` at `now` (concurrency aside); takes nothing.
  /// After a call filled a window, this names it and when it frees, before any call is refused.
  limit_check windows(instant now, int items = 1);
  /// The remote call ended: its slot is free (the call stays counted in its windows). false when no slot was
  /// held, which is a caller's bug and changes nothing.
  bool release();
  /// The calls holding slots are gone (their worker crashed; the work is sent again and takes slots anew): frees
  /// every slot and keeps the window counts.
  void drop_slots() { in_flight_ = 0; }
  /// New limits apply from the next try_acquire; slots held and window counts are kept, so lowering
  /// max_concurrent below in_flight() refuses until enough calls end.
  void reconfigure(limits_config cfg, duration day_starts);
  /// After a process restart: counts calls the provider was sent before it (`started`: one instant per item, any
  /// order) in the hour and day windows as of `now`, so a restart grants no fresh quota. Slots are not touched.
  void restore(std::vector<instant> started, instant now);

  int in_flight() const { return in_flight_; }
  /// Calls counted in the sliding hour and in the budget day as of `now`.
  int used_this_hour(instant now) const;
  int used_today(instant now) const;
  const limits_config& config() const { return cfg_; }

private:
  struct minute_bucket {
    std::int64_t minute; // minutes since the epoch
    int count;
  };
  void age(instant now);

  std::string provider_;
  limits_config cfg_;
  duration day_starts_;
  int in_flight_ = 0;
  std::deque<minute_bucket> hour_; // oldest first, at most 61 buckets
  std::int64_t day_index_;
  int day_count_ = 0;
};

/// Per-user request rate at intake: a token bucket of `burst` requests refilled at `per_minute`, exact in
/// integers (no drift). A user never seen, or idle long enough to refill, has a full bucket.
class user_rate_limiter {
public:
  /// per_minute 0 = unlimited; a burst below 1 is taken as 1 (a smaller bucket could never admit).
  user_rate_limiter(int per_minute, int burst);

  /// nullopt = admitted (a token taken); otherwise the exact wait after which a retry is admitted, refused
  /// requests taking nothing. The caller rounds it up to whole seconds for Retry-After.
  std::optional<duration> admit(std::string_view user, instant now);
  /// Forgets users whose bucket is full again at `now`: they are indistinguishable from new ones, so this only
  /// bounds memory and never changes an answer.
  void prune(instant now);
  /// New rate and burst from the next admit; each user's tokens are kept (capped at the new burst).
  void reconfigure(int per_minute, int burst);
  std::size_t tracked_users() const { return users_.size(); }

private:
  struct bucket {
    std::int64_t level; // tokens x units_per_token
    instant at;         // when `level` was computed
  };
  std::int64_t level_at(const bucket& b, instant now) const;

  std::int64_t per_minute_ = 0;
  std::int64_t capacity_ = 0;
  std::map<std::string, bucket, std::less<>> users_;
};

} // namespace cutover::core
