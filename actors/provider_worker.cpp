#include "actors/provider_worker.hpp"
#include "core/log_line.hpp"
#include "core/notify_rules.hpp"
#include "messages/notify.hpp"

#include "core/bucket.hpp"
#include "core/circuit_breaker.hpp"
#include "core/poll_schedule.hpp"
#include "core/metric_catalog.hpp"
#include "core/rate_limits.hpp"
#include "core/retry_policy.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <array>
#include <iostream>
#include <map>
#include <optional>
#include <deque>
#include <random>
#include <sstream>

namespace cutover::actors {

using namespace cutover::core;

struct worker_state {
  /// One call (and its retries) of a batch: the whole batch (id 0) or one item of it.
  struct call {
    std::vector<job_id> items; ///< empty: every item left in the batch
    int calls_made = 0;
    int bad_responses = 0;
    bool holds_slot = false; ///< a concurrency slot of the provider's limits is held for this call
    std::optional<breaker_ticket> ticket; ///< the breaker's admission of the call on the wire; its outcome counts only there
    instant first_at{}; ///< when the first call of this attempt started (retry.deadline runs from it)
  };
  struct batch {
    msg::provider_batch b;
    instant started_at{};
    std::map<std::uint64_t, call> calls;
    bool remote_slot = false; ///< an async remote job holds a slot until it ends
    bool not_started = false; ///< the provider's last word on the remote job: it has not started (nothing billed)
  };
  std::map<std::uint64_t, batch> batches;
  /// Outcomes waiting for their images to be stored, by hold id; `pending`: items whose images are not stored yet.
  struct held {
    msg::outcomes o;
    std::vector<bool> pending;
    std::size_t left = 0;
  };
  std::map<std::uint64_t, held> holds;
  std::uint64_t next_hold = 1;
  msg::provider_actor parent;
  std::shared_ptr<const worker_env> env;
  std::shared_ptr<worker_memory> memory; ///< the supervisor's breaker and limits
  circuit_breaker* breaker = nullptr;
  provider_limits* limits = nullptr;
  std::deque<msg::retry_call> waiting; ///< calls waiting for a concurrency slot (on_limit: wait)
  std::mt19937_64 jitter;
  core::metrics_ptr metrics;
  core::gauge* breaker_gauge = nullptr;
  std::optional<instant> reported_breaker; ///< the breaker block last told to the admissibility view (none: none)
  core::counter* retries = nullptr;
  core::counter* cancels = nullptr;
  core::counter* trips = nullptr;
  std::array<std::array<core::counter*, 16>, 3> answers{}; ///< cutover_provider_calls_total by call and error_class
  core::histogram* call_time = nullptr;
  core::gauge* waiting_items = nullptr; ///< the queue's "waiting" stage: calls parked for a limit or a retry
  core::gauge* in_flight = nullptr;
  core::gauge* remote_jobs = nullptr; ///< batches with a remote id: followed by polling
  std::array<core::gauge*, 3> limit_used{}; ///< concurrency, hour, day
  std::array<core::gauge*, 3> limit_max{};
  static inline const char* name = "provider_worker";
};

namespace {

using self_ptr = msg::provider_worker_actor::stateful_pointer<worker_state>;
/// Outcomes collected while handling one message, by batch: sent as one message per batch.
using outbox = std::map<std::uint64_t, msg::outcomes>;

/// Answers a port gave synchronously, inside a call made by the handler running on this thread.
thread_local std::vector<msg::call_done>* inline_replies = nullptr;

instant now_of(self_ptr self) { return self->state.env->clock.now(self->clock()); }
const std::string& provider_name(self_ptr self) { return self->state.env->provider.name; }

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

/// Wakes the worker when an open breaker half-opens, so its gauge and log change on time even with no traffic
/// (allow() would otherwise find out only at the next call). A timer made stale by a later trip or a reconfigured
/// open_for finds nothing to do: advance() acts only once open_for has passed.
void schedule_half_open(self_ptr self) {
  if (auto at = self->state.breaker->half_opens_at())
    self->delayed_send(self, std::max(duration{0}, *at - now_of(self)), msg::breaker_due{});
}

/// Tells the owner of the admissibility view whether the breaker stops new work, and until when (it half-opens:
/// probes are admitted then). Sent only on a change, so a quiet provider costs nothing.
void report_breaker(self_ptr self) {
  auto& st = self->state;
  if (!st.env->admissibility)
    return;
  const auto until = st.breaker->state(now_of(self)) == breaker_state::open ? st.breaker->half_opens_at() : std::nullopt;
  if (until == st.reported_breaker)
    return;
  st.reported_breaker = until;
  self->send(st.env->admissibility,
             msg::provider_admissibility{provider_name(self), block_reason::breaker, until.has_value(),
                                         until.value_or(instant{}), until ? "the circuit breaker is open" : ""});
}

/// A limit window refused a call: the provider takes no new work until `lim.retry_at` (a concurrency refusal
/// is not reported: a slot frees as soon as some call ends).
void report_limit(self_ptr self, const limit_check& lim) {
  auto& st = self->state;
  if (!st.env->admissibility || !lim.retry_at ||
      (lim.verdict != limit_verdict::hourly && lim.verdict != limit_verdict::daily))
    return;
  const auto reason = lim.verdict == limit_verdict::hourly ? block_reason::hourly_limit : block_reason::daily_limit;
  self->send(st.env->admissibility,
             msg::provider_admissibility{provider_name(self), reason, true, *lim.retry_at, lim.reason});
}

/// Logs the breaker's state changes with their figures.
void log_breaker(self_ptr self) {
  auto& st = self->state;
  st.breaker_gauge->set(static_cast<std::int64_t>(st.breaker->state(now_of(self))));
  bool opened = false;
  for (const auto& t : st.breaker->take_transitions()) {
    if (t.to == breaker_state::open && st.env->trips)
      self->send(st.env->trips, msg::breaker_trip{provider_name(self), t.at});
    opened |= t.to == breaker_state::open;
    // opened and closed again are kept as events and notified (half-open is the breaker's own business)
    if (t.to != breaker_state::half_open && st.env->store)
      self->send(caf::actor_cast<msg::notice_sink>(st.env->store),
                 msg::record_notice{core::breaker_notice(provider_name(self), to_string(t.to), t.at, t.requests,
                                                         t.failures, t.reason)});
    if (t.to == breaker_state::open)
      st.trips->add();
    core::log_line{} << "event=breaker provider=" << provider_name(self) << " from=" << to_string(t.from)
              << " to=" << to_string(t.to) << " requests=" << t.requests << " failures=" << t.failures
              << " failure_rate_ppm=" << t.failure_rate << " reason=\"" << t.reason << "\"";
  }
  if (opened)
    schedule_half_open(self);
  report_breaker(self);
}

/// What an answer of the provider was to (label `call` of the calls metric): a submit, a poll that found the remote
/// job still running or could not tell, or the poll that brought the remote job's end (its outcome is the job's).
/// An alert on provider failures counts creates and results against creates: polls, one every few seconds while a
/// remote job runs, would otherwise dilute the rate.
enum class call_kind : std::uint8_t { create, poll, result };
constexpr const char* call_names[] = {"create", "poll", "result"};

/// Counts an answer of the provider in the calls metric.
void count_answer(self_ptr self, call_kind call, error_class outcome) {
  // looked up once: no registry lock per call
  auto& c = self->state.answers[static_cast<std::size_t>(call)][static_cast<std::size_t>(outcome)];
  if (c == nullptr)
    c = &self->state.metrics->get_counter("cutover_provider_calls_total",
                                          {{"provider", provider_name(self)},
                                           {"call", call_names[static_cast<std::size_t>(call)]},
                                           {"outcome", std::string{to_string(outcome)}}});
  c->add();
}

/// Counts the outcome of call `call_id` of a batch, and tells the breaker with the ticket that admitted the call
/// (so an answer from before the breaker's last change of state changes nothing). The ticket is used once.
/// Polls are not calls for the breaker: their `pending` would dilute its window (and close a half-open breaker
/// before its probe answered), so they go through count_answer only.
void record_call(self_ptr self, worker_state::batch& wb, std::uint64_t call_id, error_class outcome) {
  count_answer(self, call_kind::create, outcome);
  auto c = wb.calls.find(call_id);
  if (c == wb.calls.end() || !c->second.ticket)
    return;
  self->state.breaker->record(*c->second.ticket, outcome, now_of(self));
  c->second.ticket.reset();
  log_breaker(self);
}

/// The price per image of an item: fixed at admission (what its reservation was made of, so a reload that changes
/// prices while the call runs does not move it), or, for an item that carries none, its tier's price in the
/// provider's current configuration.
micros unit_price(self_ptr self, const work_item& item) {
  return item.unit_price >= 0 ? item.unit_price
                              : self->state.env->provider.cost_per_image[static_cast<std::size_t>(item.tier_)];
}

/// What a succeeded item costs: its unit price times the images kept. The client asked for `n`: a provider that
/// returns more is neither kept nor charged beyond n, so spend never passes what the ledger reserved (price x n).
void price(self_ptr self, const work_item& item, item_outcome& o) {
  const auto asked = static_cast<std::size_t>(std::max(item.n, 1));
  if (o.images.size() > asked)
    o.images.resize(asked);
  o.cost = unit_price(self, item) * static_cast<micros>(o.images.size());
}

/// Turns the answer for items `ids` of a batch (all items when empty) into outcomes, and forgets those items.
void report(self_ptr self, worker_state::batch& wb, const provider_reply& reply, const std::vector<job_id>& ids,
            outbox& out) {
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
    o.provider = provider_name(self);
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
          o.quality = r.quality;
          if (o.error == error_class::none && o.images.empty()) {
            o.error = error_class::bad_response;
            o.message = "succeeded without image data";
          }
          if (o.error == error_class::none)
            price(self, *it, o);
        }
    }
    if (!is_own_error(o.error)) // no call was made (or the engine stopped waiting): no call time
      self->state.call_time->observe(o.finished_at - o.started_at);
    sink.items.push_back(std::move(o));
    it = items.erase(it);
  }
}

