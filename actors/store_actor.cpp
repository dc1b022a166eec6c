#include "actors/store_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <iostream>

namespace cutover::actors {

namespace {

struct store_state {
  std::shared_ptr<core::job_store> db;
  std::vector<core::job_record> inserts;
  std::vector<core::job_event> events;
  std::vector<caf::typed_response_promise<msg::stored>> waiting;
  bool flush_pending = false;
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
  auto rows = st.inserts.size() + st.events.size();
  try {
    st.db->write(st.inserts, st.events);
  } catch (const std::exception& e) {
    std::cerr << "event=store_commit_failed rows=" << rows << " error=\"" << e.what() << "\"" << std::endl;
    st.inserts.clear();
    st.events.clear();
    for (auto& p : waiting)
      p.deliver(caf::make_error(caf::sec::runtime_error, e.what()));
    return;
  }
  st.inserts.clear();
  st.events.clear();
  for (auto& p : waiting)
    p.deliver(msg::stored{rows});
}


msg::store_actor::behavior_type store_fn(self_ptr self, std::shared_ptr<core::job_store> db) {
  self->state.db = std::move(db);
  // A read sees every write that was queued before it: commit first.
  auto commit_before_read = [self] {
    if (self->state.flush_pending)
      flush(self);
  };
  return {
    [=](msg::insert_job& m) -> caf::typed_response_promise<msg::stored> {
      self->state.inserts.push_back(std::move(m.job));
      auto rp = self->make_response_promise<msg::stored>();
      self->state.waiting.push_back(rp);
      schedule_flush(self);
      return rp;
    },
    [=](msg::record_events& m) -> caf::typed_response_promise<msg::stored> {
      auto& ev = self->state.events;
      ev.insert(ev.end(), std::make_move_iterator(m.events.begin()), std::make_move_iterator(m.events.end()));
      auto rp = self->make_response_promise<msg::stored>();
      self->state.waiting.push_back(rp);
      schedule_flush(self);
      return rp;
    },
    [=](msg::note_events& m) {
      auto& ev = self->state.events;
      ev.insert(ev.end(), std::make_move_iterator(m.events.begin()), std::make_move_iterator(m.events.end()));
      schedule_flush(self);
    },
    [=](const msg::get_job& m) -> caf::result<msg::job_lookup> {
      commit_before_read();
      try {
        auto job = self->state.db->find(m.id);
        if (!job)
          return msg::job_lookup{false, {}};
        return msg::job_lookup{true, std::move(*job)};
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
    [=](msg::load_open_jobs) -> caf::result<msg::open_jobs> {
      commit_before_read();
      try {
        return msg::open_jobs{self->state.db->open_jobs()};
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
    [=](const msg::load_boot& m) -> caf::result<msg::boot_state> {
      commit_before_read();
      try {
        return msg::boot_state{self->state.db->max_job_id(), self->state.db->idempotency_keys(m.keys_since)};
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
    [=](msg::store_flush) {
      if (self->state.flush_pending)
        flush(self);
    },
  };
}

} // namespace

msg::store_actor spawn_store(caf::actor_system& sys, std::shared_ptr<core::job_store> db, bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(store_fn, std::move(db));
  return sys.spawn(store_fn, std::move(db));
}

} // namespace cutover::actors
