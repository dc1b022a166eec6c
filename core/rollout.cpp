#include "core/rollout.hpp"

#include <array>

namespace cutover::core {

namespace {
constexpr std::array<std::string_view, 5> names{"running", "holding", "rolling_back", "rolled_back", "completed"};
constexpr std::array<std::string_view, decision_action_count> action_names{
  "promote",       "complete",        "hold",              "rollback", "step_down",      "operator_promote",
  "operator_hold", "operator_resume", "operator_rollback", "reload",   "drill_rollback", "drill_restore"};
static_assert(static_cast<std::size_t>(decision_action::drill_restore) + 1 == decision_action_count);
} // namespace

std::string_view to_string(decision_action a) { return action_names[static_cast<std::size_t>(a)]; }

std::string_view to_string(rollout_phase_state s) { return names[static_cast<std::size_t>(s)]; }

bool parse_rollout_phase_state(std::string_view text, rollout_phase_state& out) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) {
      out = static_cast<rollout_phase_state>(i);
      return true;
    }
  return false;
}

} // namespace cutover::core