/// Asks the provider to stop a remote job the engine has given up on, so it stops running and billing. Fire and
/// forget: nothing waits for the answer, which is only logged (as one line, from whichever thread it comes on).
void cancel_remote(self_ptr self, const std::string& remote_id, const char* why) {
  auto& st = self->state;
  st.cancels->add();
  core::log_line{} << "event=remote_cancel provider=" << provider_name(self) << " remote_id=" << remote_id << " reason=" << why;
  st.env->port->cancel(remote_id, now_of(self), [provider = provider_name(self), remote_id](provider_reply r) {
    core::log_line{} << "event=remote_cancel_answered provider=" << provider << " remote_id=" << remote_id
                     << " outcome=" << to_string(r.error) << " message=" << core::quoted{r.message};
  });
}

/// Whether an outcome's images must go to the image store: a success carrying the provider's own values (base64 data
/// or URLs), not yet digests.
bool needs_storing(const item_outcome& o) {
  if (o.error != error_class::none || o.images.empty())
    return false;
  return std::any_of(o.images.begin(), o.images.end(), [](const std::string& i) { return !is_image_digest(i); });
}

/// Sends held outcomes on once none waits for its images.
void release_hold(self_ptr self, std::uint64_t hold) {
  auto it = self->state.holds.find(hold);
  if (it == self->state.holds.end() || it->second.left != 0)
    return;
  self->send(self->state.parent, std::move(it->second.o));
  self->state.holds.erase(it);
}

