#include "actors/store_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <iostream>

namespace cutover::actors {

namespace {

struct store_state {
  std::shared_ptr<core::store_db> db;
  store_options opts;
  core::write_batch batch;
  std::vector<caf::typed_response_promise<msg::stored>> waiting;
  bool flush_pending = false;
  core::counter* commits = nullptr;
  core::counter* rows = nullptr;
  core::counter* failed = nullptr;
  core::counter* swept = nullptr;
  static inline const char* name = "store";
};

using self_ptr = msg::store_actor::stateful_pointer<store_state>;

void schedule_flush(self_ptr self) {
  if (!self->state.flush_pending) {
    self->state.flush_pending = true;
    self->send(self, msg::store_flush{});
  }
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_pending = false;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  const auto rows = st.batch.rows();
  try {
    st.db->commit(st.batch);
  } catch (const std::exception& e) {
    std::cerr << "event=store_commit_failed rows=" << rows << " error=\"" << e.what() << "\"" << std::endl;
    st.failed->add();
    st.batch = {};
    for (auto& p : waiting)
      p.deliver(caf::make_error(caf::sec::runtime_error, e.what()));
    return;
  }
  st.commits->add();
  st.rows->add(static_cast<std::int64_t>(rows));
  st.batch = {};
  for (auto& p : waiting)
    p.deliver(msg::stored{rows});
}

caf::typed_response_promise<msg::stored> buffer_events(self_ptr self, std::vector<core::job_event>& events,
                                                       bool answer) {
  auto& ev = self->state.batch.events;
  ev.insert(ev.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  schedule_flush(self);
  if (!answer)
    return {};
  auto rp = self->make_response_promise<msg::stored>();
  self->state.waiting.push_back(rp);
  return rp;
}

/// A side row joins the next commit and is answered once it is on disk.
template <class Row>
caf::typed_response_promise<msg::stored> buffer_side(self_ptr self, std::vector<Row>& rows, Row row) {
  rows.push_back(std::move(row));
  auto rp = self->make_response_promise<msg::stored>();
  self->state.waiting.push_back(rp);
  schedule_flush(self);
  return rp;
}

/// Runs a read after committing what is queued (a read sees every write sent before it).
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

void sweep(self_ptr self) {
  auto& st = self->state;
  const auto before = st.opts.clock.now(self->clock()) - st.opts.dead_letter_retention;
  try {
    if (auto n = st.db->jobs().sweep_dead_letters(before); n > 0) {
      st.swept->add(static_cast<std::int64_t>(n));
      std::cerr << "event=dead_letters_swept count=" << n << " older_than=" << core::format_rfc3339(before) << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "event=dead_letter_sweep_failed error=\"" << e.what() << "\"" << std::endl;
  }
  self->delayed_send(self, st.opts.sweep_every, msg::sweep_due{});
}

msg::store_actor::behavior_type store_fn(self_ptr self, std::shared_ptr<core::store_db> db, store_options opts) {
  auto& st = self->state;
  st.db = std::move(db);
  st.opts = std::move(opts);
  if (!st.opts.metrics)
    st.opts.metrics = std::make_shared<core::metrics_registry>();
  auto& m = *st.opts.metrics;
  st.commits = &m.get_counter("cutover_store_commits_total", {}, "Transactions committed by the job store.");
  st.rows = &m.get_counter("cutover_store_rows_total", {}, "Job inserts and events written.");
  st.failed = &m.get_counter("cutover_store_commit_failures_total", {}, "Transactions that failed.");
  st.swept = &m.get_counter("cutover_dead_letters_swept_total", {}, "Dead letters deleted after their retention.");
  self->delayed_send(self, st.opts.sweep_every, msg::sweep_due{});
  // an exit can overtake the flush the store sent itself: commit what it holds before it stops
  self->set_exit_handler([self](caf::exit_msg& m) {
    if (self->state.flush_pending)
      flush(self);
    self->quit(m.reason);
  });
  return {
    [self](msg::insert_job& m) -> caf::typed_response_promise<msg::stored> {
      self->state.batch.inserts.push_back(std::move(m.job));
      auto rp = self->make_response_promise<msg::stored>();
      self->state.waiting.push_back(rp);
      schedule_flush(self);
      return rp;
    },
    [self](msg::record_events& m) { return buffer_events(self, m.events, true); },
    [self](msg::note_events& m) { buffer_events(self, m.events, false); },
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
      return read<msg::job_list>(self, [&](core::store_db& db) { return msg::job_list{db.jobs().dead_letters(m.limit)}; });
    },
    [self](msg::note_budget& m) {
      auto& rows = self->state.batch.budget_rows;
      rows.insert(rows.end(), std::make_move_iterator(m.rows.begin()), std::make_move_iterator(m.rows.end()));
      schedule_flush(self);
    },
    [self](msg::record_rollout& m) -> caf::typed_response_promise<msg::stored> {
      auto& side = self->state.batch;
      side.rollout.insert(side.rollout.end(), m.status.begin(), m.status.end());
      side.decisions.insert(side.decisions.end(), std::make_move_iterator(m.decisions.begin()),
                            std::make_move_iterator(m.decisions.end()));
      auto rp = self->make_response_promise<msg::stored>();
      self->state.waiting.push_back(rp);
      schedule_flush(self);
      return rp;
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
    [self](const msg::load_budget& m) {
      return read<msg::budget_state>(self, [&](core::store_db& db) {
        return msg::budget_state{db.budget().budget_state(m.day_start, m.day)};
      });
    },
    [self](const msg::load_budget_days& m) {
      return read<msg::budget_days>(self, [&](core::store_db& db) { return msg::budget_days{db.budget().budget_days(m.since_day)}; });
    },
    [self](const msg::load_daily_stats& m) {
      return read<msg::daily_stats>(self, [&](core::store_db& db) {
        return msg::daily_stats{db.budget().daily_stats(m.since, m.day_starts)};
      });
    },
    [self](const msg::load_finished_attempts& m) {
      return read<msg::finished_attempts>(self, [&](core::store_db& db) {
        return msg::finished_attempts{db.jobs().finished_attempts(m.after, m.until, m.limit)};
      });
    },
    [self](msg::record_feedback& m) { return buffer_side(self, self->state.batch.feedback, std::move(m.row)); },
    [self](const msg::load_feedback& m) {
      return read<msg::feedback_list>(self, [&](core::store_db& db) { return msg::feedback_list{db.audit().feedback_since(m.since)}; });
    },
    [self](msg::record_trip& m) { return buffer_side(self, self->state.batch.trips, std::move(m.row)); },
    [self](const msg::load_trips& m) {
      return read<msg::trip_list>(self, [&](core::store_db& db) { return msg::trip_list{db.audit().trips_since(m.since)}; });
    },
    [self](const msg::load_call_starts& m) {
      return read<msg::call_starts>(self, [&](core::store_db& db) {
        return msg::call_starts{db.jobs().call_starts(m.provider, m.since)};
      });
    },
    [self](msg::store_flush) {
      if (self->state.flush_pending)
        flush(self);
    },
    [self](msg::sweep_due) { sweep(self); },
    [self](const msg::config_snapshot& c) { self->state.opts.dead_letter_retention = c.cfg->dead_letter.retention; },
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
