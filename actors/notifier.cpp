#include "actors/notifier.hpp"

#include "core/delivery_schedule.hpp"
#include "core/log_line.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>

namespace cutover::actors {

namespace {

using core::instant;

core::delivery_policy policy_of(const core::notify_config& n, const notifier_options& o) {
  return core::delivery_policy{n.backoff, n.max_backoff, n.max_age, o.max_in_flight, o.per_receiver};
}

/// Reading one lane of the outbox (operator targets, or jobs' own webhooks) in id order.
struct lane_cursor {
  std::int64_t last_id = 0; ///< the highest outbox id read
  bool loading = false;
  bool more = true;         ///< entries may wait on disk beyond what was read
};

struct notifier_state {
  msg::outbox_store store;
  std::shared_ptr<core::webhook_port> port;
  notifier_options opts;
  std::unique_ptr<core::delivery_schedule> schedule;
  lane_cursor lanes[2];      ///< [0] operator targets, [1] jobs' webhooks
  /// Jobs' receivers that went over receiver_cap: their entries from `from` on wait on disk, read again by
  /// reload_deferred; every later entry of theirs the lane reads waits too, so none is held twice.
  struct waiting {
    std::int64_t from = 0;
    bool reading = false;     ///< a read of theirs is under way, up to `upto`
    std::int64_t upto = 0;
    bool more_since = false;  ///< the lane passed more of theirs (above `upto`) during that read
  };
  std::map<std::string, waiting> deferred;
  std::optional<instant> timer_at;
  std::uint64_t generation = 0;
  core::counter* delivered = nullptr;
  core::counter* failed = nullptr;
  core::counter* expired = nullptr;
  core::counter* refused = nullptr;
  static inline const char* name = "notifier";
};

using self_ptr = msg::notifier_actor::stateful_pointer<notifier_state>;

instant now_of(self_ptr self) { return self->state.opts.clock.now(self->clock()); }

/// Whether `e` goes to a job's own webhook_url (a submitter chose it) rather than to an operator's target: a job
/// event to a URL no configured target names. Only those are held to public hosts at delivery; a name that was
/// public when the job was accepted may point inside by now (DNS rebinding).
bool job_hook(const core::notify_config& n, const core::outbox_entry& e) {
  if (e.job_hook)
    return true; // marked when written; the rest of this judges entries written before the mark existed
  if (e.type.rfind("job.", 0) != 0)
    return false;
  return std::none_of(n.targets.begin(), n.targets.end(), [&](const auto& t) { return t.url == e.url; });
}

void load(self_ptr self, bool job_hooks);
void load_all(self_ptr self) {
  for (bool lane : {false, true})
    if (self->state.lanes[lane].more)
      load(self, lane);
}
void reload_deferred(self_ptr self);

/// Sets the timer for the next due (or expiring) delivery, unless an earlier one is set.
void arm(self_ptr self, instant now) {
  auto& st = self->state;
  const auto next = st.schedule->next_due();
  if (!next)
    return;
  if (st.timer_at && *st.timer_at <= *next)
    return;
  st.timer_at = *next;
  self->delayed_send(self, std::max(core::duration{0}, *next - now), msg::notify_due{++st.generation});
}

/// Drops what expired, starts what is due, and sets the timer.
void pump(self_ptr self) {
  auto& st = self->state;
  const auto now = now_of(self);
  auto round = st.schedule->take(now);
  if (!round.expired.empty()) {
    msg::outbox_done done;
    for (const auto& e : round.expired) {
      st.expired->add();
      core::log_line{} << "event=notify_expired event_id=" << e.event_id << " type=" << e.type << " url=" << e.url
                       << " age_s=" << std::chrono::duration_cast<std::chrono::seconds>(now - e.created_at).count();
      done.ids.push_back(e.id);
    }
    self->send(st.store, std::move(done));
  }
  const auto me = caf::actor_cast<msg::notifier_actor>(self);
  for (const auto& e : round.send) {
    const auto id = e.id;
    const bool public_only = !st.opts.notify.allow_private && job_hook(st.opts.notify, e);
    st.port->deliver(e, now, public_only, [me, id](core::webhook_port::answer a) {
      caf::anon_send(me, msg::delivery_answered{id, a.status, std::move(a.error), a.refused});
    });
  }
  arm(self, now);
  if (!round.expired.empty()) {
    load_all(self);
    reload_deferred(self);
  }
}

/// Holds `e` unless it is a job's delivery whose receiver already has receiver_cap held: then it waits on disk.
void hold(self_ptr self, core::outbox_entry&& e) {
  auto& st = self->state;
  if (e.job_hook) {
    auto receiver = core::receiver_of(e.url);
    if (auto it = st.deferred.find(receiver); it != st.deferred.end()) {
      auto& w = it->second;
      if (w.reading)
        w.more_since = true; // above the read's bound: read after it
      else
        w.from = std::min(w.from, e.id);
      return;
    }
    if (st.schedule->held_for(receiver) >= st.opts.receiver_cap) {
      st.deferred.emplace(std::move(receiver), notifier_state::waiting{e.id});
      return;
    }
  }
  st.schedule->add(std::move(e));
}

/// Reads the next entries of a lane while it has room in memory.
void load(self_ptr self, bool job_hooks) {
  auto& st = self->state;
  auto& lane = st.lanes[job_hooks];
  if (lane.loading || st.schedule->held(job_hooks) >= st.opts.memory_cap)
    return;
  lane.loading = true;
  lane.more = false;
  const auto limit = st.opts.memory_cap - st.schedule->held(job_hooks);
  self->request(st.store, caf::infinite, msg::load_outbox{{lane.last_id, limit, job_hooks, {}, 0}})
    .then(
      [self, limit, job_hooks](msg::outbox_page& page) {
        auto& st = self->state;
        auto& lane = st.lanes[job_hooks];
        lane.loading = false;
        for (auto& e : page.entries) {
          lane.last_id = std::max(lane.last_id, e.id);
          hold(self, std::move(e));
        }
        lane.more = lane.more || page.entries.size() >= limit;
        pump(self);
        if (lane.more)
          load(self, job_hooks);
      },
      [self, job_hooks](caf::error& err) {
        self->state.lanes[job_hooks].loading = false;
        self->state.lanes[job_hooks].more = true; // the next answer or timer tries again
        core::log_line{} << "event=notify_outbox_read_failed error=\"" << to_string(err) << "\"";
      });
}

/// Reads again the waiting entries of jobs' receivers that have room in memory again (up to what the lane read).
void reload_deferred(self_ptr self) {
  auto& st = self->state;
  for (auto& [receiver, w] : st.deferred) {
    const auto held = st.schedule->held_for(receiver);
    if (w.reading || held >= st.opts.receiver_cap)
      continue;
    w.reading = true;
    w.upto = st.lanes[1].last_id;
    w.more_since = false;
    const auto limit = st.opts.receiver_cap - held;
    const msg::load_outbox q{{w.from - 1, limit, true, receiver, w.upto}};
    self->request(st.store, caf::infinite, q)
      .then(
        [self, receiver = receiver, limit](msg::outbox_page& page) {
          auto& st = self->state;
          auto it = st.deferred.find(receiver);
          if (it == st.deferred.end())
            return;
          auto& w = it->second;
          std::int64_t last = 0;
          for (auto& e : page.entries) {
            last = std::max(last, e.id);
            st.schedule->add(std::move(e));
          }
          w.reading = false;
          if (page.entries.size() >= limit)
            w.from = last + 1; // more up to `upto`, and perhaps above it
          else if (w.more_since)
            w.from = w.upto + 1; // all up to `upto` is held; what the lane passed meanwhile is next
          else
            st.deferred.erase(it); // all of it is held; what the lane reads later is judged then
          pump(self);
          reload_deferred(self);
        },
        [self, receiver = receiver](caf::error& err) {
          if (auto it = self->state.deferred.find(receiver); it != self->state.deferred.end())
            it->second.reading = false; // the next answer tries again
          core::log_line{} << "event=notify_outbox_read_failed error=\"" << to_string(err) << "\"";
        });
  }
}

} // namespace

msg::notifier_actor spawn_notifier(caf::actor_system& sys, msg::outbox_store store,
                                   std::shared_ptr<core::webhook_port> port, notifier_options opts) {
  auto fn = [](self_ptr self, msg::outbox_store store, std::shared_ptr<core::webhook_port> port,
               notifier_options opts) -> msg::notifier_actor::behavior_type {
    auto& st = self->state;
    st.store = std::move(store);
    st.port = std::move(port);
    st.opts = std::move(opts);
    if (!st.opts.metrics)
      st.opts.metrics = std::make_shared<core::metrics_registry>();
    st.schedule = std::make_unique<core::delivery_schedule>(policy_of(st.opts.notify, st.opts));
    auto& m = *st.opts.metrics;
    st.delivered = &m.get_counter("cutover_notifications_delivered_total", {},
                                  "Webhook deliveries answered 2xx.");
    st.failed = &m.get_counter("cutover_notifications_failed_total", {},
                               "Webhook tries that failed (no answer or not 2xx); each is retried until max_age.");
    st.expired = &m.get_counter("cutover_notifications_expired_total", {},
                                "Webhook deliveries dropped unanswered after notify.max_age.");
    st.refused = &m.get_counter("cutover_notifications_refused_total", {},
                                "Job webhook deliveries dropped unsent: the host resolved to a loopback or private "
                                "address at delivery.");
    self->send(st.store, msg::watch_outbox{caf::actor_cast<msg::outbox_sink>(self)});
    load_all(self);
    return {
      [self](msg::outbox_grew) {
        for (auto& lane : self->state.lanes)
          lane.more = true;
        load_all(self);
      },
      [self](msg::delivery_answered& a) {
        auto& st = self->state;
        const auto now = now_of(self);
        if (a.refused) { // permanent: the receiver is inside; no later try would be any safer
          st.schedule->delivered(a.id);
          st.refused->add();
          core::log_line{} << "event=notify_refused outbox_id=" << a.id << " error=\"" << a.error << "\"";
          self->send(st.store, msg::outbox_done{{a.id}});
        } else if (a.status >= 200 && a.status < 300) {
          st.schedule->delivered(a.id);
          st.delivered->add();
          core::log_line{} << "event=notify_delivered outbox_id=" << a.id << " status=" << a.status;
          self->send(st.store, msg::outbox_done{{a.id}});
        } else {
          const auto tries = st.schedule->failures(a.id) + 1;
          const auto next = st.schedule->failed(a.id, now);
          st.failed->add();
          core::log_line{} << "event=notify_failed outbox_id=" << a.id << " status=" << a.status << " tries=" << tries
                           << " next_try=" << core::format_rfc3339(next) << " error=\"" << a.error << "\"";
        }
        pump(self);
        load_all(self);
        reload_deferred(self);
      },
      [self](const msg::notify_due& d) {
        auto& st = self->state;
        if (d.generation != st.generation)
          return; // replaced by an earlier timer
        st.timer_at.reset();
        pump(self);
        load_all(self);
      },
      [self](const msg::config_snapshot& c) {
        auto& st = self->state;
        st.opts.notify = c.cfg->notify; // targets and allow_private decide which deliveries are held to public hosts
        st.schedule->set_policy(policy_of(c.cfg->notify, st.opts));
        pump(self);
      },
    };
  };
  return sys.spawn(fn, std::move(store), std::move(port), std::move(opts));
}

} // namespace cutover::actors