/// An item whose images could not be stored fails (it is still charged: the provider made and billed them), so
/// the router falls back or fails the job with the reason, as for any failed call.
void image_failed(item_outcome& o, error_class e, const std::string& message) {
  o.error = e;
  o.message = message;
  o.images.clear();
}

/// With an image port, the images of succeeded items are stored first and the outcomes sent once all are on disk
/// (or failed, or, for images to download, past images_timeout on the actor clock); else they go at once.
void send_outbox(self_ptr self, outbox& out) {
  auto& st = self->state;
  for (auto& [id, o] : out) {
    if (o.items.empty())
      continue;
    std::vector<std::size_t> to_store;
    if (st.env->images)
      for (std::size_t i = 0; i < o.items.size(); ++i)
        if (needs_storing(o.items[i]))
          to_store.push_back(i);
    if (to_store.empty()) {
      self->send(st.parent, std::move(o));
      continue;
    }
    self->send(st.parent, msg::images_storing{id}); // a drain waits for these outcomes
    const auto hold = st.next_hold++;
    auto& h = st.holds[hold];
    h.o = std::move(o);
    h.pending.assign(h.o.items.size(), false);
    h.left = to_store.size();
    msg::provider_worker_actor me = self;
    bool downloads = false;
    for (auto i : to_store) {
      h.pending[i] = true;
      for (const auto& image : h.o.items[i].images)
        downloads = downloads || image.rfind("http://", 0) == 0 || image.rfind("https://", 0) == 0;
      st.env->images->store(h.o.items[i].images, now_of(self), [me, hold, i](stored_images r) {
        caf::anon_send(me, msg::images_stored{hold, i, std::move(r)});
      });
    }
    // Only a download (the network) is bounded: images the provider sent inline are waited for however slow the
    // disk is, since failing them would turn an answer already billed into a failure, and its fallback a second
    // charge (under load, writes queued behind each other took past the timeout and dead-lettered paid jobs).
    if (downloads)
      self->delayed_send(self, st.env->images_timeout, msg::images_due{hold});
  }
}

void on_images_stored(self_ptr self, msg::images_stored& m) {
  auto it = self->state.holds.find(m.hold);
  if (it == self->state.holds.end() || m.index >= it->second.pending.size() || !it->second.pending[m.index])
    return; // given up at images_due
  auto& h = it->second;
  auto& o = h.o.items[m.index];
  if (m.result.error == error_class::none && m.result.digests.size() == o.images.size()) {
    o.images = std::move(m.result.digests);
  } else {
    image_failed(o, m.result.error == error_class::none ? error_class::server : m.result.error, m.result.message);
    core::log_line{} << "event=image_store_failed provider=" << provider_name(self) << " job=" << to_string(o.id)
                     << " error=" << to_string(o.error) << " message=\"" << o.message << "\"";
  }
  h.pending[m.index] = false;
  --h.left;
  release_hold(self, m.hold);
}

