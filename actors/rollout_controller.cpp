#include "actors/rollout_controller.hpp"

#include "core/gates.hpp"
#include "core/triggers.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <iostream>

namespace cutover::actors {

using namespace cutover::core;

namespace {

struct controller_state {
  config_ptr cfg;
  msg::store_actor store;
  msg::router_actor router;
  clock_anchor clock;
  metrics_ptr metrics;
  rollout_status status;
  metric_window window;
  cumulative_stats phase_stats; ///< since the current phase began (gates)
  trigger_evaluator triggers;
  std::string last_summary;     ///< action + verdicts of the last decision written
  instant last_written{};
  static inline const char* name = "rollout_controller";
};

using self_ptr = msg::rollout_actor::stateful_pointer<controller_state>;

instant now_of(self_ptr self) { return self->state.clock.now(self->clock()); }

const std::vector<phase_config>& phases(self_ptr self) { return self->state.cfg->rollout.phases; }

cohort cohort_of(self_ptr self, const std::string& provider) {
  const auto& r = self->state.cfg->rollout;
  return provider == r.candidate ? cohort::candidate : provider == r.baseline ? cohort::baseline : cohort::other;
}

msg::rollout_view_reply view(self_ptr self) {
  const auto& st = self->state;
  return msg::rollout_view_reply{st.cfg->rollout.name, st.cfg->rollout.enabled, st.status.percent, st.status.phase,
                                 std::string{to_string(st.status.state)}, st.status.since, st.cfg->hash};
}

/// Tells the router the live view, updates the gauges, persists the state and the decision (if any).
void publish(self_ptr self, std::optional<decision_record> decision) {
  auto& st = self->state;
  st.status.config_hash = st.cfg->hash;
  self->send(st.router, msg::rollout_update{st.status.state == rollout_phase_state::rolled_back, st.status.percent});
  st.metrics->get_gauge("cutover_rollout_percent", {}, "Share of users routed to the candidate.").set(st.status.percent);
  st.metrics->get_gauge("cutover_rollout_phase", {}, "Index of the rollout phase (-1 before the first).")
    .set(st.status.phase);
  msg::record_rollout rec;
  rec.status.push_back(st.status);
  if (decision) {
    std::cerr << "event=rollout_decision action=" << decision->action << " percent=" << st.status.percent
              << " state=" << to_string(st.status.state) << " reason=\"" << decision->reason << "\"" << std::endl;
    rec.decisions.push_back(std::move(*decision));
  }
  self->request(st.store, caf::infinite, std::move(rec))
    .then([](msg::stored) {},
          [](caf::error& err) { std::cerr << "event=rollout_not_stored error=" << to_string(err) << std::endl; });
}

decision_record make_decision(self_ptr self, instant now, std::string action, std::string reason,
                              const std::vector<evaluation>& gates, const std::vector<evaluation>& triggers) {
  const auto& st = self->state;
  decision_record d;
  d.at = now;
  d.phase = st.status.phase;
  d.percent = st.status.percent;
  d.state = std::string{to_string(st.status.state)};
  d.config_hash = st.cfg->hash;
  d.action = std::move(action);
  d.reason = std::move(reason);
  auto add = [&d](const char* kind, const evaluation& e, bool trigger) {
    std::string v{to_string(e.v)};
    if (trigger)
      v = e.v == verdict::fail ? "fired" : e.v == verdict::pass ? "quiet" : "insufficient data";
    d.items.push_back(decision_item{kind, e.name, v, e.window, e.samples, e.observed, e.baseline, e.threshold, e.reason});
  };
  for (const auto& g : gates)
    add("gate", g, false);
  for (const auto& t : triggers)
    add("trigger", t, true);
  return d;
}

/// Keeps a stored or reloaded phase inside the phases of the snapshot in force (a reload may have fewer).
void clamp_phase(self_ptr self) {
  auto& st = self->state;
  const int last = static_cast<int>(phases(self).size()) - 1;
  if (st.status.phase > last) {
    st.status.phase = last;
    st.status.percent = last < 0 ? 0 : phases(self)[static_cast<std::size_t>(last)].percent;
  }
}

/// Points the phase index at the last phase whose percent the live percent has reached (-1: none), under the
/// phases in force; a completed rollout whose live percent is below the last phase runs again.
std::string align_phase(self_ptr self) {
  auto& st = self->state;
  const auto& ps = phases(self);
  st.status.phase = -1;
  for (std::size_t i = 0; i < ps.size(); ++i)
    if (ps[i].percent <= st.status.percent)
      st.status.phase = static_cast<int>(i);
  if (st.status.state == rollout_phase_state::completed && !ps.empty() && st.status.percent < ps.back().percent) {
    st.status.state = rollout_phase_state::running;
    return "; back to running: " + std::to_string(st.status.percent) + "% is below the last phase (" +
           std::to_string(ps.back().percent) + "%)";
  }
  return "";
}

/// A reload's `rollout.percent`. The file's percent is where a rollout starts, not the live share, which the
/// controller has moved since. So a changed file percent only raises the live percent (sticky buckets keep every
/// candidate user on the candidate) and never lowers it: taking users off the candidate is an operator's rollback,
/// which the audit then shows as one. A rolled back rollout stays rolled back until an operator resumes.
/// Returns what was decided, for the reload's decision row.
std::string reload_percent(self_ptr self, int old_file, instant now) {
  auto& st = self->state;
  const int file = st.cfg->rollout.percent;
  const int live = st.status.percent;
  std::string out;
  if (file != old_file) {
    out = "; rollout.percent " + std::to_string(old_file) + " -> " + std::to_string(file) + " in the file: ";
    const auto state = st.status.state;
    if (state == rollout_phase_state::rolled_back || state == rollout_phase_state::rolling_back) {
      out += "not applied while " + std::string{to_string(state)} + " (the live percent stays " +
             std::to_string(live) + "%; an operator resumes)";
    } else if (file <= live) {
      out += "the live percent stays " + std::to_string(live) +
             "% (a reload only raises it; an operator rollback lowers it)";
    } else {
      st.status.percent = file;
      st.status.since = now;
      st.phase_stats.reset();
      out += "the live percent rises " + std::to_string(live) + "% -> " + std::to_string(file) + "%";
    }
  }
  const int phase_before = st.status.phase;
  out += align_phase(self);
  if (st.status.phase != phase_before)
    out += "; phase " + std::to_string(phase_before) + " -> " + std::to_string(st.status.phase);
  return out;
}

/// Moves to phase `index` (its percent), starting its figures afresh.
void enter_phase(self_ptr self, int index, instant now) {
  auto& st = self->state;
  st.status.phase = index;
  st.status.percent = index < 0 ? 0 : phases(self)[static_cast<std::size_t>(index)].percent;
  st.status.since = now;
  st.phase_stats.reset();
}

std::string fired_names(const std::vector<evaluation>& triggers) {
  std::string out;
  for (const auto& t : triggers)
    if (t.v == verdict::fail)
      out += (out.empty() ? "" : "; ") + t.reason;
  return out;
}

void rollback(self_ptr self, instant now, const std::string& why, const std::vector<evaluation>& gates,
              const std::vector<evaluation>& triggers) {
  auto& st = self->state;
  st.triggers.reset();
  if (st.cfg->rollout.on_trigger == on_trigger_action::immediate || st.status.phase <= 0) {
    enter_phase(self, -1, now);
    st.status.state = rollout_phase_state::rolled_back;
  } else {
    enter_phase(self, st.status.phase - 1, now);
    st.status.state = rollout_phase_state::rolling_back;
    st.status.next_step = now + st.cfg->rollout.gradual_dwell;
  }
  publish(self, make_decision(self, now, "rollback", why, gates, triggers));
}

/// One evaluation: triggers in every state, gates when running.
void tick(self_ptr self) {
  auto& st = self->state;
  const auto now = now_of(self);
  const auto& r = st.cfg->rollout;
  if (!r.enabled)
    return; // the kill switch: everyone is on the baseline; nothing to decide
  const auto candidate = st.phase_stats.stats(cohort::candidate);
  const auto baseline = st.phase_stats.stats(cohort::baseline);
  std::vector<evaluation> gates;
  if (st.status.phase >= 0 && static_cast<std::size_t>(st.status.phase) < r.phases.size())
    gates = evaluate_gates(r.phases[static_cast<std::size_t>(st.status.phase)], candidate, baseline, now - st.status.since);
  trigger_context ctx;
  const auto silence = r.triggers.silence.value_or(std::chrono::minutes(2));
  ctx.traffic_expected = st.status.percent > 0 && st.window.dispatches(cohort::candidate, now - silence, now) > 0;
  if (st.status.phase >= 0) {
    const auto& ph = r.phases[static_cast<std::size_t>(st.status.phase)];
    if (ph.gates.cost_per_image_max)
      ctx.cost_reference = *ph.gates.cost_per_image_max;
  }
  if (!ctx.cost_reference && baseline.images > 0)
    ctx.cost_reference = baseline.cost_per_image;
  auto fired = st.triggers.evaluate(r.triggers, st.window, ctx, now);
  // a gradual rollback already under way keeps its steps and dwell; the steps record what still fires
  if (st.status.state != rollout_phase_state::rolled_back && st.status.state != rollout_phase_state::rolling_back &&
      any_fired(fired)) {
    rollback(self, now, "trigger: " + fired_names(fired), gates, fired);
    return;
  }
  std::string action, reason;
  switch (st.status.state) {
    case rollout_phase_state::running:
      if (st.status.phase < 0 || all_pass(gates)) {
        const int next = st.status.phase + 1;
        if (static_cast<std::size_t>(next) >= r.phases.size()) {
          st.status.state = rollout_phase_state::completed;
          publish(self, make_decision(self, now, "complete", "the last phase is reached", gates, fired));
          return;
        }
        const int from = st.status.percent;
        enter_phase(self, next, now);
        publish(self, make_decision(self, now, "promote",
                                    "every gate passed: " + std::to_string(from) + "% -> " +
                                      std::to_string(st.status.percent) + "%",
                                    gates, fired));
        return;
      }
      action = "hold";
      for (const auto& g : gates)
        if (g.v != verdict::pass)
          reason += (reason.empty() ? "" : "; ") + g.reason;
      break;
    case rollout_phase_state::rolling_back:
      if (now >= st.status.next_step) {
        const int from = st.status.percent;
        if (st.status.phase <= 0) {
          enter_phase(self, -1, now);
          st.status.state = rollout_phase_state::rolled_back;
        } else {
          enter_phase(self, st.status.phase - 1, now);
          st.status.next_step = now + r.gradual_dwell;
        }
        publish(self, make_decision(self, now, "step_down",
                                    "gradual rollback: " + std::to_string(from) + "% -> " +
                                      std::to_string(st.status.percent) + "%",
                                    gates, fired));
        return;
      }
      return;
    case rollout_phase_state::holding:
      action = "hold";
      reason = "held by an operator";
      break;
    case rollout_phase_state::rolled_back:
    case rollout_phase_state::completed:
      return;
  }
  // a hold: written when its verdicts change, and at most hourly when they do not
  std::string summary = action;
  for (const auto& g : gates)
    summary += "|" + g.name + "=" + std::string{to_string(g.v)};
  if (summary == st.last_summary && now - st.last_written < defaults::repeat_decision_every)
    return;
  st.last_summary = summary;
  st.last_written = now;
  publish(self, make_decision(self, now, action, reason, gates, fired));
}

/// After a restart: rebuilds what the controller held in memory from the attempts on disk, the phase's cumulative
/// figures since `status.since` (the gates: a phase 3 days in keeps its samples) and the rolling window (the
/// triggers), up to `until`, the instant the controller started (what finishes later arrives in `observe`). Reads
/// page by page; the actor waits for each page, so no tick evaluates half-rebuilt figures. Provider quality
/// scores are on the attempts, ratings and breaker trips in their tables (restore_feedback); not on disk, so not
/// rebuilt: dispatches (the silence trigger's "traffic expected" counts again from the restart).
void restore_figures(self_ptr self, instant until, job_store::attempt_cursor after, std::int64_t restored) {
  self->request(self->state.store, caf::infinite, msg::load_finished_attempts{after, until, defaults::restore_page})
    .await(
      [self, until, restored](msg::finished_attempts& page) {
        auto& st = self->state;
        const auto window_from = until - st.window.span();
        for (const auto& a : page.attempts) {
          const observation o{a.key.finished_at, a.provider, a.tier_, cohort_of(self, a.provider), a.error,
                              a.key.finished_at - a.started_at, a.cost, a.images, a.quality};
          if (o.at >= st.status.since)
            st.phase_stats.add(o);
          if (o.at >= window_from)
            st.window.add(o);
        }
        const auto total = restored + static_cast<std::int64_t>(page.attempts.size());
        if (page.attempts.size() >= defaults::restore_page) {
          restore_figures(self, until, page.attempts.back().key, total);
          return;
        }
        std::cerr << "event=rollout_figures_restored attempts=" << total
                  << " phase_since=" << format_rfc3339(st.status.since)
                  << " candidate_samples=" << st.phase_stats.stats(cohort::candidate).samples
                  << " baseline_samples=" << st.phase_stats.stats(cohort::baseline).samples << std::endl;
      },
      [](caf::error& err) {
        std::cerr << "event=rollout_figures_not_restored error=" << to_string(err) << std::endl;
      });
}

/// After a restart: the clients' ratings and the breaker trips since the phase began (and in the window), as
/// restore_figures does for the attempts. Awaited as well.
void restore_feedback(self_ptr self, instant from, instant until) {
  self->request(self->state.store, caf::infinite, msg::load_feedback{from})
    .await(
      [self, until](msg::feedback_list& l) {
        auto& st = self->state;
        const auto window_from = until - st.window.span();
        std::size_t n = 0;
        // every row was given before this controller started: it reads them before any new rating arrives
        for (const auto& f : l.rows) {
          const auto who = cohort_of(self, f.provider);
          if (f.at >= st.status.since)
            st.phase_stats.add_quality(who, f.quality);
          if (f.at >= window_from)
            st.window.add_quality(who, f.quality, f.at);
          ++n;
        }
        if (n > 0)
          std::cerr << "event=rollout_feedback_restored ratings=" << n << std::endl;
      },
      [](caf::error& err) { std::cerr << "event=rollout_feedback_not_restored error=" << to_string(err) << std::endl; });
  self->request(self->state.store, caf::infinite, msg::load_trips{from})
    .await(
      [self, until](msg::trip_list& l) {
        auto& st = self->state;
        const auto window_from = until - st.window.span();
        for (const auto& t : l.rows) {
          const auto who = cohort_of(self, t.provider);
          if (t.at >= st.status.since)
            st.phase_stats.add_breaker_trip(who);
          if (t.at >= window_from)
            st.window.add_breaker_trip(who, t.at);
        }
        if (!l.rows.empty())
          std::cerr << "event=rollout_trips_restored trips=" << l.rows.size() << std::endl;
      },
      [](caf::error& err) { std::cerr << "event=rollout_trips_not_restored error=" << to_string(err) << std::endl; });
}

msg::operator_reply act(self_ptr self, const std::string& action) {
  auto& st = self->state;
  const auto now = now_of(self);
  auto refuse = [&](std::string why) { return msg::operator_reply{msg::operator_error::not_allowed, std::move(why), view(self)}; };
  const auto state = st.status.state;
  if (action == "promote") {
    if (state == rollout_phase_state::rolled_back || state == rollout_phase_state::rolling_back)
      return refuse("rolled back: resume first");
    if (static_cast<std::size_t>(st.status.phase + 1) >= st.cfg->rollout.phases.size())
      return refuse("already at the last phase");
    const int from = st.status.percent;
    enter_phase(self, st.status.phase + 1, now);
    st.status.state = rollout_phase_state::running;
    publish(self, make_decision(self, now, "operator_promote",
                                "promoted by an operator: " + std::to_string(from) + "% -> " +
                                  std::to_string(st.status.percent) + "%",
                                {}, {}));
  } else if (action == "hold") {
    if (state != rollout_phase_state::running)
      return refuse("only a running rollout can be held (it is " + std::string{to_string(state)} + ")");
    st.status.state = rollout_phase_state::holding;
    publish(self, make_decision(self, now, "operator_hold", "held by an operator", {}, {}));
  } else if (action == "resume") {
    if (state == rollout_phase_state::running || state == rollout_phase_state::completed)
      return refuse("nothing to resume (it is " + std::string{to_string(state)} + ")");
    st.status.state = rollout_phase_state::running;
    st.triggers.reset();
    publish(self, make_decision(self, now, "operator_resume", "resumed by an operator", {}, {}));
  } else if (action == "rollback") {
    if (state == rollout_phase_state::rolled_back)
      return refuse("already rolled back");
    enter_phase(self, -1, now);
    st.status.state = rollout_phase_state::rolled_back;
    st.triggers.reset();
    publish(self, make_decision(self, now, "operator_rollback", "rolled back by an operator: everyone to the baseline",
                                {}, {}));
  } else {
    return msg::operator_reply{msg::operator_error::unknown_action, "no such action: " + action, view(self)};
  }
  return msg::operator_reply{msg::operator_error::none, "", view(self)};
}

} // namespace

msg::rollout_actor spawn_rollout_controller(caf::actor_system& sys, config_ptr cfg, msg::store_actor store,
                                            msg::router_actor router, clock_anchor clock, metrics_ptr metrics) {
  auto fn = [](self_ptr self, config_ptr cfg, msg::store_actor store, msg::router_actor router, clock_anchor clock,
               metrics_ptr metrics) -> msg::rollout_actor::behavior_type {
    auto& st = self->state;
    st.cfg = std::move(cfg);
    st.store = std::move(store);
    st.router = std::move(router);
    st.clock = clock;
    st.metrics = metrics ? std::move(metrics) : std::make_shared<metrics_registry>();
    const auto now = now_of(self);
    // where the rollout starts: the phase of the configured percent (or before the first phase)
    st.status.phase = -1;
    st.status.percent = st.cfg->rollout.percent;
    for (std::size_t i = 0; i < st.cfg->rollout.phases.size(); ++i)
      if (st.cfg->rollout.phases[i].percent == st.cfg->rollout.percent)
        st.status.phase = static_cast<int>(i);
    st.status.since = now;
    // a stored state wins over the configured start: the rollout survives restarts
    self->request(st.store, caf::infinite, msg::load_rollout{})
      .await(
        [self, started = now](msg::rollout_loaded& l) {
          auto& st = self->state;
          if (l.found)
            st.status = l.status;
          clamp_phase(self);
          publish(self, std::nullopt);
          if (l.found) {
            const auto from = std::min(st.status.since, started - st.window.span());
            restore_figures(self, started, {from, 0, 0}, 0);
            restore_feedback(self, from, started);
          }
        },
        [](caf::error& err) { std::cerr << "event=rollout_load_failed error=" << to_string(err) << std::endl; });
    self->delayed_send(self, st.cfg->rollout.tick, msg::rollout_tick{});
    return {
      [self](msg::observe& m) {
        auto& st = self->state;
        const auto now = now_of(self);
        for (const auto& o : m.outcomes) {
          st.window.add(o);
          st.phase_stats.add(o);
        }
        if (m.dispatched_candidate > 0)
          st.window.add_dispatch(cohort::candidate, now, m.dispatched_candidate);
        if (m.dispatched_baseline > 0)
          st.window.add_dispatch(cohort::baseline, now, m.dispatched_baseline);
      },
      [self](const msg::breaker_trip& t) {
        const auto who = cohort_of(self, t.provider);
        self->state.window.add_breaker_trip(who, t.at);
        self->state.phase_stats.add_breaker_trip(who);
        // kept for a restart (restore_feedback reads them back)
        self->request(self->state.store, caf::infinite, msg::record_trip{job_store::trip_row{t.provider, t.at}})
          .then([](msg::stored) {},
                [](caf::error& err) { std::cerr << "event=breaker_trip_not_stored error=" << to_string(err) << std::endl; });
      },
      [self](const msg::rate_job& m) -> caf::result<msg::rated> {
        auto rp = self->make_response_promise<msg::rated>();
        const double q = m.quality;
        self->request(self->state.store, caf::infinite, msg::get_job{m.id})
          .then(
            [self, rp, q](msg::job_lookup& l) mutable {
              if (!l.found) {
                rp.deliver(msg::rated{false});
                return;
              }
              const auto who = cohort_of(self, l.job.provider);
              const auto now = now_of(self);
              self->state.window.add_quality(who, q, now);
              self->state.phase_stats.add_quality(who, q);
              // on disk before the answer: the phase's figures are rebuilt from it after a restart
              self->request(self->state.store, caf::infinite,
                            msg::record_feedback{job_store::feedback_row{l.job.id, l.job.provider, q, now}})
                .then([rp](msg::stored) mutable { rp.deliver(msg::rated{true}); },
                      [rp](caf::error& err) mutable { rp.deliver(err); });
            },
            [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](msg::rollout_tick) {
        tick(self);
        self->delayed_send(self, self->state.cfg->rollout.tick, msg::rollout_tick{});
      },
      [self](msg::get_rollout) { return view(self); },
      [self](const msg::operator_action& a) { return act(self, a.action); },
      [self](const msg::config_snapshot& c) {
        auto& st = self->state;
        const auto old = st.cfg;
        st.cfg = c.cfg;
        const auto now = now_of(self);
        const std::string reason = "configuration reloaded: " + old->hash + " -> " + st.cfg->hash +
                                   reload_percent(self, old->rollout.percent, now);
        publish(self, make_decision(self, now, "reload", reason, {}, {}));
      },
    };
  };
  return sys.spawn(fn, std::move(cfg), std::move(store), std::move(router), clock, std::move(metrics));
}

} // namespace cutover::actors
