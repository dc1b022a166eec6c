#include "actors/rollout_controller.hpp"
#include "core/metric_catalog.hpp"
#include "core/log_line.hpp"

#include "core/rollout_machine.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <functional>
#include <iostream>
#include <optional>

namespace cutover::actors {

using namespace cutover::core;

namespace {

struct controller_state {
  std::optional<rollout_machine> machine; ///< the phase, its figures and its rules; set at spawn
  msg::audit_store store;
  msg::job_reads jobs;
  msg::router_actor router;
  clock_anchor clock;
  metrics_ptr metrics;
  user_wait_gauges user_wait_candidate, user_wait_baseline;
  static inline const char* name = "rollout_controller";
};

using self_ptr = msg::rollout_actor::stateful_pointer<controller_state>;

instant now_of(self_ptr self) { return self->state.clock.now(self->clock()); }

rollout_machine& machine(self_ptr self) { return *self->state.machine; }

msg::rollout_view_reply view(self_ptr self) {
  const auto& m = machine(self);
  const auto& s = m.status();
  msg::rollout_view_reply v;
  v.name = m.cfg().rollout.name;
  v.enabled = m.cfg().rollout.enabled;
  v.percent = s.percent;
  v.phase = s.phase;
  v.state = std::string{to_string(s.state)};
  v.since = s.since;
  v.config_hash = m.cfg().hash;
  v.figures = m.figures(now_of(self));
  return v;
}

/// The user-wait gauges from the phase's figures (what the gates judge).
void export_user_wait(self_ptr self) {
  // the user-wait histogram only (as stats().user_p50 etc.): this runs every tick, the other figures are unused
  auto set = [](const user_wait_gauges& g, const core::latency_histogram& w) {
    g.p50->set(w.quantile(0.50).count());
    g.p95->set(w.quantile(0.95).count());
    g.p99->set(w.quantile(0.99).count());
    g.jobs->set(w.count());
  };
  const auto& phase = machine(self).phase_stats();
  set(self->state.user_wait_candidate, phase.totals(cohort::candidate).user_wait());
  set(self->state.user_wait_baseline, phase.totals(cohort::baseline).user_wait());
}

/// Tells the router the live view, updates the gauges, persists the state and the decision (if any); `stored`, when
/// set, hears how the write went (null: on disk).
void publish(self_ptr self, std::optional<decision_record> decision,
             std::function<void(const caf::error*)> stored = nullptr) {
  auto& st = self->state;
  const auto& status = machine(self).status();
  self->send(st.router, msg::rollout_update{machine(self).rolled_back(), status.percent});
  st.metrics->get_gauge("cutover_rollout_percent", {}, "Share of users routed to the candidate.").set(status.percent);
  st.metrics->get_gauge("cutover_rollout_phase", {}, "Index of the rollout phase (-1 before the first).")
    .set(status.phase);
  // a scrape between the two updates must never see a drill's rolled_back without its flag (the rollback alert
  // would page): the flag rises before the state changes and falls after it is restored
  auto& drill = st.metrics->get_gauge(core::metric::rollout_drill_active, {});
  const bool drilling = machine(self).drilling();
  if (drilling)
    drill.set(1);
  for (auto s : {rollout_phase_state::running, rollout_phase_state::holding, rollout_phase_state::rolling_back,
                 rollout_phase_state::rolled_back, rollout_phase_state::completed})
    st.metrics->get_gauge(core::metric::rollout_state, {{"state", std::string{to_string(s)}}})
      .set(s == status.state ? 1 : 0);
  if (!drilling)
    drill.set(0);
  msg::record_rollout rec;
  rec.status.push_back(machine(self).resting_status()); // a drill's rollback is never where a restart comes back to
  if (decision) {
    core::log_line{} << "event=rollout_decision action=" << decision->action << " percent=" << status.percent
              << " state=" << to_string(status.state) << " reason=\"" << decision->reason << "\"";
    st.metrics->get_counter(core::metric::rollout_decisions, {{"action", decision->action}}).add();
    rec.decisions.push_back(std::move(*decision));
  }
  self->request(st.store, caf::infinite, std::move(rec))
    .then(
      [stored](msg::stored) {
        if (stored)
          stored(nullptr);
      },
      [stored](caf::error& err) {
        core::log_line{} << "event=rollout_not_stored error=" << to_string(err);
        if (stored)
          stored(&err);
      });
}

/// After a restart: rebuilds what the controller held in memory from the attempts on disk, the phase's cumulative
/// figures since `status.since` (the gates: a phase 3 days in keeps its samples) and the rolling window (the
/// triggers), user waits included (a succeeded attempt ended its job: created -> that attempt's end), up to
/// `until`, the instant the controller started (what finishes later arrives in `observe`). Reads page by page; the actor waits for each page, so no tick evaluates half-rebuilt figures. Provider quality
/// scores are on the attempts, ratings and breaker trips in their tables (restore_feedback); not on disk, so not
/// rebuilt: dispatches (the silence trigger's "traffic expected" counts again from the restart).
void restore_figures(self_ptr self, instant until, job_store::attempt_cursor after, std::int64_t restored) {
  self->request(self->state.jobs, caf::infinite, msg::load_finished_attempts{after, until, defaults::restore_page})
    .await(
      [self, until, restored](msg::finished_attempts& page) {
        auto& m = machine(self);
        for (const auto& a : page.attempts) {
          observation o{a.key.finished_at, a.provider, a.tier_, m.cohort_of(a.provider), a.error,
                        a.key.finished_at - a.started_at, a.cost, a.images, a.quality};
          if (a.error == error_class::none) { // it ended its job: the user wait, for the cohort routed to
            o.user_wait = a.key.finished_at - a.job_created_at;
            o.route = m.cohort_of(a.route_provider);
          }
          m.restore_observation(o, until);
        }
        const auto total = restored + static_cast<std::int64_t>(page.attempts.size());
        if (page.attempts.size() >= defaults::restore_page) {
          restore_figures(self, until, page.attempts.back().key, total);
          return;
        }
        core::log_line{} << "event=rollout_figures_restored attempts=" << total
                  << " phase_since=" << format_rfc3339(m.status().since)
                  << " candidate_samples=" << m.phase_stats().stats(cohort::candidate).samples
                  << " baseline_samples=" << m.phase_stats().stats(cohort::baseline).samples;
      },
      [](caf::error& err) {
        core::log_line{} << "event=rollout_figures_not_restored error=" << to_string(err);
      });
}

/// After a restart: the clients' ratings and the breaker trips since the phase began (and in the window), as
/// restore_figures does for the attempts. Awaited as well.
void restore_feedback(self_ptr self, instant from, instant until) {
  self->request(self->state.store, caf::infinite, msg::load_feedback{from})
    .await(
      [self, until](msg::feedback_list& l) {
        auto& m = machine(self);
        // every row was given before this controller started: it reads them before any new rating arrives
        for (const auto& f : l.rows)
          m.restore_rating(f.job, m.cohort_of(f.provider), f.quality, f.at, until);
        if (!l.rows.empty())
          core::log_line{} << "event=rollout_feedback_restored ratings=" << l.rows.size();
      },
      [](caf::error& err) { core::log_line{} << "event=rollout_feedback_not_restored error=" << to_string(err); });
  self->request(self->state.store, caf::infinite, msg::load_trips{from})
    .await(
      [self, until](msg::trip_list& l) {
        auto& m = machine(self);
        for (const auto& t : l.rows)
          m.restore_trip(m.cohort_of(t.provider), t.at, until);
        if (!l.rows.empty())
          core::log_line{} << "event=rollout_trips_restored trips=" << l.rows.size();
      },
      [](caf::error& err) { core::log_line{} << "event=rollout_trips_not_restored error=" << to_string(err); });
}

/// An operator's request answered with the machine's verdict (the HTTP edge maps it); a done action is published
/// first.
msg::operator_reply answer(self_ptr self, operator_result r) {
  auto error = msg::operator_error::none;
  switch (r.outcome) {
    case operator_outcome::done:
    case operator_outcome::no_change: error = msg::operator_error::none; break;
    case operator_outcome::refused: error = msg::operator_error::not_allowed; break;
    case operator_outcome::unknown: error = msg::operator_error::unknown_action; break;
    case operator_outcome::bad_request: error = msg::operator_error::bad_request; break;
  }
  if (r.decision)
    publish(self, std::move(r.decision));
  return msg::operator_reply{error, std::move(r.message), view(self)};
}

// --- a live rollback drill: the machine holds its states, this shell asks the router and keeps the time

using drill_promise = caf::typed_response_promise<msg::drill_reply>;

/// How long until the drill's deadline (at least a moment: a request needs a positive timeout).
caf::timespan drill_time_left(self_ptr self) {
  const auto left = machine(self).drill_deadline() - now_of(self);
  return std::max<caf::timespan>(std::chrono::milliseconds(1), std::chrono::duration_cast<caf::timespan>(left));
}

/// The rollout goes back where it was; the answer goes out once the drill's decisions are on disk.
void finish_drill(self_ptr self, drill_promise rp, std::int64_t left_at_candidate) {
  auto& m = machine(self);
  auto d = m.drill_finish(now_of(self), left_at_candidate);
  if (!d)
    return; // finished already
  const auto& rec = m.drill();
  core::log_line{} << "event=rollout_drill_finished passed=" << (rec.passed() ? "true" : "false")
                   << " routed_ms=" << std::chrono::duration<double, std::milli>(rec.routed_after()).count()
                   << " drained_ms=" << std::chrono::duration<double, std::milli>(rec.drained_after()).count()
                   << " left_at_candidate=" << rec.left_at_candidate << " percent=" << m.status().percent;
  publish(self, std::move(d), [self, rp, rec](const caf::error* err) mutable {
    if (err != nullptr)
      rp.deliver(*err);
    else
      rp.deliver(msg::drill_reply{msg::operator_error::none, "", rec, view(self)});
  });
}

/// Draining: waits until the router has no job at the candidate, or the deadline; then asks how many are left.
void await_drain(self_ptr self, drill_promise rp) {
  auto& st = self->state;
  self->request(st.router, drill_time_left(self), msg::count_at_candidate{true})
    .then([self, rp](msg::at_candidate&) { finish_drill(self, rp, 0); },
          [self, rp](caf::error&) {
            // the deadline passed (or the router is gone): how many are still there goes on the record
            self->request(self->state.router, std::chrono::seconds(10), msg::count_at_candidate{false})
              .then([self, rp](msg::at_candidate& a) { finish_drill(self, rp, a.jobs); }, // 0: drained just past it
                    [self, rp](caf::error&) { finish_drill(self, rp, -1); });
          });
}

caf::result<msg::drill_reply> start_drill(self_ptr self, const msg::run_drill& m) {
  auto& mc = machine(self);
  auto r = mc.drill_start(now_of(self), m.max_wait);
  if (r.outcome != operator_outcome::done) {
    const auto error = r.outcome == operator_outcome::bad_request ? msg::operator_error::bad_request
                                                                  : msg::operator_error::not_allowed;
    return msg::drill_reply{error, std::move(r.message), {}, view(self)};
  }
  core::log_line{} << "event=rollout_drill_started from_percent=" << mc.drill().before.percent
                   << " max_wait_ms=" << std::chrono::duration_cast<std::chrono::milliseconds>(mc.drill().max_wait).count();
  auto rp = self->make_response_promise<msg::drill_reply>();
  // the router hears the rollback first (publish), then this question: its answer comes once it routes by it
  publish(self, std::move(r.decision));
  self->request(self->state.router, drill_time_left(self), msg::count_at_candidate{false})
    .then(
      [self, rp](msg::at_candidate& a) {
        machine(self).drill_routed(now_of(self), a.jobs);
        await_drain(self, rp);
      },
      [self, rp](caf::error&) { finish_drill(self, rp, -1); });
  return rp;
}

} // namespace

msg::rollout_actor spawn_rollout_controller(caf::actor_system& sys, config_ptr cfg, msg::audit_store store,
                                            msg::job_reads jobs, msg::router_actor router, clock_anchor clock,
                                            metrics_ptr metrics) {
  auto fn = [](self_ptr self, config_ptr cfg, msg::audit_store store, msg::job_reads jobs, msg::router_actor router,
               clock_anchor clock, metrics_ptr metrics) -> msg::rollout_actor::behavior_type {
    auto& st = self->state;
    st.store = std::move(store);
    st.jobs = std::move(jobs);
    st.router = std::move(router);
    st.clock = clock;
    st.metrics = metrics ? std::move(metrics) : std::make_shared<metrics_registry>();
    st.user_wait_candidate = user_wait_metrics(*st.metrics, "candidate");
    st.user_wait_baseline = user_wait_metrics(*st.metrics, "baseline");
    const auto now = now_of(self);
    st.machine.emplace(std::move(cfg), now);
    // a stored state wins over the configured start: the rollout survives restarts
    self->request(st.store, caf::infinite, msg::load_rollout{})
      .await(
        [self, started = now](msg::rollout_loaded& l) {
          if (l.found)
            machine(self).restore(l.status);
          publish(self, std::nullopt);
          if (l.found) {
            const auto from = machine(self).restore_from(started);
            restore_figures(self, started, {from, 0, 0}, 0);
            restore_feedback(self, from, started);
          }
        },
        [](caf::error& err) { core::log_line{} << "event=rollout_load_failed error=" << to_string(err); });
    self->delayed_send(self, machine(self).cfg().rollout.tick, msg::rollout_tick{});
    // CAF tries the handlers in order, comparing type names: the two of every job and every tick come first
    return {
      [self](msg::observe& m) {
        auto& mc = machine(self);
        const auto now = now_of(self);
        for (const auto& o : m.outcomes)
          mc.observe(o);
        mc.dispatched(cohort::candidate, now, m.dispatched_candidate);
        mc.dispatched(cohort::baseline, now, m.dispatched_baseline);
      },
      [self](msg::rollout_tick) {
        if (auto d = machine(self).tick(now_of(self)))
          publish(self, std::move(d));
        export_user_wait(self);
        self->delayed_send(self, machine(self).cfg().rollout.tick, msg::rollout_tick{});
      },
      [self](const msg::breaker_trip& t) {
        machine(self).breaker_trip(machine(self).cohort_of(t.provider), t.at);
        // kept for a restart (restore_feedback reads them back)
        self->request(self->state.store, caf::infinite, msg::record_trip{audit_store::trip_row{t.provider, t.at}})
          .then([](msg::stored) {},
                [](caf::error& err) { core::log_line{} << "event=breaker_trip_not_stored error=" << to_string(err); });
      },
      [self](const msg::poll_answered& m) {
        machine(self).poll_answered(machine(self).cohort_of(m.provider), m.at);
      },
      [self](const msg::rate_job& m) -> caf::result<msg::rated> {
        auto rp = self->make_response_promise<msg::rated>();
        const double q = m.quality;
        self->request(self->state.jobs, caf::infinite, msg::get_job{m.id})
          .then(
            [self, rp, q, tenant = m.tenant](msg::job_lookup& l) mutable {
              if (!l.found || !core::tenant_sees(tenant, l.job.spec.tenant)) {
                rp.deliver(msg::rated{false});
                return;
              }
              const auto now = now_of(self);
              machine(self).rate(l.job.id, machine(self).cohort_of(l.job.provider), q, now);
              // on disk before the answer: the phase's figures are rebuilt from it after a restart
              self->request(self->state.store, caf::infinite,
                            msg::record_feedback{audit_store::feedback_row{l.job.id, l.job.provider, q, now}})
                .then([rp](msg::stored) mutable { rp.deliver(msg::rated{true}); },
                      [rp](caf::error& err) mutable { rp.deliver(err); });
            },
            [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](msg::get_rollout) { return view(self); },
      [self](const msg::operator_action& a) { return answer(self, machine(self).act(a.action, now_of(self))); },
      [self](const msg::run_drill& m) { return start_drill(self, m); },
      [self](const msg::step_percent& m) { return answer(self, machine(self).step_down(m.percent, now_of(self))); },
      [self](const msg::config_snapshot& c) { publish(self, machine(self).reload(c.cfg, now_of(self))); },
    };
  };
  return sys.spawn(fn, std::move(cfg), std::move(store), std::move(jobs), std::move(router), clock, std::move(metrics));
}

} // namespace cutover::actors