void on_images_due(self_ptr self, const msg::images_due& m) {
  auto it = self->state.holds.find(m.hold);
  if (it == self->state.holds.end())
    return;
  auto& h = it->second;
  for (std::size_t i = 0; i < h.pending.size(); ++i)
    if (h.pending[i]) {
      image_failed(h.o.items[i], error_class::timeout,
                   "the item's images were not stored within images.download_timeout");
      core::log_line{} << "event=image_store_failed provider=" << provider_name(self)
                       << " job=" << to_string(h.o.items[i].id) << " error=timeout";
      h.pending[i] = false;
    }
  h.left = 0;
  release_hold(self, m.hold);
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
  // The job may have run (and been billed) without an answer: charge each item at its reservation, unless the
  // provider's last word was that it never started. The ledger may count too much, never too little.
  std::map<std::uint64_t, micros> reserved;
  if (!wb.not_started)
    for (const auto& item : wb.b.items)
      reserved[item.id.value] = unit_price(self, item) * std::max(item.n, 1);
  else
    r.message += " (it had not started: not charged)";
  auto& sink = out[wb.b.batch_id];
  const auto first = sink.items.size();
  report(self, wb, r, {}, out);
  for (auto i = first; i < sink.items.size(); ++i)
    if (auto it = reserved.find(sink.items[i].id.value); it != reserved.end())
      sink.items[i].cost = it->second;
  cancel_remote(self, wb.b.remote_id, "polling_deadline"); // its items are given up on: stop paying for it
}

void on_reply(self_ptr self, msg::call_done& m, outbox& out);
void publish_gauges(self_ptr self);

/// A remote call ended: its concurrency slot is free, and the longest-waiting call may go.
void release_slot(self_ptr self) {
  auto& st = self->state;
  st.limits->release();
  if (!st.waiting.empty()) {
    self->send(self, st.waiting.front());
    st.waiting.pop_front();
  }
}

/// Forgets a batch whose every item was reported (freeing its remote job's slot).
void forget_if_done(self_ptr self, std::uint64_t batch_id) {
  auto it = self->state.batches.find(batch_id);
  if (it == self->state.batches.end() || !it->second.b.items.empty())
    return;
  if (it->second.remote_slot)
    release_slot(self); // the remote job ended
  self->state.batches.erase(it);
}

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

/// Makes (or retries) call `call_id` of a batch, unless the breaker is open: then its items fail at once with
/// breaker_open and the router falls back.
void make_call(self_ptr self, worker_state::batch& wb, std::uint64_t call_id, outbox& out) {
  auto& st = self->state;
  auto c = wb.calls.find(call_id);
  if (c == wb.calls.end())
    return;
  const auto now = now_of(self);
  std::vector<work_item> items;
  for (const auto& item : wb.b.items)
    if (c->second.items.empty() || c->second.items.front() == item.id)
      items.push_back(item);
  auto fail_all = [&](error_class e, std::string message) {
    provider_reply r;
    r.error = e;
    r.message = std::move(message);
    report(self, wb, r, c->second.items, out);
    wb.calls.erase(c);
  };
  // Limits first: a refused call never takes a half-open probe of the breaker.
  const auto& lc = st.env->provider.limits;
  const int n = static_cast<int>(items.size());
  if ((lc.max_per_hour > 0 && n > lc.max_per_hour) || (lc.max_per_day > 0 && n > lc.max_per_day)) {
    fail_all(error_class::over_limit, "limit: a call of " + std::to_string(n) + " items can never fit " +
                                        provider_name(self) + "'s hourly or daily limit");
    return;
  }
  auto lim = st.limits->try_acquire(now, n);
  if (!lim.ok()) {
    report_limit(self, lim);
    if (lc.on_limit == on_limit_action::wait && (!lim.retry_at || *lim.retry_at > now)) {
      // a slot frees when a call ends; a window frees at retry_at
      if (lim.retry_at)
        self->delayed_send(self, *lim.retry_at - now, msg::retry_call{wb.b.batch_id, call_id});
      else
        st.waiting.push_back(msg::retry_call{wb.b.batch_id, call_id});
      return;
    }
    fail_all(error_class::over_limit, lim.reason);
    return;
  }
  // this call may have filled a window: new jobs see it at once (intake refuses a job no provider can take)
  report_limit(self, st.limits->windows(now, 1));
  auto ticket = st.breaker->allow(now);
  if (!ticket) {
    log_breaker(self);
    release_slot(self);
    fail_all(error_class::breaker_open, "the circuit breaker of " + provider_name(self) + " is open");
    return;
  }
  log_breaker(self);
  c->second.ticket = ticket;
  c->second.holds_slot = true;
  if (c->second.calls_made == 0)
    c->second.first_at = now;
  ++c->second.calls_made;
  st.env->port->submit(items, now, reply_to(self, wb.b.batch_id, call_id));
}

