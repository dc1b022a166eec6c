#include "actors/ledger_actor.hpp"
#include "core/log_line.hpp"
#include "core/notify_rules.hpp"
#include "messages/notify.hpp"

#include "core/job.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

namespace cutover::actors {

using namespace cutover::core;

namespace {

/// How often the day boundary is checked (and figures exported) when nothing else happens.
constexpr auto tick_every = std::chrono::seconds(10);

struct ledger_state {
  config_ptr cfg;
  msg::budget_store store;
  clock_anchor clock;
  std::unique_ptr<core::ledger> book;
  metrics_ptr metrics;
  counter* admitted = nullptr;
  counter* refused = nullptr;
  std::map<std::string, gauge*> stopped; ///< cutover_budget_stopped per provider, looked up once
  /// cutover_budget_{consumed,reserved,limit}_usd per book row, looked up once (persist runs on every settle)
  struct row_gauges {
    gauge* consumed = nullptr;
    gauge* reserved = nullptr;
    gauge* limit = nullptr; ///< looked up when the row first has a limit
  };
  std::map<std::string, row_gauges> row_gauge;
  core::admissibility view;                      ///< budget blocks (its own) and the providers' reported ones
  std::vector<msg::admissibility_sink> watchers; ///< hear every change of `view`
  std::string logged;                            ///< the blocks last logged, so only a change of them is logged
  std::set<std::string> budget_stopped;          ///< providers ("" = global) stopped for budget, as last notified
  static inline const char* name = "ledger";
};

using self_ptr = msg::ledger_actor::stateful_pointer<ledger_state>;

instant now_of(self_ptr self) { return self->state.clock.now(self->clock()); }

/// Sends changed rows to the store (they join its next commit) and updates the gauges.
void persist(self_ptr self) {
  auto& st = self->state;
  auto dirty = st.book->take_dirty();
  if (dirty.empty())
    return;
  // the rows that changed (a closed day's rows come before the new day's): the gauges of the others stand
  for (const auto& r : dirty) {
    auto& g = st.row_gauge[r.provider];
    const auto l = [&r] { return labels{{"provider", r.provider.empty() ? "all" : r.provider}}; };
    if (!g.consumed) {
      g.consumed = &st.metrics->get_scaled_gauge("cutover_budget_consumed_usd", l(), "Spend settled today.",
                                                 micros_per_usd);
      g.reserved = &st.metrics->get_scaled_gauge("cutover_budget_reserved_usd", l(),
                                                 "Spend reserved by calls in flight.", micros_per_usd);
    }
    g.consumed->set(r.consumed);
    g.reserved->set(r.reserved);
    if (r.limit) {
      if (!g.limit)
        g.limit = &st.metrics->get_scaled_gauge("cutover_budget_limit_usd", l(), "Daily limit.", micros_per_usd);
      g.limit->set(*r.limit);
    }
  }
  self->send(st.store, msg::note_budget{std::move(dirty)});
}

/// Sends the view to every watcher, and logs which blocks hold when that changed.
void publish(self_ptr self, instant now) {
  auto& st = self->state;
  for (const auto& w : st.watchers)
    self->send(w, msg::admissibility_update{st.view, now});
  std::string blocked;
  for (const auto& [key, b] : st.view.blocks(now))
    blocked += (blocked.empty() ? "" : ",") + (key.first.empty() ? std::string{"*"} : key.first) + ":" +
               std::string{to_string(key.second)} + "@" + format_rfc3339(b.until);
  if (blocked == st.logged)
    return;
  st.logged = blocked;
  // after the sends: whoever reads this line finds the watchers told
  core::log_line{} << "event=admissibility_changed blocked=" << (blocked.empty() ? "none" : blocked);
}

/// The budget part of the view, from the book: a provider (or, globally, every one) whose stop line leaves less
/// room than its dearest job (max_images_per_job images of its dearest tier) is blocked until the next budget day
/// for work that does not fit that room, the ledger's own admission rule (a released reservation lifts it early).
/// Publishes when the view changed.
void refresh_view(self_ptr self, instant now) {
  auto& st = self->state;
  const auto& b = st.cfg->budget;
  const auto next_day = budget_day_start(budget_day_index(now, b.day_starts) + 1, b.day_starts);
  bool changed = false;
  auto judge = [&](const std::string& who, micros dearest) {
    const auto stop = st.book->line(who);
    const micros exposure = st.book->consumed(who) + st.book->reserved(who);
    const bool stopped = stop && *stop - exposure < dearest;
    // a change of stop, kept as an event and notified (budget.stopped / budget.resumed)
    if (stopped != (st.budget_stopped.count(who) != 0)) {
      if (stopped)
        st.budget_stopped.insert(who);
      else
        st.budget_stopped.erase(who);
      self->send(caf::actor_cast<msg::notice_sink>(st.store),
                 msg::record_notice{core::budget_notice(who, stopped, now, exposure, stop.value_or(0))});
    }
    if (stopped)
      changed |= st.view.block(who, block_reason::budget, next_day,
                               (who.empty() ? std::string{"global"} : who) + " " + format_usd(exposure) +
                                 " of stop line " + format_usd(*stop),
                               *stop - exposure);
    else
      changed |= st.view.clear(who, block_reason::budget);
  };
  micros dearest_any = 0;
  for (const auto& p : st.cfg->providers) {
    const auto dearest = *std::max_element(p.cost_per_image.begin(), p.cost_per_image.end()) * max_images_per_job;
    dearest_any = std::max(dearest_any, dearest);
    judge(p.name, dearest);
  }
  judge(std::string{admissibility::every_provider}, dearest_any);
  const auto before = st.view.blocks(now).size();
  st.view.prune(now);
  changed |= st.view.blocks(now).size() != before;
  if (changed)
    publish(self, now);
}

void restore(self_ptr self, const budget_store::budget_snapshot& snap) {
  auto& st = self->state;
  std::vector<open_reservation> open;
  for (const auto& o : snap.open)
    if (const auto* p = st.cfg->provider(o.provider))
      open.push_back({o.key, o.provider, o.reserved > 0 ? o.reserved : estimate_cost(*p, o.tier_, o.n)});
  st.book->restore(snap.today, open);
  core::log_line{} << "event=ledger_restored day=" << st.book->day() << " consumed=" << format_usd(st.book->consumed(""))
            << " open_reservations=" << open.size();
  persist(self);
  refresh_view(self, now_of(self));
}

} // namespace

msg::ledger_actor spawn_ledger(caf::actor_system& sys, config_ptr cfg, msg::budget_store store, clock_anchor clock,
                               metrics_ptr metrics) {
  auto fn = [](self_ptr self, config_ptr cfg, msg::budget_store store, clock_anchor clock,
               metrics_ptr metrics) -> msg::ledger_actor::behavior_type {
    auto& st = self->state;
    st.cfg = std::move(cfg);
    st.store = std::move(store);
    st.clock = clock;
    st.metrics = metrics ? std::move(metrics) : std::make_shared<metrics_registry>();
    st.admitted = &st.metrics->get_counter("cutover_budget_admissions_total", {{"verdict", "admitted"}},
                                           "Budget admissions by verdict.");
    st.refused = &st.metrics->get_counter("cutover_budget_admissions_total", {{"verdict", "refused"}},
                                          "Budget admissions by verdict.");
    const auto now = now_of(self);
    st.book = std::make_unique<core::ledger>(st.cfg->budget, now);
    const auto day_start = budget_day_start(budget_day_index(now, st.cfg->budget.day_starts), st.cfg->budget.day_starts);
    // Nothing is admitted before the day's spend and the reservations in flight are known.
    self->request(st.store, caf::infinite, msg::load_budget{day_start, st.book->day()})
      .await([self](msg::budget_state& b) { restore(self, b.snapshot); },
             [](caf::error& err) { core::log_line{} << "event=ledger_restore_failed error=" << to_string(err); });
    self->delayed_send(self, tick_every, msg::budget_tick{});
    return {
      [self](msg::admit& m) {
        auto& st = self->state;
        const auto now = now_of(self);
        st.book->tick(now);
        msg::admit_result out;
        for (const auto& r : m.requests) {
          out.verdicts.push_back(st.book->reserve(r.key, r.provider, r.estimate, now));
          const bool ok = out.verdicts.back().admitted();
          (ok ? st.admitted : st.refused)->add();
          // its last admission was refused: its traffic goes to the fallback (readiness says degraded)
          auto& g = st.stopped[r.provider];
          if (g == nullptr)
            g = &st.metrics->get_gauge("cutover_budget_stopped", {{"provider", r.provider}},
                                       "1 while a provider's admissions are refused for budget (its last one was).");
          g->set(ok ? 0 : 1);
        }
        persist(self);
        refresh_view(self, now);
        return out;
      },
      [self](msg::settle& m) {
        auto& st = self->state;
        const auto now = now_of(self);
        st.book->tick(now);
        for (const auto& s : m.items) {
          if (s.release)
            st.book->release(s.key, now);
          else
            st.book->settle(s.key, s.actual, now);
        }
        persist(self);
        refresh_view(self, now);
      },
      [self](const msg::budget_query& q) -> caf::result<msg::budget_report> {
        auto& st = self->state;
        const auto now = now_of(self);
        st.book->tick(now);
        msg::budget_report report;
        report.today = st.book->day();
        for (const auto& name : [&] {
               std::vector<std::string> n{""};
               for (const auto& p : st.cfg->providers)
                 n.push_back(p.name);
               return n;
             }())
          if (auto line = st.book->line(name))
            report.stop_lines.emplace_back(name, *line);
        auto live = st.book->rows();
        auto rp = self->make_response_promise<msg::budget_report>();
        const auto since = budget_day(now - std::chrono::hours(24) * std::max(q.days - 1, 0), st.cfg->budget.day_starts);
        self->request(st.store, caf::infinite, msg::load_budget_days{since})
          .then(
            [rp, report, live](msg::budget_days& d) mutable {
              for (auto& r : d.rows)
                if (r.day != report.today)
                  report.rows.push_back(std::move(r));
              report.rows.insert(report.rows.end(), live.begin(), live.end());
              rp.deliver(std::move(report));
            },
            [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](const msg::stats_query& q) -> caf::result<msg::daily_stats> {
        auto& st = self->state;
        const auto& b = st.cfg->budget;
        const auto today = budget_day_index(now_of(self), b.day_starts);
        const auto since = budget_day_start(today - std::max(q.days - 1, 0), b.day_starts);
        auto rp = self->make_response_promise<msg::daily_stats>();
        self->request(st.store, caf::infinite, msg::load_daily_stats{since, b.day_starts})
          .then([rp](msg::daily_stats& d) mutable { rp.deliver(std::move(d)); },
                [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self](const msg::config_snapshot& c) {
        self->state.cfg = c.cfg;
        self->state.book->reconfigure(c.cfg->budget); // reservations are kept; new limits from the next admission
        persist(self);
        refresh_view(self, now_of(self));
      },
      [self](msg::watch_admissibility& w) {
        self->send(w.sink, msg::admissibility_update{self->state.view, now_of(self)});
        self->state.watchers.push_back(std::move(w.sink));
      },
      [self](msg::admissibility_query) { return msg::admissibility_update{self->state.view, now_of(self)}; },
      [self](const msg::provider_admissibility& m) {
        auto& v = self->state.view;
        if (m.blocked ? v.block(m.provider, m.reason, m.until, m.why) : v.clear(m.provider, m.reason))
          publish(self, now_of(self));
      },
      [self](msg::budget_tick) {
        self->state.book->tick(now_of(self));
        persist(self);
        refresh_view(self, now_of(self));
        self->delayed_send(self, tick_every, msg::budget_tick{});
      },
    };
  };
  return sys.spawn(fn, std::move(cfg), std::move(store), clock, std::move(metrics));
}

} // namespace cutover::actors
