#pragma once
/// The rollout's phase/state machine: the status (phase, percent, state, since), the phase's cumulative figures,
/// the rolling metric window and the trigger memory, and every rule that moves them: tick (triggers in every
/// state, gates when running; promote / hold / roll back / gradual step down), operator actions, a reload's
/// percent, and the rebuild of the figures after a restart.
///
/// A first phase at 0 % is a verification phase: only the overrides reach the candidate, and it is left like
/// any phase, when its min_duration, min_samples and gates pass. A rollback never returns to it (immediate or
/// gradual, it ends rolled back, phase -1); an operator's resume starts again before it.
///
/// A live rollback drill (core/rollout_drill.hpp) rolls back without touching the phase's figures or the triggers'
/// memory, and returns to the status it left; while it runs, ticks decide nothing and operators' actions are refused.
///
/// A plain class: no CAF, no I/O, no clock (`now` is passed in). Its owner (the rollout controller, or a
/// simulation) feeds it figures, calls tick() on its own schedule, and publishes what comes back: a returned
/// decision means the status changed or a hold is worth writing, and the owner then tells the router
/// (rolled_back(), status().percent), updates its gauges and stores status() with the decision.
///
/// Cost: a tick that decides nothing builds no strings and, once its scratch buffers have grown, allocates
/// nothing of its own (the verdicts are computed without their sentences; the sentences are built only for a
/// decision that is written). What is left of a quiet tick's cost is the figures' summaries (metric_window and
/// cumulative_stats sum their buckets into cohort_stats, whose error counts are a std::map).

#include "core/config.hpp"
#include "core/gates.hpp"
#include "core/metric_window.hpp"
#include "core/rollout.hpp"
#include "core/rollout_drill.hpp"
#include "core/rollout_figures.hpp"
#include "core/sequential_test.hpp"
#include "core/triggers.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

namespace rollout_defaults {
/// A decision that only repeats the last one (same action and verdicts) is written at most this often.
constexpr duration repeat_decision_every = std::chrono::hours(1);
/// The silence trigger's window when the configuration has none (it decides whether traffic is expected).
constexpr duration silence_window = std::chrono::minutes(2);
} // namespace rollout_defaults

/// How an operator request went. The owner turns it into its answer (HTTP: 200, 200, 409, 404, 400).
enum class operator_outcome : std::uint8_t {
  done,        ///< the state changed; `decision` is set
  no_change,   ///< nothing to do (e.g. stepping down to the live percent); no decision
  refused,     ///< not allowed now (e.g. promote while rolled back, raising the percent by hand)
  unknown,     ///< no such action
  bad_request, ///< the request names something that does not exist (e.g. a percent no phase has)
};

struct operator_result {
  operator_outcome outcome = operator_outcome::done;
  std::string message; ///< why, when not done
  std::optional<decision_record> decision;
};

class rollout_machine {
public:
  /// Starts where the configuration says: the phase whose percent is `rollout.percent` (or before the first
  /// phase), running, since `now`.
  rollout_machine(config_ptr cfg, instant now);

  const rollout_status& status() const { return status_; }
  const config& cfg() const { return *cfg_; }
  const config_ptr& cfg_ptr() const { return cfg_; }
  /// What the router must know: everyone is back on the baseline until an operator resumes.
  bool rolled_back() const { return status_.state == rollout_phase_state::rolled_back; }
  cohort cohort_of(std::string_view provider) const;
  const cumulative_stats& phase_stats() const { return phase_stats_; }
  const metric_window& window() const { return window_; }

  /// After a restart: a stored status wins over the configured start; its phase is kept inside the phases in force.
  void restore(const rollout_status& stored);

  // --- figures, as they happen
  void observe(const observation& o);
  void dispatched(cohort c, instant at, std::int64_t items);
  void breaker_trip(cohort c, instant at);
  /// A provider of cohort c answered a poll of a remote job still running: liveness for `silence`, not a sample.
  void poll_answered(cohort c, instant at);
  /// A client's rating of a job. The latest rating per job counts: a second one replaces the first in the phase
  /// figures and the window (where the first still counts there), it never adds a sample.
  void rate(job_id job, cohort c, double quality, instant at);

  // --- figures read back from disk after a restart; `until` is the instant the owner started
  /// Where the read must start: the older of the phase's start and the window's reach.
  instant restore_from(instant until) const;
  void restore_observation(const observation& o, instant until);
  /// Ratings oldest first: a later rating of the same job replaces an earlier one, as rate() does.
  void restore_rating(job_id job, cohort c, double quality, instant at, instant until);
  void restore_trip(cohort c, instant at, instant until);

  /// One evaluation at `now`: triggers in every state, gates when running. A decision when the state changed,
  /// or a hold whose verdicts changed (or last written repeat_decision_every ago); nullopt otherwise.
  std::optional<decision_record> tick(instant now);