void start_calls(self_ptr self, worker_state::batch& wb) {
  const auto& env = *self->state.env;
  const auto now = now_of(self);
  std::vector<job_event> started;
  for (const auto& item : wb.b.items) {
    started.push_back(attempt_event(event_kind::attempt_started, job_status::submitted, item, env.provider.name, now));
    started.back().attempt.reserved = unit_price(self, item) * std::max(item.n, 1); // kept for a restart
  }
  self->send(env.store, msg::note_events{std::move(started)});
  if (env.port->takes_batches())
    wb.calls[0] = {};
  else
    for (std::size_t i = 0; i < wb.b.items.size(); ++i)
      wb.calls[i + 1] = worker_state::call{{wb.b.items[i].id}, 0, 0, false, std::nullopt, instant{}};
  const auto batch_id = wb.b.batch_id;
  std::vector<std::uint64_t> ids;
  for (const auto& [id, c] : wb.calls)
    ids.push_back(id);
  calling(self, [&] {
    outbox out;
    for (auto id : ids)
      if (auto b = self->state.batches.find(batch_id); b != self->state.batches.end())
        make_call(self, b->second, id, out);
    send_outbox(self, out);
  });
}

/// How often, and how far apart on the actor clock, the worker tries to write a remote id before polling anyway.
constexpr int remote_id_write_tries = 5;
constexpr auto remote_id_write_retry = std::chrono::seconds(1);

/// Schedules the first poll of a batch's remote job (and tells the supervisor the id, for a restarted worker).
void start_polling(self_ptr self, std::uint64_t batch_id) {
  auto b = self->state.batches.find(batch_id);
  if (b == self->state.batches.end())
    return;
  self->send(self->state.parent, msg::remote_accepted{batch_id, b->second.b.remote_id, b->second.b.submitted_at});
  outbox out;
  schedule_poll(self, b->second, out);
  send_outbox(self, out);
  forget_if_done(self, batch_id);
}

/// Writes a batch's remote id, then polls. Poll only once the remote id is on disk: a crash before that
/// re-submits, after it re-polls. A failed write is tried again on the actor clock; after the last try the worker
/// polls anyway, because the remote job runs (and is paid for) whether or not the engine follows it.
void store_remote(self_ptr self, std::uint64_t batch_id, int try_no) {
  auto b = self->state.batches.find(batch_id);
  if (b == self->state.batches.end())
    return;
  const auto& wb = b->second;
  std::vector<job_event> events;
  for (const auto& item : wb.b.items)
    events.push_back(attempt_event(event_kind::attempt_remote, job_status::running, item, provider_name(self),
                                   wb.b.submitted_at, wb.b.remote_id));
  self->request(self->state.env->store, caf::infinite, msg::record_events{std::move(events)})
    .then([self, batch_id](msg::stored) { start_polling(self, batch_id); },
          [self, batch_id, try_no](caf::error& err) {
            const bool again = try_no < remote_id_write_tries;
            core::log_line{} << "event=remote_id_not_stored provider=" << provider_name(self) << " batch=" << batch_id
                      << " try=" << try_no << " of=" << remote_id_write_tries << " error=" << to_string(err)
                      << (again ? " retry_in_ms=" + std::to_string(std::chrono::milliseconds(remote_id_write_retry).count())
                                : std::string{" polling_without_it=true"});
            if (again)
              self->delayed_send(self, remote_id_write_retry, msg::store_remote_id{batch_id, try_no + 1});
            else
              start_polling(self, batch_id);
          });
}

void on_accepted(self_ptr self, worker_state::batch& wb, const std::string& remote_id) {
  wb.b.remote_id = remote_id;
  wb.b.submitted_at = now_of(self);
  publish_gauges(self); // before the job can be seen running: whoever sees that sees the remote job counted
  store_remote(self, wb.b.batch_id, 1);
}

