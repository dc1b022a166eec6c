#include "actors/provider_worker.hpp"

#include "core/poll_schedule.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <iostream>
#include <map>

namespace cutover::actors {

using namespace cutover::core;

struct worker_state {
  struct batch {
    msg::provider_batch b;
    instant started_at{};
    std::map<std::uint64_t, job_id> calls; ///< one-item calls: call id -> item
  };
  std::map<std::uint64_t, batch> batches;
  msg::provider_actor parent;
  std::shared_ptr<const worker_env> env;
  static inline const char* name = "provider_worker";
};

namespace {

using self_ptr = msg::provider_worker_actor::stateful_pointer<worker_state>;

instant now_of(self_ptr self) { return self->state.env->clock.now(self->clock()); }

job_event attempt_event(event_kind kind, job_status status, const work_item& item, const std::string& provider,
                        instant at, const std::string& remote_id = {}) {
  job_event e;
  e.id = item.id;
  e.kind = kind;
  e.at = at;
  e.status = status;
  e.attempt.no = item.attempt_no;
  e.attempt.provider = provider;
  e.attempt.started_at = at;
  e.attempt.remote_id = remote_id;
  return e;
}

core::provider_port::callback reply_to(self_ptr self, std::uint64_t batch_id, std::uint64_t call_id) {
  msg::provider_worker_actor me = self;
  return [me, batch_id, call_id](provider_reply r) { caf::anon_send(me, msg::call_done{batch_id, call_id, std::move(r)}); };
}

/// Reports the items `ids` of a batch (all items when empty) and forgets them.
void report(self_ptr self, worker_state::batch& wb, const provider_reply& reply, const std::vector<job_id>& ids) {
  const auto& env = *self->state.env;
  const auto now = now_of(self);
  msg::outcomes out{wb.b.batch_id, {}};
  auto& items = wb.b.items;
  for (auto it = items.begin(); it != items.end();) {
    bool included = ids.empty();
    for (auto id : ids)
      included |= id == it->id;
    if (!included) {
      ++it;
      continue;
    }
    item_outcome o;
    o.id = it->id;
    o.attempt_no = it->attempt_no;
    o.provider = env.provider.name;
    o.started_at = wb.started_at;
    o.finished_at = now;
    o.remote_id = wb.b.remote_id;
    if (reply.error != error_class::none) {
      o.error = reply.error;
      o.message = reply.message;
    } else {
      o.error = error_class::bad_response;
      o.message = "the provider's answer has no result for this item";
      for (const auto& r : reply.items)
        if (r.id == it->id) {
          o.error = r.error;
          o.message = r.message;
          o.images = r.images;
          o.cost = r.cost;
          o.quality = r.quality;
          if (o.error == error_class::none && o.images.empty()) {
            o.error = error_class::bad_response;
            o.message = "succeeded without image data";
          }
        }
    }
    out.items.push_back(std::move(o));
    it = items.erase(it);
  }
  if (!out.items.empty())
    self->send(self->state.parent, std::move(out));
}

void timeout_all(self_ptr self, worker_state::batch& wb) {
  provider_reply r;
  r.error = error_class::timeout;
  r.message = "remote job " + wb.b.remote_id + " not finished by the polling deadline";
  report(self, wb, r, {});
}

/// Schedules the next poll of a batch's remote job, or times it out past the deadline.
void schedule_poll(self_ptr self, worker_state::batch& wb) {
  const auto& polling = self->state.env->provider.polling;
  const auto now = now_of(self);
  const auto elapsed = now - wb.b.submitted_at;
  if (auto next = next_poll_after(polling, elapsed)) {
    self->delayed_send(self, *next - elapsed, msg::poll_due{wb.b.batch_id});
    return;
  }
  if (elapsed < polling.deadline) { // one last look at the deadline itself
    self->delayed_send(self, polling.deadline - elapsed, msg::poll_due{wb.b.batch_id});
    return;
  }
  timeout_all(self, wb);
}

void start_calls(self_ptr self, worker_state::batch& wb) {
  const auto& env = *self->state.env;
  const auto now = now_of(self);
  std::vector<job_event> started;
  for (const auto& item : wb.b.items)
    started.push_back(attempt_event(event_kind::attempt_started, job_status::submitted, item, env.provider.name, now));
  self->send(env.store, msg::note_events{std::move(started)});
  if (env.port->takes_batches()) {
    env.port->submit(wb.b.items, now, reply_to(self, wb.b.batch_id, 0));
    return;
  }
  // one call per item: answers are matched to items by call id
  auto items = wb.b.items;
  for (std::size_t i = 0; i < items.size(); ++i)
    wb.calls[i + 1] = items[i].id;
  for (std::size_t i = 0; i < items.size(); ++i)
    env.port->submit({items[i]}, now, reply_to(self, wb.b.batch_id, i + 1));
}

void on_reply(self_ptr self, msg::call_done& m) {
  auto it = self->state.batches.find(m.batch_id);
  if (it == self->state.batches.end())
    return; // a late answer for a batch already reported
  auto& wb = it->second;
  auto& reply = m.reply;
  const auto& env = *self->state.env;
  switch (reply.k) {
    case provider_reply::kind::accepted: {
      wb.b.remote_id = reply.remote_id;
      wb.b.submitted_at = now_of(self);
      std::vector<job_event> events;
      for (const auto& item : wb.b.items)
        events.push_back(attempt_event(event_kind::attempt_remote, job_status::running, item, env.provider.name,
                                       wb.b.submitted_at, reply.remote_id));
      auto batch_id = wb.b.batch_id;
      auto accepted = msg::remote_accepted{batch_id, reply.remote_id, wb.b.submitted_at};
      // Poll only once the remote id is on disk: a crash before that re-submits, after it re-polls.
      self->request(env.store, caf::infinite, msg::record_events{std::move(events)})
        .then(
          [self, batch_id, accepted](msg::stored) {
            self->send(self->state.parent, accepted);
            if (auto b = self->state.batches.find(batch_id); b != self->state.batches.end())
              schedule_poll(self, b->second);
          },
          [self, batch_id](caf::error& err) {
            std::cerr << "event=remote_id_not_stored batch=" << batch_id << " error=" << to_string(err) << std::endl;
            if (auto b = self->state.batches.find(batch_id); b != self->state.batches.end())
              schedule_poll(self, b->second);
          });
      return;
    }
    case provider_reply::kind::pending:
      schedule_poll(self, wb);
      return;
    case provider_reply::kind::done: {
      if (m.call_id == 0) {
        report(self, wb, reply, {});
        break;
      }
      auto call = wb.calls.find(m.call_id);
      if (call == wb.calls.end())
        return;
      auto id = call->second;
      wb.calls.erase(call);
      report(self, wb, reply, {id});
      break;
    }
  }
  if (wb.b.items.empty())
    self->state.batches.erase(it);
}

msg::provider_worker_actor::behavior_type provider_worker(self_ptr self, msg::provider_actor parent,
                                                          std::shared_ptr<const worker_env> env) {
  self->state.parent = std::move(parent);
  self->state.env = std::move(env);
  return {
    [self](msg::provider_batch& b) {
      auto id = b.batch_id;
      auto& wb = self->state.batches[id];
      wb.b = std::move(b);
      wb.started_at = now_of(self);
      if (!wb.b.remote_id.empty())
        schedule_poll(self, wb); // resume a remote job that was submitted before
      else
        start_calls(self, wb);
    },
    [self](msg::call_done& m) {
      if (m.reply.delay > core::duration{0}) {
        auto later = m.reply.delay;
        m.reply.delay = core::duration{0};
        self->delayed_send(self, later, std::move(m));
        return;
      }
      on_reply(self, m);
    },
    [self](const msg::poll_due& m) {
      auto it = self->state.batches.find(m.batch_id);
      if (it == self->state.batches.end())
        return;
      auto& b = it->second.b;
      self->state.env->port->poll(b.remote_id, b.items, now_of(self), reply_to(self, b.batch_id, 0));
    },
  };
}

} // namespace

msg::provider_worker_actor spawn_worker(caf::actor_system& sys, msg::provider_actor parent,
                                        std::shared_ptr<const worker_env> env) {
  return sys.spawn(provider_worker, std::move(parent), std::move(env));
}

} // namespace cutover::actors
