// The rollout machine's live rollback drill (core/rollout_drill.hpp): its own file, the rest of the machine being
// in rollout_machine.cpp.

#include "core/rollout_machine.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace cutover::core {

namespace {

constexpr std::array<std::string_view, 3> step_names{"idle", "routing", "draining"};

std::string where(const rollout_status& s) {
  return std::to_string(s.percent) + "%, phase " + std::to_string(s.phase) + ", " + std::string{to_string(s.state)} +
         " since " + format_rfc3339(s.since);
}

double ms(duration d) { return static_cast<double>(d.count()) / 1000.0; }

std::string ms_text(duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f ms", ms(d));
  return buf;
}

bool override_reaches_candidate(const rollout_config& r) {
  auto candidate = [](const auto& kv) { return kv.second == override_target::candidate; };
  return std::any_of(r.endpoint_overrides.begin(), r.endpoint_overrides.end(), candidate) ||
         std::any_of(r.segment_overrides.begin(), r.segment_overrides.end(), candidate);
}

} // namespace

std::string_view to_string(drill_step s) { return step_names[static_cast<std::size_t>(s)]; }

rollout_status rollout_machine::resting_status() const {
  auto s = drilling() ? drill_.before : status_;
  s.config_hash = cfg_->hash;
  return s;
}

operator_result rollout_machine::drill_start(instant now, duration max_wait) {
  auto refuse = [](std::string why) { return operator_result{operator_outcome::refused, std::move(why), {}}; };
  const auto& r = cfg_->rollout;
  if (drilling())
    return refuse("a rollback drill is under way since " + format_rfc3339(drill_.started_at));
  if (!r.enabled)
    return refuse("the kill switch is on (rollout.enabled: false): everyone is on the baseline already");
  if (status_.state == rollout_phase_state::rolled_back)
    return refuse("already rolled back: there is nothing to roll back (resume first)");
  if (status_.state == rollout_phase_state::rolling_back)
    return refuse("a gradual rollback is under way");
  if (status_.percent == 0 && !override_reaches_candidate(r))
    return refuse("no user reaches the candidate at 0 % (and no override sends anyone there): there is nothing to "
                  "roll back");
  if (max_wait == duration{0}) {
    const auto* candidate = cfg_->provider(r.candidate);
    max_wait = std::min(drill_defaults::max_wait, cfg_->rollback.cancel_in_flight_after +
                                                    (candidate ? retry_deadline(*candidate) : duration{0}));
  } else if (max_wait < drill_defaults::min_wait || max_wait > drill_defaults::max_wait) {
    return {operator_outcome::bad_request, "max_wait must be between 1 s and 1 h", {}};
  }
  // the figures as they stand go on the rollback's row (the gates of the phase it leaves for a while)
  evaluate(now, true);
  drill_ = drill_record{};
  drill_.started_at = now;
  drill_.max_wait = max_wait;
  drill_.before = status_;
  drill_step_ = drill_step::routing;
  // Everyone to the baseline, as an operator's rollback does, but the phase's figures and the triggers' memory
  // stay: the rollout returns to this phase as if the drill had not happened.
  status_.phase = -1;
  status_.percent = 0;
  status_.state = rollout_phase_state::rolled_back;
  status_.since = now;
  return {operator_outcome::done, "",
          decide(now, decision_action::drill_rollback,
                 "rollback drill: everyone to the baseline (from " + where(drill_.before) + ")", true)};
}

void rollout_machine::drill_routed(instant at, std::int64_t at_candidate) {
  if (drill_step_ != drill_step::routing)
    return;
  drill_.routed = true;
  drill_.routed_at = at;
  drill_.at_candidate_when_routed = at_candidate;
  drill_step_ = drill_step::draining;
}

std::optional<decision_record> rollout_machine::drill_finish(instant now, std::int64_t left_at_candidate) {
  if (!drilling())
    return std::nullopt;
  drill_.finished_at = now;
  drill_.left_at_candidate = left_at_candidate;
  drill_.drained = drill_.routed && left_at_candidate == 0;
  if (drill_.drained)
    drill_.drained_at = now;
  drill_step_ = drill_step::idle;
  // back where it was: phase, percent, state and the phase's start (its gates judge on as before)
  status_ = drill_.before;
  status_.config_hash = cfg_->hash;
  clamp_phase();
  drill_.after = status_;

  const auto waited = now - drill_.started_at;
  std::string verdict = drill_.passed() ? "passed" : "failed";
  std::string routed_why, drained_why;
  if (drill_.routed)
    routed_why = "the router sent every user to the baseline " + ms_text(drill_.routed_after()) +
                 " after the rollback, " + std::to_string(drill_.at_candidate_when_routed) +
                 " jobs being at the candidate";
  else
    routed_why = "the router did not confirm the rollback";
  if (drill_.drained)
    drained_why = "no job was left at the candidate " + ms_text(drill_.drained_after()) + " after the rollback";
  else if (left_at_candidate >= 0)
    drained_why = std::to_string(left_at_candidate) + " jobs were still at the candidate after " + ms_text(waited) +
                  " (max_wait " + ms_text(drill_.max_wait) + ")";
  else
    drained_why = "unknown how many jobs were left at the candidate after " + ms_text(waited);
  auto d = decide(now, decision_action::drill_restore,
                  "rollback drill " + verdict + ": back to " + where(status_) + "; " + routed_why + "; " + drained_why,
                  false);
  d.items.push_back(decision_item{"drill", "routed_to_baseline", drill_.routed ? "pass" : "fail",
                                  drill_.routed_after(), drill_.at_candidate_when_routed, ms(drill_.routed_after()), 0,
                                  0, routed_why});
  d.items.push_back(decision_item{"drill", "candidate_drained", drill_.drained ? "pass" : "fail",
                                  drill_.drained ? drill_.drained_after() : waited, left_at_candidate,
                                  ms(drill_.drained ? drill_.drained_after() : waited), 0, ms(drill_.max_wait),
                                  drained_why});
  return d;
}

} // namespace cutover::core