/// A call answered with a failure of the whole call: retry it after a backoff, or report its items.
void on_call_failed(self_ptr self, worker_state::batch& wb, std::uint64_t call_id, const provider_reply& reply,
                    outbox& out) {
  auto c = wb.calls.find(call_id);
  if (c == wb.calls.end())
    return;
  auto& call = c->second;
  const auto& provider = self->state.env->provider;
  const double unit = std::uniform_real_distribution<double>{0.0, 1.0}(self->state.jitter);
  // a sync attempt has an overall deadline; an async one is bounded by its polling deadline once accepted
  std::optional<duration> deadline;
  if (provider.mode == provider_mode::sync)
    deadline = retry_deadline(provider);
  auto d = decide_retry(provider.retry, call.calls_made, reply.error, reply.retry_after, unit, call.bad_responses,
                        now_of(self) - call.first_at, deadline);
  if (reply.error == error_class::bad_response)
    ++call.bad_responses;
  // An async create that timed out or got no answer may have created the remote job (Gemini batch create is not
  // idempotent): another create could start a second paid job. The item goes on along its fallback chain instead.
  const bool ambiguous_create = self->state.env->provider.mode == provider_mode::async &&
                                (reply.error == error_class::timeout || reply.unanswered);
  if (d.retry && ambiguous_create)
    core::log_line{} << "event=ambiguous_create_not_retried provider=" << provider_name(self) << " batch=" << wb.b.batch_id
              << " call=" << call_id << " error=" << to_string(reply.error) << " message=\"" << reply.message << "\"";
  if (d.retry && !reply.no_retry && !ambiguous_create) {
    self->state.retries->add();
    core::log_line{} << "event=retry provider=" << provider_name(self) << " batch=" << wb.b.batch_id << " call=" << call_id
              << " calls_made=" << call.calls_made << " error=" << to_string(reply.error)
              << " retry_after_ms=" << reply.retry_after.count() / 1000 << " delay_ms=" << d.delay.count() / 1000;
    self->delayed_send(self, d.delay, msg::retry_call{wb.b.batch_id, call_id});
    return;
  }
  auto items = call.items;
  wb.calls.erase(c);
  auto given_up = reply;
  // stopped by a time bound (retry.max_retry_after or retry.deadline) rather than by the class or the count
  const bool bounded = !d.retry && d.reason.find("retry.") != std::string::npos;
  if (bounded) {
    if (d.fail_as != error_class::none)
      given_up.error = d.fail_as; // a wait above retry.max_retry_after: rate_limited, so the item falls back
    given_up.message += " (" + d.reason + ")";
    core::log_line{} << "event=retry_given_up provider=" << provider_name(self) << " batch=" << wb.b.batch_id
              << " call=" << call_id << " error=" << to_string(given_up.error) << " reason=\"" << d.reason << "\"";
  }
  if (ambiguous_create)
    given_up.message += " (an async create without a clear answer is not repeated: the remote job may exist)";
  report(self, wb, given_up, items, out);
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
  auto& reply = m.reply;
  const bool polling = !wb.b.remote_id.empty();
  // the answer to a submit ends that call: its slot is free, unless a remote job now holds it
  if (!polling)
    if (auto c = wb.calls.find(m.call_id); c != wb.calls.end() && c->second.holds_slot) {
      c->second.holds_slot = false;
      if (reply.k == provider_reply::kind::accepted)
        wb.remote_slot = true;
      else
        release_slot(self);
    }
  switch (reply.k) {
    case provider_reply::kind::accepted:
      record_call(self, wb, m.call_id, error_class::none); // the create is the call; its polls are not
      wb.not_started = reply.not_started;
      wb.calls.clear();
      on_accepted(self, wb, reply.remote_id);
      return;
    case provider_reply::kind::pending:
      count_answer(self, polling ? call_kind::poll : call_kind::create, error_class::none);
      // a remote job still running: the provider is alive, though nothing ended (the silence trigger's liveness)
      if (polling && self->state.env->trips)
        self->send(self->state.env->trips, msg::poll_answered{provider_name(self), now_of(self)});
      wb.not_started = reply.not_started;
      schedule_poll(self, wb, out);
      break;
    case provider_reply::kind::done: {
      if (polling) {
        const bool poll_failed = reply.error != error_class::none && reply.poll_failed;
        count_answer(self, poll_failed ? call_kind::poll : call_kind::result, reply.error);
        if (poll_failed) {
          schedule_poll(self, wb, out); // the poll failed, not the remote job: poll again on schedule
          break;
        }
        report(self, wb, reply, {}, out); // the remote job ended
        break;
      }
      if (reply.error != error_class::none) {
        record_call(self, wb, m.call_id, reply.error);
        on_call_failed(self, wb, m.call_id, reply, out);
        break;
      }
      auto c = wb.calls.find(m.call_id);
      if (c == wb.calls.end())
        return;
      auto ids = c->second.items;
      // one item per call: its own result decides what the breaker hears
      record_call(self, wb, m.call_id,
                  ids.size() == 1 && reply.items.size() == 1 ? reply.items.front().error : error_class::none);
      wb.calls.erase(m.call_id);
      report(self, wb, reply, ids, out);
      break;
    }
  }
  forget_if_done(self, m.batch_id);
}

/// Marks the outcomes from `first` on in a batch's outbox as recalled (the router re-routes them without using up
/// an attempt), charged `charge(item)`.
template <class Charge>
void mark_recalled(msg::outcomes& sink, std::size_t first, Charge charge) {
  for (auto i = first; i < sink.items.size(); ++i) {
    sink.items[i].recalled = true;
    sink.items[i].cost = charge(sink.items[i].id);
  }
}

