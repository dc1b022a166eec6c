// rollout_machine: what operators and reloads do (actions, stepping down by hand, a new snapshot), apart from the
// ticks in rollout_machine.cpp.

#include "core/rollout_machine.hpp"

namespace cutover::core {

// --- operators and reloads

namespace {
const char* const drill_under_way = "a rollback drill is under way: it returns the rollout to where it was when it ends";
} // namespace

std::string rollout_machine::refusal(std::string_view action) const {
  const auto state = status_.state;
  if (drilling() && (action == "promote" || action == "hold" || action == "resume" || action == "rollback"))
    return drill_under_way;
  if (action == "promote") {
    if (state == rollout_phase_state::rolled_back || state == rollout_phase_state::rolling_back)
      return "rolled back: resume first";
    if (static_cast<std::size_t>(status_.phase + 1) >= phases().size())
      return "already at the last phase";
  } else if (action == "hold") {
    if (state != rollout_phase_state::running)
      return "only a running rollout can be held (it is " + std::string{to_string(state)} + ")";
  } else if (action == "resume") {
    if (state == rollout_phase_state::running || state == rollout_phase_state::completed)
      return "nothing to resume (it is " + std::string{to_string(state)} + ")";
  } else if (action == "rollback") {
    if (state == rollout_phase_state::rolled_back)
      return "already rolled back";
  }
  return "";
}

operator_result rollout_machine::act(std::string_view action, instant now) {
  auto done = [](decision_record d) { return operator_result{operator_outcome::done, "", std::move(d)}; };
  if (action != "promote" && action != "hold" && action != "resume" && action != "rollback")
    return operator_result{operator_outcome::unknown, "no such action: " + std::string{action}, {}};
  if (auto why = refusal(action); !why.empty())
    return operator_result{operator_outcome::refused, std::move(why), {}};
  if (action == "promote") {
    const int from = status_.percent;
    enter_phase(status_.phase + 1, now);
    status_.state = rollout_phase_state::running;
    return done(decide(now, decision_action::operator_promote,
                       "promoted by an operator: " + percent_step(from, status_.percent), false));
  }
  if (action == "hold") {
    status_.state = rollout_phase_state::holding;
    return done(decide(now, decision_action::operator_hold, "held by an operator", false));
  }
  if (action == "resume") {
    status_.state = rollout_phase_state::running;
    triggers_.reset();
    sequential_.reset();
    return done(decide(now, decision_action::operator_resume, "resumed by an operator", false));
  }
  enter_phase(-1, now); // rollback
  status_.state = rollout_phase_state::rolled_back;
  triggers_.reset();
  sequential_.reset();
  return done(
    decide(now, decision_action::operator_rollback, "rolled back by an operator: everyone to the baseline", false));
}

operator_result rollout_machine::step_down(int percent, instant now) {
  const int live = status_.percent;
  if (percent < 0 || percent > 100)
    return {operator_outcome::bad_request, "percent must be between 0 and 100, got " + std::to_string(percent), {}};
  if (drilling())
    return {operator_outcome::refused, drill_under_way, {}};
  if (percent == live)
    return {operator_outcome::no_change, "the live percent is already " + std::to_string(live) + "%", {}};
  if (percent == 0)
    return act("rollback", now);
  int index = -1;
  for (std::size_t i = 0; i < phases().size(); ++i)
    if (phases()[i].percent == percent)
      index = static_cast<int>(i);
  if (index < 0) {
    std::string known;
    for (const auto& p : phases())
      known += (known.empty() ? "" : ", ") + std::to_string(p.percent);
    return {operator_outcome::bad_request,
            "no phase has " + std::to_string(percent) + "% (the phases: " + known + "; 0 rolls back)", {}};
  }
  if (percent > live)
    return {operator_outcome::refused,
            "stepping down cannot raise the live percent (" + std::to_string(live) + "% -> " +
              std::to_string(percent) + "%): promotion goes through the gates or promote",
            {}};
  enter_phase(index, now);
  status_.state = rollout_phase_state::holding;
  return {operator_outcome::done, "",
          decide(now, decision_action::step_down,
                 "stepped down by an operator: " + percent_step(live, percent) + "; holding", false)};
}

decision_record rollout_machine::reload(config_ptr cfg, instant now) {
  const auto old = std::move(cfg_);
  cfg_ = std::move(cfg);
  status_.config_hash = cfg_->hash;
  // The file's percent is where a rollout starts, not the live share, which this machine has moved since. So a
  // changed file percent only raises the live percent (sticky buckets keep every candidate user on the candidate)
  // and never lowers it: taking users off the candidate is an operator's rollback, which the audit then shows as
  // one. A rolled back rollout stays rolled back until an operator resumes.
  const int old_file = old->rollout.percent;
  const int file = cfg_->rollout.percent;
  const int live = status_.percent;
  std::string out = "configuration reloaded: " + old->hash + " -> " + cfg_->hash;
  if (file != old_file) {
    out += "; rollout.percent " + std::to_string(old_file) + " -> " + std::to_string(file) + " in the file: ";
    const auto state = status_.state;
    if (state == rollout_phase_state::rolled_back || state == rollout_phase_state::rolling_back) {
      out += "not applied while " + std::string{to_string(state)} + " (the live percent stays " +
             std::to_string(live) + "%; an operator resumes)";
    } else if (file <= live) {
      out += "the live percent stays " + std::to_string(live) +
             "% (a reload only raises it; an operator rollback lowers it)";
    } else {
      status_.percent = file;
      status_.since = now;
      phase_stats_.reset();
      out += "the live percent rises " + percent_step(live, file);
    }
  }
  const int phase_before = status_.phase;
  out += align_phase();
  if (status_.phase != phase_before)
    out += "; phase " + std::to_string(phase_before) + " -> " + std::to_string(status_.phase);
  return decide(now, decision_action::reload, std::move(out), false);
}

} // namespace cutover::core
