#include "core/rollout_machine.hpp"

namespace cutover::core {

namespace {

std::string fired_names(const std::vector<evaluation>& triggers) {
  std::string out;
  for (const auto& t : triggers)
    if (t.v == verdict::fail)
      out += (out.empty() ? "" : "; ") + t.reason;
  return out;
}

/// A gate or trigger as the audit writes it (a trigger's verdict in its own words).
decision_item item_of(const char* kind, const evaluation& e, bool trigger) {
  std::string v{to_string(e.v)};
  if (trigger)
    v = e.v == verdict::fail ? "fired" : e.v == verdict::pass ? "quiet" : "insufficient data";
  return decision_item{kind, std::string{e.name}, v, e.window, e.samples, e.observed, e.baseline, e.threshold, e.reason};
}

cohort_figures figures_of(const cohort_stats& s) {
  cohort_figures f;
  f.samples = s.samples;
  f.failures = s.failures;
  f.failure_rate = s.failure_rate;
  f.p95 = s.p95;
  f.user_p50 = s.user_p50;
  f.user_p95 = s.user_p95;
  f.user_wait_samples = s.user_wait_samples;
  f.cost = s.cost;
  f.cost_per_image = s.cost_per_image;
  f.images = s.images;
  f.quality_mean = s.quality_mean;
  f.quality_samples = s.quality_samples;
  f.breaker_trips = s.breaker_trips;
  return f;
}

} // namespace

std::string rollout_machine::percent_step(int from, int to) {
  return std::to_string(from) + "% -> " + std::to_string(to) + "%";
}

rollout_machine::rollout_machine(config_ptr cfg, instant now) : cfg_(std::move(cfg)) {
  // where the rollout starts: the phase of the configured percent (or before the first phase)
  status_.phase = -1;
  status_.percent = cfg_->rollout.percent;
  for (std::size_t i = 0; i < phases().size(); ++i)
    if (phases()[i].percent == cfg_->rollout.percent)
      status_.phase = static_cast<int>(i);
  status_.since = now;
  status_.config_hash = cfg_->hash;
}

cohort rollout_machine::cohort_of(std::string_view provider) const {
  const auto& r = cfg_->rollout;
  return provider == r.candidate ? cohort::candidate : provider == r.baseline ? cohort::baseline : cohort::other;
}

void rollout_machine::restore(const rollout_status& stored) {
  status_ = stored;
  status_.config_hash = cfg_->hash;
  clamp_phase();
}

// --- figures

void rollout_machine::observe(const observation& o) {
  window_.add(o);
  phase_stats_.add(o);
  if (const auto& seq = cfg_->rollout.triggers.sequential)
    sequential_.add(o, *seq);
}

void rollout_machine::dispatched(cohort c, instant at, std::int64_t items) {
  if (items > 0)
    window_.add_dispatch(c, at, items);
}

void rollout_machine::breaker_trip(cohort c, instant at) {
  window_.add_breaker_trip(c, at);
  phase_stats_.add_breaker_trip(c);
}

void rollout_machine::poll_answered(cohort c, instant at) { window_.add_poll_answer(c, at); }

void rollout_machine::unrate(job_id job, instant now) {
  if (auto it = ratings_.find(job); it != ratings_.end()) {
    const auto& old = it->second;
    if (old.at >= status_.since) // phase_stats_ was reset when the phase began: an older rating is not in it
      phase_stats_.remove_quality(old.who, old.quality);
    window_.remove_quality(old.who, old.quality, old.at);
    ratings_.erase(it);
  }
  // A rating older than both the phase and the window counts nowhere: nothing to replace, so forget it. Swept
  // when the map has doubled since the last sweep, so a rating costs amortised O(log n).
  if (ratings_.size() < 2 * std::max<std::size_t>(swept_size_, 512))
    return;
  const auto reach = std::min(status_.since, now - window_.span());
  for (auto it = ratings_.begin(); it != ratings_.end();)
    it = it->second.at < reach ? ratings_.erase(it) : std::next(it);
  swept_size_ = ratings_.size();
}

void rollout_machine::rate(job_id job, cohort c, double quality, instant at) {
  unrate(job, at);
  window_.add_quality(c, quality, at);
  phase_stats_.add_quality(c, quality);
  ratings_[job] = rating{c, quality, at};
}

instant rollout_machine::restore_from(instant until) const {
  auto from = std::min(status_.since, until - window_.span());
  if (const auto& seq = cfg_->rollout.triggers.sequential)
    from = std::min(from, until - seq->window);
  return from;
}

void rollout_machine::restore_observation(const observation& o, instant until) {
  if (o.at >= status_.since)
    phase_stats_.add(o);
  if (o.at >= until - window_.span())
    window_.add(o);
  if (const auto& seq = cfg_->rollout.triggers.sequential; seq && o.at >= until - seq->window)
    sequential_.add(o, *seq);
}

void rollout_machine::restore_rating(job_id job, cohort c, double quality, instant at, instant until) {
  unrate(job, at);
  const bool in_phase = at >= status_.since, in_window = at >= until - window_.span();
  if (in_phase)
    phase_stats_.add_quality(c, quality);
  if (in_window)
    window_.add_quality(c, quality, at);
  if (in_phase || in_window)
    ratings_[job] = rating{c, quality, at};
}

void rollout_machine::restore_trip(cohort c, instant at, instant until) {
  if (at >= status_.since)
    phase_stats_.add_breaker_trip(c);
  if (at >= until - window_.span())
    window_.add_breaker_trip(c, at);
}

// --- phases

/// Keeps a stored or reloaded phase inside the phases of the snapshot in force (a reload may have fewer).
void rollout_machine::clamp_phase() {
  const int last = static_cast<int>(phases().size()) - 1;
  if (status_.phase > last) {
    status_.phase = last;
    status_.percent = last < 0 ? 0 : phases()[static_cast<std::size_t>(last)].percent;
  }
}

/// The phase a step down from phase `index` goes to: the next lower one that sends anyone to the candidate. A
/// verification phase at 0 % is skipped: a rollback ends rolled back (everyone on the baseline, overrides too),
/// never back in verification. -1: none (the step ends the rollback).
int rollout_machine::lower_phase(int index) const {
  for (int i = index - 1; i >= 0; --i)
    if (phases()[static_cast<std::size_t>(i)].percent > 0)
      return i;
  return -1;
}

/// Points the phase index at the last phase whose percent the live percent has reached (-1: none), under the
/// phases in force; a completed rollout whose live percent is below the last phase runs again. A rolled back
/// rollout stays before the first phase (at 0 % it would otherwise land in a verification phase at 0 %).
std::string rollout_machine::align_phase() {
  const auto& ps = phases();
  status_.phase = -1;
  if (status_.state == rollout_phase_state::rolled_back)
    return "";
  for (std::size_t i = 0; i < ps.size(); ++i)
    if (ps[i].percent <= status_.percent)
      status_.phase = static_cast<int>(i);
  if (status_.state == rollout_phase_state::completed && !ps.empty() && status_.percent < ps.back().percent) {
    status_.state = rollout_phase_state::running;
    return "; back to running: " + std::to_string(status_.percent) + "% is below the last phase (" +
           std::to_string(ps.back().percent) + "%)";
  }
  return "";
}

/// Moves to phase `index` (its percent), starting its figures afresh.
void rollout_machine::enter_phase(int index, instant now) {
  status_.phase = index;
  status_.percent = index < 0 ? 0 : phases()[static_cast<std::size_t>(index)].percent;
  status_.since = now;
  phase_stats_.reset();
}

// --- evaluation

/// Gates of the current phase over its cumulative figures, triggers over the window; into gates_ and fired_.
void rollout_machine::evaluate(instant now, bool with_reasons) {
  const auto& r = cfg_->rollout;
  const auto candidate = phase_stats_.stats(cohort::candidate);
  const auto baseline = phase_stats_.stats(cohort::baseline);
  const phase_config* ph = status_.phase >= 0 && static_cast<std::size_t>(status_.phase) < r.phases.size()
                             ? &r.phases[static_cast<std::size_t>(status_.phase)]
                             : nullptr;
  if (ph)
    evaluate_gates(*ph, candidate, baseline, now - status_.since, gates_, with_reasons);
  else
    gates_.clear();
  trigger_context ctx;
  const auto silence = r.triggers.silence.value_or(rollout_defaults::silence_window);
  ctx.traffic_expected = status_.percent > 0 && window_.dispatches(cohort::candidate, now - silence, now) > 0;
  if (ph && ph->gates.cost_per_image_max)
    ctx.cost_reference = *ph->gates.cost_per_image_max;
  if (!ctx.cost_reference && baseline.images > 0)
    ctx.cost_reference = baseline.cost_per_image;
  triggers_.evaluate(r.triggers, window_, ctx, now, fired_, with_reasons);
  evaluated_at_ = now;
  if (r.triggers.sequential)
    sequential_.evaluate(*r.triggers.sequential, now, fired_, with_reasons);
  else
    sequential_.reset();
}

decision_record rollout_machine::decide(instant now, decision_action action, std::string reason, bool with_figures) {
  decision_record d;
  d.at = now;
  d.phase = status_.phase;
  d.percent = status_.percent;
  d.state = std::string{to_string(status_.state)};
  d.config_hash = cfg_->hash;
  d.action = std::string{to_string(action)};
  d.reason = std::move(reason);
  if (!with_figures)
    return d;
  for (const auto& g : gates_)
    d.items.push_back(item_of("gate", g, false));
  for (const auto& t : fired_)
    d.items.push_back(item_of("trigger", t, true));
  return d;
}

decision_record rollout_machine::rollback(instant now, std::string why) {
  triggers_.reset();
  sequential_.reset();
  const int lower = lower_phase(status_.phase);
  if (cfg_->rollout.on_trigger == on_trigger_action::immediate || lower < 0) {
    enter_phase(-1, now);
    status_.state = rollout_phase_state::rolled_back;
  } else {
    enter_phase(lower, now);
    status_.state = rollout_phase_state::rolling_back;
    status_.next_step = now + cfg_->rollout.gradual_dwell;
  }
  return decide(now, decision_action::rollback, std::move(why), true);
}

bool rollout_machine::same_as_last_hold() const {
  if (!hold_written_ || last_verdicts_.size() != gates_.size())
    return false;
  for (std::size_t i = 0; i < gates_.size(); ++i)
    if (last_verdicts_[i].first != gates_[i].name || last_verdicts_[i].second != gates_[i].v)
      return false;
  return true;
}

std::optional<decision_record> rollout_machine::tick(instant now) {
  const auto& r = cfg_->rollout;
  if (!r.enabled)
    return std::nullopt; // the kill switch: everyone is on the baseline; nothing to decide
  if (drilling())
    return std::nullopt; // rolled back on purpose, for a while: judging it would judge the drill
  // judged without sentences first; evaluate(now, true) again (same verdicts) only for a decision written
  evaluate(now, false);
  const auto state = status_.state;
  // a gradual rollback already under way keeps its steps and dwell; the steps record what still fires
  if (state != rollout_phase_state::rolled_back && state != rollout_phase_state::rolling_back && any_fired(fired_)) {
    evaluate(now, true);
    return rollback(now, "trigger: " + fired_names(fired_));
  }
  switch (state) {
    case rollout_phase_state::running:
      if (status_.phase < 0 || all_pass(gates_)) {
        evaluate(now, true);
        const int next = status_.phase + 1;
        if (static_cast<std::size_t>(next) >= r.phases.size()) {
          status_.state = rollout_phase_state::completed;
          return decide(now, decision_action::complete, "the last phase is reached", true);
        }
        const int from = status_.percent;
        enter_phase(next, now);
        return decide(now, decision_action::promote, "every gate passed: " + percent_step(from, status_.percent), true);
      }
      break;
    case rollout_phase_state::rolling_back: {
      if (now < status_.next_step)
        return std::nullopt;
      evaluate(now, true);
      const int from = status_.percent;
      const int lower = lower_phase(status_.phase);
      if (lower < 0) {
        enter_phase(-1, now);
        status_.state = rollout_phase_state::rolled_back;
      } else {
        enter_phase(lower, now);
        status_.next_step = now + r.gradual_dwell;
      }
      return decide(now, decision_action::step_down, "gradual rollback: " + percent_step(from, status_.percent), true);
    }
    case rollout_phase_state::holding:
      break;
    case rollout_phase_state::rolled_back:
    case rollout_phase_state::completed:
      return std::nullopt;
  }
  // a hold: written when its verdicts change, and at most hourly when they do not
  const bool repeat = same_as_last_hold();
  if (repeat && now - last_written_ < rollout_defaults::repeat_decision_every)
    return std::nullopt;
  evaluate(now, true);
  std::string reason;
  if (state == rollout_phase_state::holding) {
    reason = "held by an operator";
  } else {
    for (const auto& g : gates_)
      if (g.v != verdict::pass)
        reason += (reason.empty() ? "" : "; ") + g.reason;
  }
  hold_written_ = true;
  last_verdicts_.clear();
  for (const auto& g : gates_)
    last_verdicts_.emplace_back(g.name, g.v);
  last_written_ = now;
  auto d = decide(now, decision_action::hold, std::move(reason), true);
  d.repeat = repeat;
  return d;
}

// --- what an operator sees

rollout_figures rollout_machine::figures(instant now) const {
  rollout_figures f;
  for (const auto& p : phases())
    f.phases.push_back(phase_outline{p.percent, p.min_duration, p.min_samples});
  for (const char* a : {"hold", "resume", "promote", "rollback"})
    f.actions.push_back(action_check{a, refusal(a)});
  // what step_down() does (not a no-op, not a rollback): a lower phase's percent above 0
  for (auto it = phases().rbegin(); it != phases().rend(); ++it)
    if (it->percent > 0 && it->percent < status_.percent &&
        (f.step_down_to.empty() || f.step_down_to.back() != it->percent))
      f.step_down_to.push_back(it->percent);
  const auto candidate = phase_stats_.stats(cohort::candidate);
  const auto baseline = phase_stats_.stats(cohort::baseline);
  if (status_.phase >= 0 && static_cast<std::size_t>(status_.phase) < phases().size()) {
    std::vector<evaluation> gates;
    evaluate_gates(phases()[static_cast<std::size_t>(status_.phase)], candidate, baseline, now - status_.since, gates,
                   true);
    for (const auto& g : gates)
      f.gates.push_back(item_of("gate", g, false));
  }
  for (const auto& t : fired_)
    f.triggers.push_back(item_of("trigger", t, true));
  f.triggers_at = evaluated_at_;
  f.candidate = figures_of(candidate);
  f.baseline = figures_of(baseline);
  return f;
}

} // namespace cutover::core