/// At a rollback the router takes back the items of `m` that have not reached the provider: those waiting for a
/// retry or a concurrency slot. With `cancel_running`, a remote job all of whose items are recalled is cancelled at
/// the provider too, charged at its reservation unless its last known state says it never started (the money rule
/// of a job given up at its polling deadline). A call on the wire is left to answer: a sync call ends within its
/// timeout, an async create is caught by the next sweep once it runs. A remote job shared with items that stay
/// (a percent step-down in a batch API) is left to finish: cancelling it would cancel their work too.
void recall(self_ptr self, const msg::recall_items& m) {
  auto& st = self->state;
  auto wanted = [&m](const work_item& item) {
    for (const auto& r : m.items)
      if (r.id == item.id && r.attempt_no == item.attempt_no)
        return true;
    return false;
  };
  outbox out;
  std::vector<std::uint64_t> touched;
  for (auto& [batch_id, wb] : st.batches) {
    auto& sink = out[batch_id];
    sink.batch_id = batch_id;
    const auto first = sink.items.size();
    if (!wb.b.remote_id.empty()) {
      const auto n = std::count_if(wb.b.items.begin(), wb.b.items.end(), wanted);
      if (!m.cancel_running || n == 0)
        continue;
      if (static_cast<std::size_t>(n) < wb.b.items.size()) {
        core::log_line{} << "event=recall_left_running provider=" << provider_name(self) << " remote_id=" << wb.b.remote_id
                  << " recalled=" << n << " staying=" << wb.b.items.size() - static_cast<std::size_t>(n);
        continue;
      }
      std::map<std::uint64_t, micros> reserved;
      for (const auto& item : wb.b.items)
        reserved[item.id.value] = wb.not_started ? 0 : unit_price(self, item) * std::max(item.n, 1);
      provider_reply r;
      r.error = error_class::cancelled;
      r.message = (m.by_client ? "cancelled by the client: remote job " + wb.b.remote_id + " cancelled"
                               : "rolled back: remote job " + wb.b.remote_id +
                                   " cancelled at rollback.cancel_in_flight_after") +
                  (wb.not_started ? " (it had not started: not charged)" : "");
      report(self, wb, r, {}, out);
      mark_recalled(sink, first, [&reserved](job_id id) { return reserved[id.value]; });
      cancel_remote(self, wb.b.remote_id, m.by_client ? "client" : "rollback");
      touched.push_back(batch_id);
      continue;
    }
    for (auto c = wb.calls.begin(); c != wb.calls.end();) {
      if (c->second.holds_slot) { // on the wire
        ++c;
        continue;
      }
      std::vector<job_id> take;
      for (const auto& item : wb.b.items)
        if ((c->second.items.empty() || c->second.items.front() == item.id) && wanted(item))
          take.push_back(item.id);
      if (take.empty()) {
        ++c;
        continue;
      }
      const bool whole = !c->second.items.empty() || take.size() == wb.b.items.size();
      provider_reply r;
      r.error = error_class::cancelled;
      r.message = m.by_client ? "cancelled by the client while waiting for a retry or a slot"
                              : "rolled back while waiting for a retry: sent to the baseline";
      const auto at = sink.items.size();
      report(self, wb, r, take, out);
      mark_recalled(sink, at, [](job_id) { return micros{0}; }); // the failed calls before it cost nothing
      if (!whole) {
        ++c;
        continue;
      }
      const msg::retry_call key{batch_id, c->first};
      st.waiting.erase(std::remove_if(st.waiting.begin(), st.waiting.end(),
                                      [&key](const msg::retry_call& w) {
                                        return w.batch_id == key.batch_id && w.call_id == key.call_id;
                                      }),
                       st.waiting.end());
      c = wb.calls.erase(c);
    }
    if (sink.items.size() > first)
      touched.push_back(batch_id);
  }
  for (auto id : touched)
    forget_if_done(self, id);
  publish_gauges(self); // before the outcomes go out: whoever sees a job cancelled sees its remote job let go
  send_outbox(self, out);
}

/// The queue's waiting stage (calls not on the wire: parked for a concurrency slot, a limit window or a retry),
/// calls in flight and the use of each limit. Called after every message that can change them: a few dozen
/// calls at most to walk.
void publish_gauges(self_ptr self) {
  auto& st = self->state;
  std::int64_t waiting = 0, remote = 0;
  for (const auto& [id, wb] : st.batches) {
    if (!wb.b.remote_id.empty()) {
      ++remote; // submitted: polled, not queued
      continue;
    }
    for (const auto& [call_id, c] : wb.calls)
      if (!c.holds_slot)
        waiting += c.items.empty() ? static_cast<std::int64_t>(wb.b.items.size())
                                   : static_cast<std::int64_t>(c.items.size());
  }
  st.waiting_items->set(waiting);
  st.remote_jobs->set(remote);
  const auto now = now_of(self);
  st.in_flight->set(st.limits->in_flight());
  st.limit_used[0]->set(st.limits->in_flight());
  st.limit_used[1]->set(st.limits->used_this_hour(now));
  st.limit_used[2]->set(st.limits->used_today(now));
  const auto& lc = st.env->provider.limits;
  st.limit_max[0]->set(lc.max_concurrent);
  st.limit_max[1]->set(lc.max_per_hour);
  st.limit_max[2]->set(lc.max_per_day);
}

