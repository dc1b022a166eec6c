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
/// Outcomes collected while handling one message, by batch: sent as one message per batch.
using outbox = std::map<std::uint64_t, msg::outcomes>;

/// Answers a port gave synchronously, inside a call made by the handler running on this thread.
thread_local std::vector<msg::call_done>* inline_replies = nullptr;

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
  return [me, batch_id, call_id](provider_reply r) {
    if (inline_replies != nullptr)
      inline_replies->push_back(msg::call_done{batch_id, call_id, std::move(r)});
    else
      caf::anon_send(me, msg::call_done{batch_id, call_id, std::move(r)});
  };
}

/// Turns the answer for items `ids` of a batch (all items when empty) into outcomes, and forgets those items.
void report(self_ptr self, worker_state::batch& wb, const provider_reply& reply, const std::vector<job_id>& ids,
            outbox& out) {
  const auto& env = *self->state.env;
  const auto now = now_of(self);
  auto& sink = out[wb.b.batch_id];
  sink.batch_id = wb.b.batch_id;
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
    o.error = reply.error;
    o.message = reply.message;
    if (reply.error == error_class::none) {
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
    sink.items.push_back(std::move(o));
    it = items.erase(it);
  }
}

void send_outbox(self_ptr self, outbox& out) {
  for (auto& [id, o] : out)
    if (!o.items.empty())
      self->send(self->state.parent, std::move(o));
}

/// Schedules the next poll of a batch's remote job; past the deadline its items time out.
void schedule_poll(self_ptr self, worker_state::batch& wb, outbox& out) {
  const auto& polling = self->state.env->provider.polling;
  const auto elapsed = now_of(self) - wb.b.submitted_at;
  if (auto next = next_poll_after(polling, elapsed)) {
    self->delayed_send(self, *next - elapsed, msg::poll_due{wb.b.batch_id});
    return;
  }
  if (elapsed < polling.deadline) { // one last look at the deadline itself
    self->delayed_send(self, polling.deadline - elapsed, msg::poll_due{wb.b.batch_id});
    return;
  }
  provider_reply r;
  r.error = error_class::timeout;
  r.message = "remote job " + wb.b.remote_id + " not finished by the polling deadline";
  report(self, wb, r, {}, out);
}

void on_reply(self_ptr self, msg::call_done& m, outbox& out);

/// Runs port calls that may answer inline, then handles those answers together (one outcomes message).
template <class Fn>
void calling(self_ptr self, Fn call) {
  std::vector<msg::call_done> replies;
  inline_replies = &replies;
  try {
    call();
  } catch (...) {
    inline_replies = nullptr;
    throw; // a crash: the supervisor restarts this worker
  }
  inline_replies = nullptr;
  outbox out;
  for (auto& r : replies)
    on_reply(self, r, out);
  send_outbox(self, out);
}

void start_calls(self_ptr self, worker_state::batch& wb) {
  const auto& env = *self->state.env;
  const auto now = now_of(self);
  std::vector<job_event> started;
  for (const auto& item : wb.b.items)
    started.push_back(attempt_event(event_kind::attempt_started, job_status::submitted, item, env.provider.name, now));
  self->send(env.store, msg::note_events{std::move(started)});
  const auto batch_id = wb.b.batch_id;
  if (env.port->takes_batches()) {
    calling(self, [&] { env.port->submit(wb.b.items, now, reply_to(self, batch_id, 0)); });
    return;
  }
  // one call per item: answers are matched to items by call id
  auto items = wb.b.items;
  for (std::size_t i = 0; i < items.size(); ++i)
    wb.calls[i + 1] = items[i].id;
  calling(self, [&] {
    for (std::size_t i = 0; i < items.size(); ++i)
      env.port->submit({items[i]}, now, reply_to(self, batch_id, i + 1));
  });
}

void on_accepted(self_ptr self, worker_state::batch& wb, const std::string& remote_id) {
  const auto& env = *self->state.env;
  wb.b.remote_id = remote_id;
  wb.b.submitted_at = now_of(self);
  std::vector<job_event> events;
  for (const auto& item : wb.b.items)
    events.push_back(attempt_event(event_kind::attempt_remote, job_status::running, item, env.provider.name,
                                   wb.b.submitted_at, remote_id));
  const auto batch_id = wb.b.batch_id;
  const auto accepted = msg::remote_accepted{batch_id, remote_id, wb.b.submitted_at};
  auto first_poll = [self, batch_id] {
    if (auto b = self->state.batches.find(batch_id); b != self->state.batches.end()) {
      outbox out;
      schedule_poll(self, b->second, out);
      send_outbox(self, out);
    }
  };
  // Poll only once the remote id is on disk: a crash before that re-submits, after it re-polls.
  self->request(env.store, caf::infinite, msg::record_events{std::move(events)})
    .then(
      [self, accepted, first_poll](msg::stored) {
        self->send(self->state.parent, accepted);
        first_poll();
      },
      [batch_id, first_poll](caf::error& err) {
        std::cerr << "event=remote_id_not_stored batch=" << batch_id << " error=" << to_string(err) << std::endl;
        first_poll();
      });
}

void on_reply(self_ptr self, msg::call_done& m, outbox& out) {
  if (m.reply.delay > duration{0}) { // a simulated latency: the answer arrives later on the actor clock
    auto later = m.reply.delay;
    m.reply.delay = duration{0};
    self->delayed_send(self, later, std::move(m));
    return;
  }
  auto it = self->state.batches.find(m.batch_id);
  if (it == self->state.batches.end())
    return; // a late answer for a batch already reported
  auto& wb = it->second;
  switch (m.reply.k) {
    case provider_reply::kind::accepted:
      on_accepted(self, wb, m.reply.remote_id);
      return;
    case provider_reply::kind::pending:
      schedule_poll(self, wb, out);
      break;
    case provider_reply::kind::done:
      if (m.call_id == 0) {
        report(self, wb, m.reply, {}, out);
      } else if (auto call = wb.calls.find(m.call_id); call != wb.calls.end()) {
        auto id = call->second;
        wb.calls.erase(call);
        report(self, wb, m.reply, {id}, out);
      }
      break;
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
      if (wb.b.remote_id.empty()) {
        start_calls(self, wb);
        return;
      }
      outbox out; // resume a remote job that was submitted before
      schedule_poll(self, wb, out);
      send_outbox(self, out);
    },
    [self](msg::call_done& m) {
      outbox out;
      on_reply(self, m, out);
      send_outbox(self, out);
    },
    [self](const msg::poll_due& m) {
      auto it = self->state.batches.find(m.batch_id);
      if (it == self->state.batches.end())
        return;
      auto& b = it->second.b;
      calling(self, [&] { self->state.env->port->poll(b.remote_id, b.items, now_of(self), reply_to(self, b.batch_id, 0)); });
    },
  };
}

} // namespace

msg::provider_worker_actor spawn_worker(caf::actor_system& sys, msg::provider_actor parent,
                                        std::shared_ptr<const worker_env> env) {
  return sys.spawn(provider_worker, std::move(parent), std::move(env));
}

} // namespace cutover::actors
