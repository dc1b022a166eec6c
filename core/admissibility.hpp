#pragma once
/// Admissibility: per provider, whether new work can be admitted now and, when not, the earliest instant it can be
/// again. One view for intake (refuse a job with 503 + Retry-After when no provider of its chain can take it) and
/// for readiness (a provider stopped for any reason is shown as such). A plain value fed by the owners of the
/// reasons: the ledger (budget stop lines, until the next budget day), the rate limits (hour and day windows,
/// until a slot frees) and the breakers (open, until they half-open). Each (provider, reason) holds at most one
/// block; a block whose instant has passed no longer counts, so a copy of the view stays right between updates.
/// No clock: every question takes `now`.

#include "core/types.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cutover::core {

/// Why a provider cannot take new work.
enum class block_reason : std::uint8_t { budget, hourly_limit, daily_limit, breaker };
std::string_view to_string(block_reason r);

/// A provider is blocked for `reason` until `until`; `why` explains it ("gemini 179.97 of stop line 180.00").
/// `room` (budget only): work whose estimated cost is at most `room` micro-dollars still fits (the ledger's own
/// admission rule: consumed + reserved + estimate <= stop line); nothing_fits for every other block.
constexpr micros nothing_fits = std::numeric_limits<micros>::min();
struct provider_block {
  instant until{};
  std::string why;
  micros room = nothing_fits;
  friend bool operator==(const provider_block& a, const provider_block& b) {
    return a.until == b.until && a.why == b.why && a.room == b.room;
  }
};

/// One provider of a job's chain and what the job would cost there (its budget admission's estimate).
struct chain_link {
  std::string provider;
  micros cost = 0;
};

/// The answer for a job's chain.
struct chain_verdict {
  bool admissible = true;
  instant retry_at{};  ///< not admissible: the earliest instant one provider of the chain is admissible again
  std::string reason;  ///< not admissible: every block that holds, e.g. "gemini: budget until ...; sdxl: ..."
};

class admissibility {
public:
  /// Name of the pseudo-provider whose blocks hold for every provider (the global budget line).
  static constexpr std::string_view every_provider = "";

  /// `provider` ("" = every provider) cannot take work (costing more than `room`, when given) for `reason` until
  /// `until`; replaces an earlier block of the same reason. Returns whether anything changed.
  bool block(const std::string& provider, block_reason reason, instant until, std::string why,
             micros room = nothing_fits);
  /// The block of `reason` on `provider` has ended early (a reservation released, a breaker half-open). Returns
  /// whether anything changed.
  bool clear(const std::string& provider, block_reason reason);

  /// `now` when work costing `cost` is admissible at `provider` at `now`; otherwise the instant every block that
  /// refuses it (on the provider and on every provider) has ended.
  instant admissible_at(const std::string& provider, instant now, micros cost = 0) const;
  bool admissible(const std::string& provider, instant now, micros cost = 0) const {
    return admissible_at(provider, now, cost) <= now;
  }
  /// Admissible when at least one provider of `chain` is, at the job's cost there (an empty chain is admissible:
  /// nothing says otherwise).
  chain_verdict check(const std::vector<chain_link>& chain, instant now) const;

  /// What readiness shows for `provider` at `now`: the block in force on it (or on every provider), the one that
  /// stops the most first (breaker, daily limit, hourly limit, budget); nullopt when nothing holds. A budget block
  /// with room counts: part of its traffic goes to the fallback.
  std::optional<block_reason> stopped_by(const std::string& provider, instant now) const;

  /// No block at all (not even an ended one): the cheap test before a chain is worked out.
  bool empty() const { return blocks_.empty(); }
  /// Blocks in force at `now`, by (provider, reason), for readiness and logs.
  std::vector<std::pair<std::pair<std::string, block_reason>, provider_block>> blocks(instant now) const;
  /// Forgets blocks that ended before `now` (they no longer count anyway; this bounds memory).
  void prune(instant now);

  friend bool operator==(const admissibility& a, const admissibility& b) { return a.blocks_ == b.blocks_; }
  friend bool operator!=(const admissibility& a, const admissibility& b) { return !(a == b); }

  template <class I> friend auto inspect(I& f, admissibility& x) { return f(x.blocks_); }

private:
  std::map<std::pair<std::string, block_reason>, provider_block> blocks_;
};

template <class I> auto inspect(I& f, provider_block& x) { return f(x.until, x.why, x.room); }

} // namespace cutover::core