msg::provider_worker_actor::behavior_type provider_worker(self_ptr self, msg::provider_actor parent,
                                                          std::shared_ptr<const worker_env> env,
                                                          std::shared_ptr<worker_memory> memory) {
  auto& st = self->state;
  st.parent = std::move(parent);
  st.env = std::move(env);
  st.memory = memory ? std::move(memory) : std::make_shared<worker_memory>(*st.env);
  st.breaker = &st.memory->breaker;
  st.limits = &st.memory->limits;
  st.metrics = st.env->metrics ? st.env->metrics : std::make_shared<core::metrics_registry>();
  st.breaker_gauge = &st.metrics->get_gauge("cutover_breaker_state", {{"provider", st.env->provider.name}},
                                            "Circuit breaker per provider: 0 closed, 1 open, 2 half-open.");
  st.retries = &st.metrics->get_counter("cutover_provider_retries_total", {{"provider", st.env->provider.name}},
                                        "Calls retried after a retryable failure.");
  st.cancels = &st.metrics->get_counter("cutover_remote_cancels_total", {{"provider", st.env->provider.name}},
                                        "Remote jobs the worker asked the provider to cancel (past the polling deadline, or after a rollback).");
  {
    namespace metric = core::metric;
    const auto& p = st.env->provider.name;
    st.trips = &st.metrics->get_counter(metric::breaker_trips, {{"provider", p}});
    st.call_time = &st.metrics->get_histogram(metric::provider_call_time, {{"provider", p}});
    st.waiting_items = &st.metrics->get_gauge(metric::queue_depth, {{"provider", p}, {"stage", metric::stage_waiting}});
    st.in_flight = &st.metrics->get_gauge(metric::calls_in_flight, {{"provider", p}});
    st.remote_jobs = &st.metrics->get_gauge(metric::remote_jobs, {{"provider", p}});
    const char* windows[] = {"concurrency", "hour", "day"};
    for (std::size_t i = 0; i < 3; ++i) {
      st.limit_used[i] = &st.metrics->get_gauge(metric::limit_used, {{"provider", p}, {"window", windows[i]}});
      st.limit_max[i] = &st.metrics->get_gauge(metric::limit_max, {{"provider", p}, {"window", windows[i]}});
    }
  }
  st.jitter.seed(murmur3_x86_32(st.env->provider.name, 0x7e57));
  schedule_half_open(self); // a worker started after a crash may find the breaker open: its timer died with it
  report_breaker(self);
  publish_gauges(self);
  return {
    [self](msg::provider_batch& b) {
      auto id = b.batch_id;
      auto& wb = self->state.batches[id];
      wb.b = std::move(b);
      wb.started_at = now_of(self);
      if (wb.b.remote_id.empty()) {
        start_calls(self, wb);
        forget_if_done(self, id); // every item may have been answered at once (e.g. the breaker is open)
        publish_gauges(self);
        return;
      }
      outbox out; // resume a remote job that was submitted before
      schedule_poll(self, wb, out);
      send_outbox(self, out);
      forget_if_done(self, id);
      publish_gauges(self);
    },
    [self](msg::call_done& m) {
      outbox out;
      on_reply(self, m, out);
      send_outbox(self, out);
      publish_gauges(self);
    },
    [self](const msg::poll_due& m) {
      auto it = self->state.batches.find(m.batch_id);
      if (it == self->state.batches.end())
        return;
      auto& b = it->second.b;
      calling(self, [&] { self->state.env->port->poll(b.remote_id, b.items, now_of(self), reply_to(self, b.batch_id, 0)); });
    },
    [self](const msg::config_snapshot& c) {
      auto& st = self->state;
      if (auto env = reconfigured(*st.env, *c.cfg)) {
        st.env = std::move(env);
        st.breaker->reconfigure(st.env->provider.breaker);
        st.limits->reconfigure(st.env->provider.limits, st.env->day_starts);
        schedule_half_open(self); // open_for may have changed
        log_breaker(self);
        publish_gauges(self);
      }
    },
    [self](const msg::breaker_due&) {
      self->state.breaker->advance(now_of(self));
      log_breaker(self);
    },
    [self](const msg::store_remote_id& m) { store_remote(self, m.batch_id, m.try_no); },
    [self](msg::images_stored& m) { on_images_stored(self, m); },
    [self](const msg::images_due& m) { on_images_due(self, m); },
    [self](const msg::recall_items& m) {
      recall(self, m);
      publish_gauges(self);
    },
    [self](const msg::retry_call& m) {
      calling(self, [&] {
        outbox out;
        if (auto it = self->state.batches.find(m.batch_id); it != self->state.batches.end())
          make_call(self, it->second, m.call_id, out);
        forget_if_done(self, m.batch_id);
        send_outbox(self, out);
      });
      publish_gauges(self);
    },
  };
}

} // namespace

std::shared_ptr<const worker_env> reconfigured(const worker_env& env, const core::config& cfg) {
  const auto* p = cfg.provider(env.provider.name);
  if (p == nullptr)
    return nullptr;
  auto next = std::make_shared<worker_env>(env);
  next->provider = *p;
  next->day_starts = cfg.budget.day_starts;
  next->images_timeout = cfg.images.download_timeout;
  return next;
}

msg::provider_worker_actor spawn_worker(caf::actor_system& sys, msg::provider_actor parent,
                                        std::shared_ptr<const worker_env> env, std::shared_ptr<worker_memory> memory) {
  return sys.spawn(provider_worker, std::move(parent), std::move(env), std::move(memory));
}

} // namespace cutover::actors
