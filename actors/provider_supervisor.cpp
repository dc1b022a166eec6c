#include "actors/provider_supervisor.hpp"
#include "core/log_line.hpp"

#include "core/ledger.hpp" // the budget day

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <iostream>
#include <map>
#include <set>

namespace cutover::actors {

namespace {

struct supervisor_state {
  std::shared_ptr<const worker_env> env;
  outcome_sink downstream;
  msg::provider_worker_actor worker;
  std::shared_ptr<worker_memory> memory; ///< breaker and limits, lent to the live worker, kept across restarts
  std::set<caf::actor_addr> linked_workers; ///< workers whose exit (from the link) has not arrived yet
  core::restart_intensity intensity;
  std::uint64_t next_batch = 1;
  std::map<std::uint64_t, msg::provider_batch> in_flight; ///< items without an outcome yet
  /// Batches of in_flight whose provider has answered and whose outcomes wait for their images to be on disk.
  std::set<std::uint64_t> storing_images;
  bool draining = false;                                  ///< no new batch starts
  std::size_t held = 0;                                   ///< batches not started because of the drain
  std::vector<caf::typed_response_promise<msg::drained>> drain_waiters;
  static inline const char* name = "provider_supervisor";
};

using self_ptr = msg::provider_actor::stateful_pointer<supervisor_state>;

/// The worker is monitored (its crash is a down message: restart it) and linked (when the supervisor ends, for
/// any reason, its worker ends with it, pending timers and all).
void start_worker(self_ptr self) {
  if (!self->state.memory)
    self->state.memory = std::make_shared<worker_memory>(*self->state.env);
  self->state.worker = spawn_worker(self->system(), msg::provider_actor{self}, self->state.env, self->state.memory);
  self->monitor(self->state.worker);
  self->link_to(self->state.worker);
  self->state.linked_workers.insert(self->state.worker.address());
}

void on_worker_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (dm.source != st.worker.address())
    return;
  const auto& name = st.env->provider.name;
  const auto now = st.env->clock.now(self->clock());
  if (!st.intensity.allow_restart(now)) {
    core::log_line{} << "event=supervisor_escalates provider=" << name << " restarts=" << st.intensity.recent()
              << " reason=" << to_string(dm.reason);
    self->quit(dm.reason);
    return;
  }
  if (st.env->metrics)
    st.env->metrics
      ->get_counter("cutover_worker_restarts_total", {{"provider", name}}, "Provider workers restarted after a crash.")
      .add();
  core::log_line{} << "event=worker_restarted provider=" << name << " reason=" << to_string(dm.reason)
            << " batches_resent=" << st.in_flight.size();
  st.memory->forget_calls_in_flight();
  st.storing_images.clear(); // the new worker calls (or polls) again for these batches
  start_worker(self);
  for (const auto& [id, batch] : st.in_flight)
    self->send(st.worker, batch);
}

/// A call is on the wire (or waiting for a retry) unless its batch is an async remote job with a known id; a batch
/// whose provider answered counts until its images are on disk and its outcomes are reported (a drain that ended
/// before would leave a settled call to be made again at the next start).
bool calls_on_wire(self_ptr self) {
  const bool async = self->state.env->provider.mode == core::provider_mode::async;
  for (const auto& [id, b] : self->state.in_flight)
    if (!async || b.remote_id.empty() || self->state.storing_images.count(id) > 0)
      return true;
  return false;
}

void answer_drain(self_ptr self) {
  auto& st = self->state;
  if (st.drain_waiters.empty() || calls_on_wire(self))
    return;
  for (auto& rp : st.drain_waiters)
    rp.deliver(msg::drained{st.held});
  st.drain_waiters.clear();
}

} // namespace

