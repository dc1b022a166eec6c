#include "actors/store_actor.hpp"
#include "core/thread_name.hpp"
#include "core/metric_catalog.hpp"
#include "core/images.hpp"
#include "core/log_line.hpp"
#include "core/notify_rules.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <iostream>

namespace cutover::actors {

namespace {

using promise = caf::typed_response_promise<msg::stored>;

struct store_state {
  std::shared_ptr<core::store_db> db;
  store_options opts;
  core::write_batch batch;           ///< what the next commit writes: rows kept from failed commits first
  std::vector<promise> insert_waits; ///< one per batch.inserts, in order
  std::vector<promise> waiting;      ///< writers of everything else in the batch
  core::commit_retry retry;
  bool flush_pending = false;
  bool retry_pending = false; ///< a failed commit waits for its retry timer: writes join it, no flush before
  bool exiting = false;       ///< the last commit at exit: a failure is reported, nothing more is scheduled
  core::counter* commits = nullptr;
  core::counter* rows = nullptr;
  core::counter* failed = nullptr;
  core::counter* swept = nullptr;
  core::counter* images_swept = nullptr;
  core::counter* jobs_swept = nullptr;
  core::counter* events_swept = nullptr;
  core::counter* jobs_erased = nullptr;
  core::gauge* held = nullptr;
  std::vector<msg::outbox_sink> outbox_watchers;
  core::gauge* last_commit = nullptr; ///< actor-clock time of the last commit, microseconds since the epoch
  core::gauge* failing = nullptr;     ///< 1 while the last commit failed
  static inline const char* name = "store";
};

using self_ptr = msg::store_actor::stateful_pointer<store_state>;

void schedule_flush(self_ptr self) {
  auto& st = self->state;
  if (!st.flush_pending && !st.retry_pending) {
    st.flush_pending = true;
    self->send(self, msg::store_flush{});
  }
}

/// A failed commit: its inserts were never acknowledged, so they are refused (HTTP 503) and forgotten; everything
/// else (events of jobs already acknowledged, budget rows, rollout state, decisions, ratings, trips) stays at the
/// head of the next commit, which runs after a backoff on the actor clock. Past the limits the store stops, and
/// with it the engine; the next start recovers from disk.
void commit_failed(self_ptr self, const std::string& why) {
  auto& st = self->state;
  st.failed->add();
  st.failing->set(1);
  const auto refused = st.batch.inserts.size();
  st.batch.inserts.clear();
  for (auto& p : st.insert_waits)
    p.deliver(caf::make_error(caf::sec::runtime_error, why));
  st.insert_waits.clear();
  const auto held = core::held_bytes(st.batch);
  st.held->set(static_cast<std::int64_t>(held));
  const auto v = st.retry.failed(held);
  core::log_line{} << "event=store_commit_failed failures=" << st.retry.failures() << " inserts_refused=" << refused
            << " rows_kept=" << st.batch.rows() << " bytes_kept=" << held << " error=\"" << why << "\"";
  if (st.exiting || v.stop) {
    // the next start resumes from what is on disk; the writers still waiting hear that their rows are not
    const auto reason = st.exiting ? "store stopped at exit: " + why : "store stopped: " + v.reason + ": " + why;
    core::log_line{} << "event=store_stopped reason=\"" << (st.exiting ? "exit" : v.reason) << "\" rows_unwritten="
              << st.batch.rows();
    for (auto& p : st.waiting)
      p.deliver(caf::make_error(caf::sec::runtime_error, reason));
    st.waiting.clear();
    if (!st.exiting)
      self->quit(caf::make_error(caf::sec::runtime_error, reason));
    return;
  }
  st.retry_pending = true;
  self->delayed_send(self, v.wait, msg::store_retry{});
}

/// The notices this commit writes, with their receivers (made again at each try: a retried commit writes them
/// once). Whether any delivery is among them.
bool derive_notices(self_ptr self) {
  auto& st = self->state;
  auto& b = st.batch;
  auto* outbox = st.db->outbox();
  if (outbox == nullptr) { // simulate's store: nothing is notified
    b.derived.clear();
    return false;
  }
  auto webhook_of = [&](core::job_id id) {
    for (const auto& j : b.inserts) // a job that ends in the commit that creates it
      if (j.id == id)
        return j.spec.webhook_url;
    return outbox->webhook_url(id);
  };
  b.derived = core::derive_notices(b, st.opts.notify, webhook_of);
  return std::any_of(b.derived.begin(), b.derived.end(), [](const core::notice& n) { return !n.to.empty(); });
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_pending = false;
  const auto rows = st.batch.rows();
  bool outbox_grew = false;
  try {
    outbox_grew = derive_notices(self);
    st.db->commit_taking(st.batch);
  } catch (const std::exception& e) {
    commit_failed(self, e.what());
    return;
  }
  // readiness reads these: set before the log line that says the store recovered
  st.failing->set(0);
  st.last_commit->set(st.opts.clock.now(self->clock()).time_since_epoch().count());
  if (st.retry.retrying())
    core::log_line{} << "event=store_commit_recovered failures=" << st.retry.failures() << " rows=" << rows;
  st.retry.succeeded();
  st.held->set(0);
  st.commits->add();
  st.rows->add(static_cast<std::int64_t>(rows));
  if (st.opts.images) { // the files these rows name are theirs now: an erasure may judge them by the rows
    // one name per write: each image a provider's answer put (n copies of the same bytes are n writes, two jobs'
    // same bytes two); a cached answer wrote nothing, so it releases no other job's write
    std::vector<std::uint64_t> cached; // routed to the cache and finished in this same commit
    for (const auto& e : st.batch.events)
      if (e.kind == core::event_kind::routed && e.provider == core::cache_provider)
        cached.push_back(e.id.value);
    std::vector<std::string> named;
    for (const auto& e : st.batch.events)
      if (e.kind == core::event_kind::finished &&
          std::find(cached.begin(), cached.end(), e.id.value) == cached.end())
        named.insert(named.end(), e.images.begin(), e.images.end());
    if (!named.empty())
      st.opts.images->committed(named);
  }
  st.batch = {};
  auto inserts = std::move(st.insert_waits);
  auto waiting = std::move(st.waiting);
  st.insert_waits.clear();
  st.waiting.clear();
  for (auto& p : inserts)
    p.deliver(msg::stored{rows});
  for (auto& p : waiting)
    p.deliver(msg::stored{rows});
  if (outbox_grew)
    for (const auto& w : st.outbox_watchers)
      self->send(w, msg::outbox_grew{});
}

promise waiter(self_ptr self) {
  auto rp = self->make_response_promise<msg::stored>();
  self->state.waiting.push_back(rp);
  schedule_flush(self);
  return rp;
}

promise buffer_events(self_ptr self, std::vector<core::job_event>& events, bool answer) {
  auto& ev = self->state.batch.events;
  ev.insert(ev.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  if (!answer) {
    schedule_flush(self);
    return {};
  }
  return waiter(self);
}

/// Runs a read after committing what is queued (a read sees every write sent before it). While a failed commit
/// waits for its retry, a read does not force it: it sees what is on disk.
template <class T, class Fn>
caf::result<T> read(self_ptr self, Fn fn) {
  if (self->state.flush_pending)
    flush(self);
  try {
    return fn(*self->state.db);
  } catch (const std::exception& e) {
    return caf::make_error(caf::sec::runtime_error, e.what());
  }
}

/// Deletes the files of images whose last referring job finished more than images.retention ago. Their rows go
/// first (in their own transaction): a file whose delete fails is left behind, never a row naming a missing file.
void sweep_images(self_ptr self) {
  auto& st = self->state;
  if (!st.opts.images)
    return;
  const auto now = st.opts.clock.now(self->clock());
  const auto before = now - st.opts.images_retention;
  try {
    const auto gone = st.db->jobs().expire_images(before);
    std::size_t removed = 0;
    for (const auto& digest : gone)
      removed += st.opts.images->remove(digest, before) ? 1 : 0; // unless written again since
    if (!gone.empty()) {
      st.images_swept->add(static_cast<std::int64_t>(removed));
      core::log_line{} << "event=images_swept count=" << removed << " expired=" << gone.size()
                       << " unused_since=" << core::format_rfc3339(before);
    }
  } catch (const std::exception& e) {
    core::log_line{} << "event=image_sweep_failed error=\"" << e.what() << "\"";
  }
}

/// How often the sweeps run: hourly, or more often when images.retention is short (a few per retention).
core::duration sweep_period(const store_options& o) {
  if (!o.images)
    return o.sweep_every;
  return std::min(o.sweep_every, std::max<core::duration>(std::chrono::seconds(1), o.images_retention / 4));
}

/// Final jobs deleted per transaction: the store actor answers no one meanwhile, so a backlog (a first start with
/// a retention shorter than the store's age) goes in slices with the commits queued in between.
constexpr std::size_t jobs_sweep_batch = 2000;

/// Deletes one batch of final jobs past jobs.retention, and one of notified events past it (the event log, whose
/// deliveries are done); asks for the next batch when either was full.
void sweep_jobs(self_ptr self) {
  auto& st = self->state;
  const auto before = st.opts.clock.now(self->clock()) - st.opts.jobs_retention;
  bool more = false;
  try {
    const auto n = st.db->jobs().sweep_final_jobs(before, jobs_sweep_batch);
    if (n > 0) {
      st.jobs_swept->add(static_cast<std::int64_t>(n));
      core::log_line{} << "event=jobs_swept count=" << n << " older_than=" << core::format_rfc3339(before);
    }
    more = n == jobs_sweep_batch;
  } catch (const std::exception& e) {
    core::log_line{} << "event=jobs_sweep_failed error=" << core::quoted{e.what()};
  }
  if (auto* outbox = st.db->outbox()) {
    try {
      const auto n = outbox->sweep_events(before, jobs_sweep_batch);
      if (n > 0) {
        st.events_swept->add(static_cast<std::int64_t>(n));
        core::log_line{} << "event=notify_events_swept count=" << n << " older_than=" << core::format_rfc3339(before);
      }
      more = more || n == jobs_sweep_batch;
    } catch (const std::exception& e) {
      core::log_line{} << "event=notify_events_sweep_failed error=" << core::quoted{e.what()};
    }
  }
  if (more)
    self->send(self, msg::sweep_more{});
}

void sweep(self_ptr self) {
  auto& st = self->state;
  sweep_images(self);
  const auto before = st.opts.clock.now(self->clock()) - st.opts.dead_letter_retention;
  try {
    if (auto n = st.db->jobs().sweep_dead_letters(before); n > 0) {
      st.swept->add(static_cast<std::int64_t>(n));
      core::log_line{} << "event=dead_letters_swept count=" << n << " older_than=" << core::format_rfc3339(before);
    }
  } catch (const std::exception& e) {
    core::log_line{} << "event=dead_letter_sweep_failed error=\"" << e.what() << "\"";
  }
  sweep_jobs(self);
  self->delayed_send(self, sweep_period(st.opts), msg::sweep_due{});
}

msg::store_actor::behavior_type store_fn(self_ptr self, std::shared_ptr<core::store_db> db, store_options opts) {
  if (opts.detached)
    core::name_this_thread("cutover-store"); // its own thread (else a scheduler's, not to be renamed)
  auto& st = self->state;
  st.db = std::move(db);
  st.opts = std::move(opts);
  st.retry = core::commit_retry{st.opts.retry};
  if (!st.opts.metrics)
    st.opts.metrics = std::make_shared<core::metrics_registry>();
  auto& m = *st.opts.metrics;
  st.commits = &m.get_counter("cutover_store_commits_total", {}, "Transactions committed by the job store.");
  st.rows = &m.get_counter("cutover_store_rows_total", {}, "Job inserts and events written.");
  st.failed = &m.get_counter("cutover_store_commit_failures_total", {}, "Transactions that failed.");
  st.swept = &m.get_counter("cutover_dead_letters_swept_total", {}, "Dead letters deleted after their retention.");
  st.jobs_swept = &m.get_counter("cutover_jobs_swept_total", {}, "Final jobs deleted after jobs.retention.");
  st.jobs_erased = &m.get_counter("cutover_jobs_erased_total", {}, "Final jobs erased by DELETE /v1/users/{id}/jobs.");
  st.events_swept = &m.get_counter("cutover_notify_events_swept_total", {},
                                   "Notified events deleted after jobs.retention (their deliveries done).");
  st.held = &m.get_gauge("cutover_store_held_bytes", {}, "Bytes of rows kept in memory for a retry of a failed commit.");
  st.images_swept = &m.get_counter(core::metric::images_swept, {});
  self->delayed_send(self, sweep_period(st.opts), msg::sweep_due{});
  self->send(self, msg::sweep_more{}); // jobs past jobs.retention go at start too (an engine stopped for long)
  st.last_commit = &m.get_gauge(core::metric::store_last_commit, {});
  st.failing = &m.get_gauge(core::metric::store_failing, {});
  if (st.opts.probe_every > core::duration{0})
    self->send(self, msg::probe_due{}); // at once: readiness knows from the start
  // an exit can overtake the flush the store sent itself (or wait for a retry): commit what it holds before it stops
  self->set_exit_handler([self](caf::exit_msg& m) {
    self->state.exiting = true;
    if (self->state.flush_pending || self->state.retry_pending)
      flush(self);
    self->quit(m.reason);
  });
  // CAF tries the handlers in order, comparing type names: the ones of every job (inserts, events, budget rows,
  // the flush per instant) come first, before the reads and the rare writes
  return {
    // jobs
    [self](msg::insert_job& m) -> promise {
      self->state.batch.inserts.push_back(std::move(m.job));
      auto rp = self->make_response_promise<msg::stored>();
      self->state.insert_waits.push_back(rp);
      schedule_flush(self);
      return rp;
    },
    [self](msg::record_events& m) { return buffer_events(self, m.events, true); },
    [self](msg::note_events& m) { buffer_events(self, m.events, false); },
    [self](msg::note_budget& m) {
      auto& rows = self->state.batch.budget_rows;
      rows.insert(rows.end(), std::make_move_iterator(m.rows.begin()), std::make_move_iterator(m.rows.end()));
      schedule_flush(self);
    },
    [self](msg::store_flush) {
      if (self->state.flush_pending)
        flush(self);
    },
    [self](const msg::get_job& m) {
      return read<msg::job_lookup>(self, [&](core::store_db& db) {
        auto job = db.jobs().find(m.id);
        return job ? msg::job_lookup{true, std::move(*job)} : msg::job_lookup{false, {}};
      });
    },
    [self](msg::load_open_jobs) {
      return read<msg::open_jobs>(self, [](core::store_db& db) { return msg::open_jobs{db.jobs().open_jobs()}; });
    },
    [self](const msg::load_boot& m) {
      return read<msg::boot_state>(self, [&](core::store_db& db) {
        return msg::boot_state{db.jobs().max_job_id(), db.jobs().idempotency_keys(m.keys_since)};
      });
    },
    [self](const msg::list_dead_letters& m) {
      return read<msg::job_list>(self, [&](core::store_db& db) { return msg::job_list{db.jobs().dead_letters(m.limit, m.tenant)}; });
    },
    [self](const msg::list_jobs& m) {
      return read<msg::job_list>(self, [&](core::store_db& db) { return msg::job_list{db.jobs().list_jobs(m.query)}; });
    },
    [self](const msg::erase_user_jobs& m) {
      return read<msg::erased_jobs>(self, [&](core::store_db& db) {
        auto r = db.jobs().erase_user_jobs(m.user_id, m.tenant);
        self->state.jobs_erased->add(static_cast<std::int64_t>(r.erased));
        // the rows are gone (committed): now their files, which no other job names
        if (auto& files = self->state.opts.images)
          for (const auto& digest : r.images)
            files->remove(digest, self->state.opts.clock.now(self->clock()));
        // the user's id is not logged: the erasure is of everything that names them
        core::log_line{} << "event=user_jobs_erased erased=" << r.erased << " not_final=" << r.open.size()
                         << " tenant=" << core::quoted{m.tenant};
        return msg::erased_jobs{std::move(r)};
      });
    },
    [self](const msg::find_cached& m) {
      return read<msg::cached_results>(self, [&](core::store_db& db) {
        return msg::cached_results{db.jobs().find_cached(m.queries, m.since)};
      });
    },
    [self](const msg::load_finished_attempts& m) {
      return read<msg::finished_attempts>(self, [&](core::store_db& db) {
        return msg::finished_attempts{db.jobs().finished_attempts(m.after, m.until, m.limit)};
      });
    },
    [self](const msg::load_call_starts& m) {
      return read<msg::call_starts>(self, [&](core::store_db& db) {
        return msg::call_starts{db.jobs().call_starts(m.provider, m.since)};
      });
    },
    // budget
    [self](const msg::load_budget& m) {
      return read<msg::budget_state>(self, [&](core::store_db& db) {
        return msg::budget_state{db.budget().budget_state(m.day_start, m.day)};
      });
    },
    [self](const msg::load_budget_days& m) {
      return read<msg::budget_days>(self, [&](core::store_db& db) {
        return msg::budget_days{db.budget().budget_days(m.since_day)};
      });
    },
    [self](const msg::load_daily_stats& m) {
      return read<msg::daily_stats>(self, [&](core::store_db& db) {
        return msg::daily_stats{db.budget().daily_stats(m.since, m.day_starts)};
      });
    },
    // rollout audit
    [self](msg::record_rollout& m) -> promise {
      auto& b = self->state.batch;
      b.rollout.insert(b.rollout.end(), m.status.begin(), m.status.end());
      b.decisions.insert(b.decisions.end(), std::make_move_iterator(m.decisions.begin()),
                         std::make_move_iterator(m.decisions.end()));
      return waiter(self);
    },
    [self](msg::load_rollout) {
      return read<msg::rollout_loaded>(self, [](core::store_db& db) {
        auto r = db.audit().rollout_state();
        return r ? msg::rollout_loaded{true, *r} : msg::rollout_loaded{false, {}};
      });
    },
    [self](const msg::load_decisions& m) {
      return read<msg::decision_list>(self, [&](core::store_db& db) {
        return msg::decision_list{db.audit().decisions(m.since, m.before_id, m.limit)};
      });
    },
    [self](msg::record_feedback& m) -> promise {
      self->state.batch.feedback.push_back(std::move(m.row));
      return waiter(self);
    },
    [self](const msg::load_feedback& m) {
      return read<msg::feedback_list>(self, [&](core::store_db& db) {
        return msg::feedback_list{db.audit().feedback_since(m.since)};
      });
    },
    [self](msg::record_trip& m) -> promise {
      self->state.batch.trips.push_back(std::move(m.row));
      return waiter(self);
    },
    [self](const msg::load_trips& m) {
      return read<msg::trip_list>(self, [&](core::store_db& db) { return msg::trip_list{db.audit().trips_since(m.since)}; });
    },
    // notifications
    [self](msg::record_notice& m) {
      core::log_line{} << "event=notice type=" << m.n.type << " data=" << m.n.data;
      self->state.batch.notices.push_back(std::move(m.n));
      schedule_flush(self);
    },
    [self](const msg::load_outbox& m) {
      return read<msg::outbox_page>(self, [&](core::store_db& db) {
        auto* o = db.outbox();
        return msg::outbox_page{o ? o->pending(m.q)
                                  : std::vector<core::outbox_entry>{}};
      });
    },
    [self](msg::outbox_done& m) {
      auto& d = self->state.batch.delivered;
      d.insert(d.end(), m.ids.begin(), m.ids.end());
      schedule_flush(self);
    },
    [self](msg::watch_outbox& m) { self->state.outbox_watchers.push_back(std::move(m.sink)); },
    // the store's own
    [self](msg::store_retry) {
      self->state.retry_pending = false;
      flush(self);
    },
    [self](msg::sweep_due) { sweep(self); },
    [self](msg::sweep_more) { sweep_jobs(self); },
    [self](msg::probe_due) {
      auto& st = self->state;
      st.batch.probe = st.opts.clock.now(self->clock());
      schedule_flush(self); // a failed commit waiting for its retry takes the probe along
      self->delayed_send(self, st.opts.probe_every, msg::probe_due{});
    },
    [self](const msg::config_snapshot& c) {
      self->state.opts.dead_letter_retention = c.cfg->dead_letter.retention;
      self->state.opts.images_retention = c.cfg->images.retention;
      self->state.opts.jobs_retention = c.cfg->jobs.retention;
      self->state.opts.notify = c.cfg->notify;
    },
  };
}

} // namespace

msg::store_actor spawn_store(caf::actor_system& sys, std::shared_ptr<core::store_db> db, store_options opts) {
  const bool detached = opts.detached;
  if (detached)
    return sys.spawn<caf::detached>(store_fn, std::move(db), std::move(opts));
  return sys.spawn(store_fn, std::move(db), std::move(opts));
}

} // namespace cutover::actors
