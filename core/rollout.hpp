#pragma once
/// The rollout's own state (owned by the rollout controller) and its decision audit records. Plain values.

#include "core/types.hpp"

#include <string>
#include <vector>

namespace cutover::core {

/// running: evaluating gates to promote · holding: an operator said hold (triggers still watch) ·
/// rolling_back: stepping down through the phases (gradual) · rolled_back: at 0 %, until an operator resumes ·
/// completed: at the last phase (100 %).
enum class rollout_phase_state : std::uint8_t { running, holding, rolling_back, rolled_back, completed };
std::string_view to_string(rollout_phase_state s);
bool parse_rollout_phase_state(std::string_view text, rollout_phase_state& out);

/// What a decision did: the controller's own verdicts (promote, complete, hold, rollback, step_down), an operator's
/// actions, a reload, and a drill's two steps. Its name is the audit row's `action` and the label of
/// cutover_rollout_decisions_total (every one is exported at 0 from the start, so the first of each counts).
enum class decision_action : std::uint8_t {
  promote, complete, hold, rollback, step_down, operator_promote, operator_hold, operator_resume,
  operator_rollback, reload, drill_rollback, drill_restore
};
inline constexpr std::size_t decision_action_count = 12;
std::string_view to_string(decision_action a);

struct rollout_status {
  int phase = -1;   ///< index into rollout.phases of the phase the rollout is in; -1: before the first
  int percent = 0;  ///< the share of users on the candidate now
  rollout_phase_state state = rollout_phase_state::running;
  instant since{};  ///< when the current phase (or state) began
  instant next_step{}; ///< rolling_back: when the next step down is due
  std::string config_hash;
};

/// One gate or trigger in a decision, with the figures behind its verdict.
struct decision_item {
  std::string kind;  ///< "gate" | "trigger"
  std::string name;
  std::string verdict; ///< "pass" | "fail" | "insufficient data" (a trigger: "fired" | "quiet" | "insufficient data")
  duration window{0};
  std::int64_t samples = 0;
  double observed = 0;
  double baseline = 0;
  double threshold = 0;
  std::string reason;
};

/// One row of the decision audit: an evaluation that changed or held the rollout's state, or an operator action.
struct decision_record {
  std::int64_t id = 0; ///< assigned by the store
  instant at{};
  int phase = -1;
  int percent = 0;
  std::string state;
  std::string config_hash;
  std::string action; ///< to_string(decision_action)
  std::string reason;
  std::vector<decision_item> items;
  /// A hold written again with the verdicts of the last one (hourly): audited, but nobody is notified. Not stored.
  bool repeat = false;
};

} // namespace cutover::core
