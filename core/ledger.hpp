#pragma once
/// The budget ledger: daily spend per provider and globally, in integer micro-dollars, with reservations.
/// One owner (the ledger actor) calls it; it holds no clock, every call takes `now`.
/// Guarantees:
///  - admission: a reservation is refused when consumed + reserved + estimate would pass the stop line
///    (limit x stop_at) of the provider's or the global daily limit; so, as long as actual costs do not exceed
///    their estimates, consumed + reserved never passes either line;
///  - each (job, attempt) holds at most one reservation, settled or released exactly once: a second settle or
///    release returns false and changes nothing, so no cost is ever counted twice;
///  - the day rolls over at `day_starts` on the injected clock: consumed and request counts start at 0;
///    reservations still open carry into the new day (they are real exposure there), and their cost counts on
///    the day they settle;
///  - every change marks its rows dirty for persistence (`take_dirty`); `restore` rebuilds from those rows and
///    the reservations of jobs in flight, so a restart neither forgets spend nor counts it twice.

#include "core/config.hpp"
#include "core/types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cutover::core {

/// Days since the Unix epoch of the budget day containing `now`; a budget day begins at `day_starts` UTC.
std::int64_t budget_day_index(instant now, duration day_starts);
/// The instant budget day `index` begins.
instant budget_day_start(std::int64_t index, duration day_starts);
/// The budget day containing `now` as the UTC date on which it began, "YYYY-MM-DD".
std::string budget_day(instant now, duration day_starts);

/// The estimated cost of `n` images of tier `t` at provider `p`: cost_per_image[t] x n.
micros estimate_cost(const provider_config& p, tier t, int n);

/// One reservation per (job, attempt): a retry on another provider is a new attempt.
struct reservation_key {
  std::uint64_t job = 0;
  int attempt = 0;
  friend bool operator<(reservation_key a, reservation_key b) {
    return a.job != b.job ? a.job < b.job : a.attempt < b.attempt;
  }
  friend bool operator==(reservation_key a, reservation_key b) { return a.job == b.job && a.attempt == b.attempt; }
};

enum class admit_verdict : std::uint8_t { admitted, over_provider_budget, over_global_budget };
std::string_view to_string(admit_verdict v);

struct admission {
  admit_verdict verdict = admit_verdict::admitted;
  micros estimate = 0;
  /// Why it was refused, e.g. "budget: gemini 179.970000 + 0.030001 > 90% of 200.000000"
  /// (consumed + reserved, then the estimate); empty when admitted.
  std::string reason;
  bool admitted() const { return verdict == admit_verdict::admitted; }
};

/// One persisted row: a provider's (or, with provider "", the global) figures for one budget day.
struct day_row {
  std::string day;               ///< "YYYY-MM-DD"
  std::string provider;          ///< "" = global
  std::optional<micros> limit;   ///< the daily limit in force; absent = none
  micros consumed = 0;           ///< settled spend of the day
  micros reserved = 0;           ///< open reservations (0 on a closed day: they moved to the next one)
  std::int64_t requests = 0;     ///< settled calls of the day
  std::int64_t refused = 0;      ///< admissions refused for budget (those items took the fallback chain)
  friend bool operator==(const day_row& a, const day_row& b) {
    return a.day == b.day && a.provider == b.provider && a.limit == b.limit && a.consumed == b.consumed &&
           a.reserved == b.reserved && a.requests == b.requests && a.refused == b.refused;
  }
};

/// A reservation of a job that was in flight when the engine stopped (rebuilt from the jobs table).
struct open_reservation {
  reservation_key key;
  std::string provider;
  micros estimate = 0;
};

/// `limit` x `stop_at` / 1,000,000 in integers, without overflow for any limit >= 0 and 0 <= stop_at <= 100%.
micros stop_line(micros limit, ppm stop_at);

class ledger {
public:
  ledger(budget_config cfg, instant now);

  /// Reserves `estimate` for `key` at `provider` unless consumed + reserved + estimate would pass the stop line
  /// of the provider's daily limit (checked first) or of the global one; no limit configured = unlimited.
  /// Idempotent: a key already reserved keeps its one reservation and is answered admitted.
  admission reserve(reservation_key key, const std::string& provider, micros estimate, instant now);
  /// The call finished: the reservation becomes consumed spend of `actual`, which may exceed the estimate (it
  /// is real spend; later admissions see it). false when `key` holds no reservation (already settled or
  /// released, or never admitted): nothing is counted.
  bool settle(reservation_key key, micros actual, instant now);
  /// The call did not happen or cost nothing: the reservation is dropped. false when `key` holds none.
  bool release(reservation_key key, instant now);
  /// Rolls over to the budget day containing `now` when it is later than the current one (never backwards).
  void tick(instant now);
  /// New limits, stop_at and day_starts apply from the next call; reservations and spend are kept.
  /// A changed day_starts rolls over only once the new day index passes the current one.
  void reconfigure(budget_config cfg);
  /// Rebuilds after a restart, replacing all state: consumed, request and refusal counts from the persisted rows of
  /// the current day (rows of other days, their `reserved` and the derived global row are ignored), then
  /// the open reservations, admitted unconditionally since their calls are already under way. Every row
  /// becomes dirty.
  void restore(const std::vector<day_row>& persisted, const std::vector<open_reservation>& open);

  /// The current budget day, "YYYY-MM-DD" (call tick(now) first to move to a new one).
  const std::string& day() const { return day_; }
  /// The current day's rows: the global one (provider "") first, then one per provider with a limit or any
  /// activity, in name order.
  std::vector<day_row> rows() const;
  /// Rows changed since the last call, for persistence; closing rows of a day just rolled over come first.
  std::vector<day_row> take_dirty();

  /// Today's figures of `provider`; "" = global (the sum over providers).
  micros consumed(const std::string& provider) const;
  micros reserved(const std::string& provider) const;
  std::int64_t requests(const std::string& provider) const;
  std::int64_t refused(const std::string& provider) const;
  /// The stop line of `provider` ("" = global), or nullopt when it has no limit.
  std::optional<micros> line(const std::string& provider) const;
  std::size_t open_reservations() const { return open_.size(); }
  const budget_config& config() const { return cfg_; }

private:
  struct account {
    micros consumed = 0;
    micros reserved = 0;
    std::int64_t requests = 0;
    std::int64_t refused = 0;
  };
  struct entry {
    std::string provider;
    micros estimate = 0;
  };

  /// `field` summed over the accounts of `provider` ("" = all).
  std::int64_t sum(const std::string& provider, std::int64_t account::*field) const;
  std::optional<micros> limit_of(const std::string& provider) const;
  day_row row_of(const std::string& provider) const;
  void touch(const std::string& provider);
  std::optional<entry> take(reservation_key key);

  budget_config cfg_;
  std::int64_t day_index_;
  std::string day_;
  std::map<std::string, account> accounts_;       // today, per provider
  std::map<reservation_key, entry> open_;
  std::set<std::string> dirty_;                   // providers whose row changed; "" = global
  std::vector<day_row> closed_;                   // closing rows of rolled-over days, not yet taken
};

} // namespace cutover::core