  /// promote | hold | resume | rollback.
  operator_result act(std::string_view action, instant now);
  /// Why act(action) would be refused now (empty: it would be done). An unknown action is not a refusal.
  std::string refusal(std::string_view action) const;
  /// What an operator sees now (see rollout_figures); the gates are judged at `now` over the phase's figures, the
  /// triggers are the last tick's. Changes nothing: no trigger memory moves on a read.
  rollout_figures figures(instant now) const;
  /// An operator steps the live percent down by hand (100 -> 50 -> 10): to a lower phase's percent, which holds
  /// there (resume lets the gates promote again) with a `step_down` row; the live percent is a no-op; 0 is a
  /// rollback; a percent no phase has is a bad request; raising is refused (promotion goes through the gates or
  /// `promote`).
  operator_result step_down(int percent, instant now);

  // --- a live rollback drill (core/rollout_drill.hpp)
  /// Rolls back for a drill at `now`: everyone goes to the baseline (rolled_back()); the phase's figures, the
  /// triggers' memory and the status to return to are kept. Refused while a drill is under way, with the kill switch
  /// on, while rolled back or rolling back, and when nobody reaches the candidate (0 % and no override sends anyone
  /// there). `max_wait` 0: rollback.cancel_in_flight_after + the candidate's sync attempt deadline (at most
  /// drill_defaults::max_wait); otherwise it must
  /// be within drill_defaults (else a bad request). Done: the `drill_rollback` decision, with the phase's gates and
  /// the triggers as they stood.
  operator_result drill_start(instant now, duration max_wait = duration{0});
  /// The router confirmed at `at` that it sends every user to the baseline, `at_candidate` jobs being at the
  /// candidate then. Ignored unless the drill waits for it.
  void drill_routed(instant at, std::int64_t at_candidate);
  /// Ends the drill at `now`: drained when `left_at_candidate` is 0 (else it gave up at its deadline with that many
  /// there; -1: unknown). The rollout returns to the phase, percent, state and phase start it had (kept within the
  /// phases in force), its figures as they are. The `drill_restore` decision carries the timings as `drill` items;
  /// nullopt when no drill is under way.
  std::optional<decision_record> drill_finish(instant now, std::int64_t left_at_candidate);
  drill_step drill_state() const { return drill_step_; }
  bool drilling() const { return drill_step_ != drill_step::idle; }
  /// The drill under way, or the last one.
  const drill_record& drill() const { return drill_; }
  /// When the drill under way stops waiting for the candidate to drain.
  instant drill_deadline() const { return drill_.started_at + drill_.max_wait; }
  /// What a restart must come back to: during a drill, the status before it (a drill is never where a rollout rests).
  rollout_status resting_status() const;

  /// A new configuration snapshot: its phases and its `rollout.percent` (which only ever raises the live percent).
  /// Always a decision (the audit shows every reload and the hash).
  decision_record reload(config_ptr cfg, instant now);

private:
  const std::vector<phase_config>& phases() const { return cfg_->rollout.phases; }
  static std::string percent_step(int from, int to); ///< "10% -> 50%"
  void evaluate(instant now, bool with_reasons);
  void enter_phase(int index, instant now);
  void clamp_phase();
  int lower_phase(int index) const;
  std::string align_phase();
  decision_record decide(instant now, decision_action action, std::string reason, bool with_figures);
  decision_record rollback(instant now, std::string why);
  bool same_as_last_hold() const;
  /// Takes back the job's earlier rating from the figures it still counts in; forgets ratings nothing counts.
  void unrate(job_id job, instant now);

  config_ptr cfg_;
  rollout_status status_;
  metric_window window_;
  cumulative_stats phase_stats_; ///< since the current phase began (gates)
  trigger_evaluator triggers_;
  sequential_tests sequential_; ///< the `sequential` trigger's tests (their own figures: hours to a day)
  /// The rating that counts per job, while it counts in the phase figures or the window (so a new one replaces it).
  struct rating {
    cohort who = cohort::other;
    double quality = 0;
    instant at{};
  };
  std::map<job_id, rating> ratings_;
  std::size_t swept_size_ = 0; ///< ratings_.size() after the last sweep of ratings that count nowhere
  // scratch of the last evaluation, kept to reuse their storage from tick to tick
  std::vector<evaluation> gates_, fired_;
  instant evaluated_at_{}; ///< when fired_ was last judged
  // the last hold written (a repeat of it is written at most every repeat_decision_every): its gates' verdicts
  bool hold_written_ = false;
  std::vector<std::pair<std::string_view, verdict>> last_verdicts_;
  instant last_written_{};
  drill_step drill_step_ = drill_step::idle;
  drill_record drill_;
};

} // namespace cutover::core
