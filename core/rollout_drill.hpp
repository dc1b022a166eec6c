#pragma once
/// A live rollback drill (a monthly rollback drill): the rollout is rolled back for real, the engine times
/// how long the router takes to send the candidate's users to the baseline and how long until no work of theirs is
/// left at the candidate, then the rollout goes back to the phase, percent, state and phase start it had, with its
/// phase figures untouched (no gate is re-run). These are the drill's plain values; the rules that move it live in
/// core::rollout_machine (drill_start / drill_routed / drill_finish), so they are tested without actors.

#include "core/rollout.hpp"

#include <cstdint>

namespace cutover::core {

/// Where a drill is: idle (none) -> routing (rolled back; waiting for the router to confirm its view) ->
/// draining (the router sends everyone to the baseline; waiting until no work is left at the candidate) -> idle.
enum class drill_step : std::uint8_t { idle, routing, draining };
std::string_view to_string(drill_step s);

namespace drill_defaults {
/// The longest a drill may wait when the caller names none is what a rollback is designed to take:
/// rollback.cancel_in_flight_after (remote jobs still running are cancelled then) plus one sync attempt's deadline
/// at the candidate (a call on the wire ends within it). Bounds of a wait the caller names:
constexpr duration min_wait = std::chrono::seconds(1);
constexpr duration max_wait = std::chrono::hours(1);
} // namespace drill_defaults

/// One drill: what it measured and what it returned to. Times are the rollout owner's clock.
struct drill_record {
  instant started_at{};  ///< the rollback
  instant routed_at{};   ///< the router confirmed it sends every user to the baseline (unset: it never answered)
  instant drained_at{};  ///< no work was left at the candidate (unset: not within max_wait)
  instant finished_at{}; ///< the rollout was back where it was
  duration max_wait{0};  ///< how long the drill was allowed to wait for the candidate to drain
  rollout_status before; ///< the status it rolled back from and returned to (phase, percent, state, since)
  rollout_status after;  ///< the status it returned to (before, kept within the phases in force)
  /// Jobs whose current attempt was at the candidate (its batch windows, a slot or a retry, or on the wire) when the
  /// router switched; -1: the router did not say.
  std::int64_t at_candidate_when_routed = -1;
  /// Such jobs still there when the drill gave up (0 when it drained; -1: the router did not say).
  std::int64_t left_at_candidate = -1;
  bool routed = false;
  bool drained = false;

  duration routed_after() const { return routed ? routed_at - started_at : duration{0}; }
  duration drained_after() const { return drained ? drained_at - started_at : duration{0}; }
  /// A drill passes when the router switched and the candidate drained within max_wait.
  bool passed() const { return routed && drained; }
};

} // namespace cutover::core