msg::provider_actor spawn_provider(caf::actor_system& sys, std::shared_ptr<const worker_env> env,
                                   outcome_sink downstream, supervisor_limits limits) {
  auto fn = [](self_ptr self, std::shared_ptr<const worker_env> env, outcome_sink downstream,
               supervisor_limits limits) -> msg::provider_actor::behavior_type {
    self->state.env = std::move(env);
    self->state.downstream = std::move(downstream);
    self->state.intensity = core::restart_intensity{limits.max_restarts, limits.window};
    self->set_down_handler([self](caf::down_msg& dm) { on_worker_down(self, dm); });
    self->set_exit_handler([self](caf::exit_msg& em) {
      // a worker's end (current or replaced) is handled as a down message; any other exit ends the supervisor
      if (self->state.linked_workers.erase(em.source) == 0)
        self->quit(em.reason);
    });
    start_worker(self);
    // After a process restart the hour and day windows count the calls made before it: a restart grants no fresh
    // quota. Awaited, so no batch starts before.
    const auto& lim = self->state.env->provider.limits;
    if (lim.max_per_hour > 0 || lim.max_per_day > 0) {
      const auto now = self->state.env->clock.now(self->clock());
      const auto day_start = core::budget_day_start(core::budget_day_index(now, self->state.env->day_starts),
                                                    self->state.env->day_starts);
      const auto since = std::min(day_start, now - std::chrono::hours(1));
      self->request(self->state.env->store, caf::infinite, msg::load_call_starts{self->state.env->provider.name, since})
        .await(
          [self](msg::call_starts& m) {
            const auto n = m.starts.size();
            self->state.memory->limits.restore(std::move(m.starts), self->state.env->clock.now(self->clock()));
            if (n > 0)
              core::log_line{} << "event=limits_restored provider=" << self->state.env->provider.name << " calls=" << n;
          },
          [self](caf::error& err) {
            core::log_line{} << "event=limits_not_restored provider=" << self->state.env->provider.name
                      << " error=" << to_string(err);
          });
    }
    return {
      [self](msg::provider_batch& b) {
        auto& st = self->state;
        if (st.draining) {
          // on disk as routed: the next start routes these jobs again
          ++st.held;
          core::log_line{} << "event=batch_held provider=" << st.env->provider.name << " items=" << b.items.size()
                    << " reason=draining";
          return;
        }
        auto hand_over = [&](msg::provider_batch one) {
          one.batch_id = st.next_batch++;
          st.in_flight[one.batch_id] = one;
          self->send(st.worker, std::move(one));
        };
        // An async API that takes one item per call (Replicate) gives each item its own remote job: each is its
        // own batch here, so each remote id is kept, resumed and polled on its own.
        const bool per_item_remote = !st.env->port->takes_batches() &&
                                     st.env->provider.mode == core::provider_mode::async && b.remote_id.empty();
        if (!per_item_remote || b.items.size() <= 1) {
          hand_over(std::move(b));
          return;
        }
        for (auto& item : b.items) {
          msg::provider_batch one;
          one.tier_ = b.tier_;
          one.items.push_back(std::move(item));
          hand_over(std::move(one));
        }
      },
      [self](msg::drain_calls) -> caf::result<msg::drained> {
        auto& st = self->state;
        st.draining = true;
        if (!calls_on_wire(self))
          return msg::drained{st.held};
        st.drain_waiters.push_back(self->make_response_promise<msg::drained>());
        return st.drain_waiters.back();
      },
      [self](const msg::config_snapshot& c) {
        // the same port (API, key, URL); new retry, breaker, limits, polling and timeout settings
        auto& st = self->state;
        if (auto env = reconfigured(*st.env, *c.cfg)) {
          st.env = std::move(env);
          self->send(st.worker, c);
        }
      },
      // the worker knows which items wait and which are on the wire; it reports what it took back as outcomes
      [self](msg::recall_items& m) { self->send(self->state.worker, std::move(m)); },
      [self](const msg::remote_accepted& m) {
        auto it = self->state.in_flight.find(m.batch_id);
        if (it == self->state.in_flight.end())
          return;
        it->second.remote_id = m.remote_id;
        it->second.submitted_at = m.submitted_at;
        answer_drain(self);
      },
      [self](const msg::images_storing& m) {
        if (self->state.in_flight.count(m.batch_id) > 0)
          self->state.storing_images.insert(m.batch_id);
      },
      [self](msg::outcomes& m) {
        auto& st = self->state;
        auto it = st.in_flight.find(m.batch_id);
        if (it == st.in_flight.end())
          return; // already reported before a restart
        auto& items = it->second.items;
        msg::outcomes fresh{m.batch_id, {}};
        for (auto& o : m.items) {
          for (auto i = items.begin(); i != items.end(); ++i)
            if (i->id == o.id && i->attempt_no == o.attempt_no) {
              items.erase(i);
              fresh.items.push_back(std::move(o));
              break;
            }
        }
        if (items.empty()) {
          st.in_flight.erase(it);
          st.storing_images.erase(m.batch_id);
        }
        if (!fresh.items.empty())
          self->send(st.downstream, std::move(fresh));
        answer_drain(self);
      },
    };
  };
  return sys.spawn(fn, std::move(env), std::move(downstream), limits);
}

} // namespace cutover::actors
