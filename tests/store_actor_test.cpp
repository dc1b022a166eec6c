// The store actor under failing commits, in virtual time: a failed group commit refuses its new jobs and keeps
// everything else (events, budget rows, rollout state, decisions, ratings, trips) for the next commit, which runs
// after a backoff on the actor clock; commits that keep failing, or rows that pile up, stop the store.
#include "actors/store_actor.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "support/failing_store.hpp"
#include "support/virtual_time.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <map>
#include <optional>

using namespace cutover;
using namespace std::chrono_literals;
using core::job_status;

namespace {

core::job_record job_of(std::uint64_t id, core::instant at) {
  core::job_record j;
  j.id = core::job_id{id};
  j.spec.user_id = "u";
  j.spec.prompt = "a kite";
  j.status = job_status::accepted;
  j.created_at = j.updated_at = at;
  return j;
}

core::job_event attempt_event(std::uint64_t id, core::event_kind kind, core::instant at, job_status status) {
  core::job_event e;
  e.id = core::job_id{id};
  e.kind = kind;
  e.at = at;
  e.status = status;
  e.attempt.no = 1;
  e.attempt.provider = "gemini";
  e.attempt.started_at = at;
  return e;
}

/// A job's attempt starts, finishes at 30,000 micro-dollars, and the job succeeds: three events.
std::vector<core::job_event> life(std::uint64_t id, core::instant at) {
  auto started = attempt_event(id, core::event_kind::attempt_started, at, job_status::submitted);
  auto done = attempt_event(id, core::event_kind::attempt_finished, at + 1s, job_status::running);
  done.attempt.finished_at = at + 1s;
  done.attempt.outcome = job_status::succeeded;
  done.attempt.cost = 30'000;
  auto finished = attempt_event(id, core::event_kind::finished, at + 1s, job_status::succeeded);
  finished.images = {"aW1n"};
  finished.cost = 30'000;
  return {started, done, finished};
}

struct rig {
  testing::virtual_time vt;
  testing::temp_dir dir;
  std::shared_ptr<testing::failing_store> db;
  msg::store_actor store;
  std::shared_ptr<std::map<std::string, std::string>> answers = std::make_shared<std::map<std::string, std::string>>();
  std::unique_ptr<caf::scoped_actor> watcher;

  explicit rig(core::commit_retry_limits limits = {}) {
    db = std::make_shared<testing::failing_store>(
      store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal));
    db->clock = [this] { return vt.now(); };
    actors::store_options opts;
    opts.clock = vt.anchor();
    opts.retry = limits;
    store = actors::spawn_store(*vt.sys, db, opts);
    watcher = std::make_unique<caf::scoped_actor>(*vt.sys);
    (*watcher)->monitor(store);
    vt.run();
  }
  ~rig() {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    vt.run();
    watcher.reset();
  }

  /// Whether the store ended, and why (without waiting: virtual time has run already).
  std::optional<caf::error> down() {
    std::optional<caf::error> out;
    (*watcher)->receive([&](caf::down_msg& dm) { out = dm.reason; }, caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }

  /// Sends `m` from an actor of its own, without an answer: it reaches the store in the order of the other asks.
  template <class Msg>
  void tell(Msg m) {
    auto to = store;
    vt.sys->spawn([to, m](caf::event_based_actor* self) { self->send(to, m); });
  }

  /// Sends `m` from an actor of its own; its answer lands in answers[tag] ("stored" or "error: ...").
  template <class Msg>
  void ask(const std::string& tag, Msg m) {
    auto got = answers;
    auto to = store;
    vt.sys->spawn([to, m, tag, got](caf::event_based_actor* self) {
      self->request(to, caf::infinite, m)
        .then([self, tag, got](msg::stored) { (*got)[tag] = "stored"; self->quit(); },
              [self, tag, got](caf::error& e) { (*got)[tag] = "error: " + to_string(e); self->quit(); });
    });
  }
  std::string answer(const std::string& tag) const {
    auto it = answers->find(tag);
    return it == answers->end() ? "none" : it->second;
  }
};

} // namespace

TEST_CASE("a failed commit refuses its new jobs, keeps every other write, and the retry writes them in order") {
  for (const char* error : {testing::sqlite_full, testing::sqlite_ioerr, testing::sqlite_busy}) {
    DYNAMIC_SECTION(error) {
      rig r;
      const auto t0 = r.vt.now();
      r.ask("insert 1", msg::insert_job{job_of(1, t0)});
      r.vt.run();
      REQUIRE(r.answer("insert 1") == "stored");

      r.db->fail(1, error);
      r.ask("insert 2", msg::insert_job{job_of(2, t0)});
      r.ask("events 1", msg::record_events{life(1, t0)});
      core::day_row row;
      row.day = "2026-01-01";
      row.provider = "gemini";
      row.consumed = 30'000;
      row.requests = 1;
      r.tell(msg::note_budget{{row}});
      core::rollout_status status;
      status.phase = 1;
      status.percent = 10;
      status.since = t0;
      core::decision_record decision;
      decision.at = t0;
      decision.action = "promote";
      decision.reason = "gates passed";
      r.ask("rollout", msg::record_rollout{{status}, {decision}});
      r.ask("feedback", msg::record_feedback{{core::job_id{1}, "gemini", 0.8, t0}});
      r.ask("trip", msg::record_trip{{"gemini", t0}});
      r.vt.run();
      REQUIRE(r.db->attempts.size() == 2);
      CHECK_FALSE(r.db->attempts[1].ok);
      CHECK(r.answer("insert 2").find("error") == 0); // intake answers it 503
      CHECK(r.answer("insert 2").find(error) != std::string::npos);
      for (const char* kept : {"events 1", "rollout", "feedback", "trip"})
        CHECK(r.answer(kept) == "none"); // kept, not refused: answered once on disk
      CHECK(r.db->jobs().find(core::job_id{1})->attempts.empty());

      // a write that arrives while the retry waits joins it; nothing is committed before the backoff ends
      r.ask("insert 3", msg::insert_job{job_of(3, t0)});
      r.vt.advance(99ms);
      CHECK(r.db->attempts.size() == 2);
      r.vt.advance(1ms);
      REQUIRE(r.db->attempts.size() == 3);
      CHECK(r.db->attempts[2].ok);
      CHECK(r.db->attempts[2].at == t0 + 100ms);
      CHECK(r.db->attempts[2].inserts == 1);               // job 3; job 2 was refused and is gone
      CHECK(r.db->attempts[2].events == 3);
      CHECK(r.db->attempts[2].side_rows == r.db->attempts[1].side_rows);
      for (const char* kept : {"events 1", "rollout", "feedback", "trip", "insert 3"})
        CHECK(r.answer(kept) == "stored");

      CHECK_FALSE(r.db->jobs().find(core::job_id{2}));
      CHECK(r.db->jobs().find(core::job_id{3}));
      const auto j1 = r.db->jobs().find(core::job_id{1});
      REQUIRE(j1);
      CHECK(j1->status == job_status::succeeded);
      REQUIRE(j1->attempts.size() == 1);
      CHECK(j1->attempts.front().outcome == job_status::succeeded);
      CHECK(j1->attempts.front().cost == 30'000);
      const auto days = r.db->budget().budget_days("2026-01-01");
      REQUIRE(days.size() == 1);
      CHECK(days.front().consumed == 30'000);
      REQUIRE(r.db->audit().rollout_state());
      CHECK(r.db->audit().rollout_state()->percent == 10);
      const auto decisions = r.db->audit().decisions(core::instant{}, 0, 10);
      REQUIRE(decisions.size() == 1);
      CHECK(decisions.front().action == "promote");
      CHECK(r.db->audit().feedback_since(core::instant{}).size() == 1);
      CHECK(r.db->audit().trips_since(core::instant{}).size() == 1);
      CHECK_FALSE(r.down());
    }
  }
}

TEST_CASE("commits that keep failing are retried with a doubling backoff and stop the store after the limit") {
  core::commit_retry_limits limits;
  limits.first_backoff = 100ms;
  limits.max_backoff = 500ms;
  limits.max_failures = 6;
  rig r{limits};
  const auto t0 = r.vt.now();
  r.db->fail_always = true;
  r.ask("events", msg::record_events{life(7, t0)});
  r.vt.advance(1min);
  std::vector<core::duration> at;
  for (const auto& a : r.db->attempts) {
    CHECK_FALSE(a.ok);
    at.push_back(a.at - t0);
  }
  CHECK(at == std::vector<core::duration>{0ms, 100ms, 300ms, 700ms, 1200ms, 1700ms});
  const auto down = r.down();
  REQUIRE(down); // serve sees a watched actor end with an error and exits with code 3
  CHECK(*down != caf::exit_reason::user_shutdown);
  CHECK(to_string(*down).find("6 commits in a row failed") != std::string::npos);
  CHECK(r.answer("events").find("error") == 0); // the writer hears it; the next start recovers from disk
}

TEST_CASE("rows held for a retry past the byte limit stop the store at the first failure") {
  core::commit_retry_limits limits;
  limits.max_held_bytes = 4096;
  rig r{limits};
  const auto t0 = r.vt.now();
  r.db->fail_always = true;
  auto events = life(7, t0);
  events.back().images = {std::string(10'000, 'A')};
  r.ask("events", msg::record_events{events});
  r.vt.advance(1min);
  CHECK(r.db->attempts.size() == 1);
  const auto down = r.down();
  REQUIRE(down);
  CHECK(to_string(*down).find("bytes held") != std::string::npos);
}

TEST_CASE("a failure count is reset by a commit that succeeds") {
  core::commit_retry_limits limits;
  limits.max_failures = 3;
  rig r{limits};
  const auto t0 = r.vt.now();
  for (int round = 0; round < 3; ++round) {
    r.db->fail(2, testing::sqlite_busy);
    const auto tag = "events " + std::to_string(round);
    r.ask(tag, msg::record_events{life(10 + static_cast<std::uint64_t>(round), t0)});
    r.vt.advance(10s);
    CHECK(r.answer(tag) == "stored");
  }
  CHECK(r.db->attempts.size() == 9);
  CHECK_FALSE(r.down());
}

TEST_CASE("a shutdown while a retry waits commits what is held once more") {
  rig r;
  const auto t0 = r.vt.now();
  r.ask("insert", msg::insert_job{job_of(1, t0)});
  r.vt.run();
  r.db->fail(1, testing::sqlite_ioerr);
  r.ask("events", msg::record_events{life(1, t0)});
  r.vt.run();
  REQUIRE(r.db->attempts.size() == 2);
  caf::anon_send_exit(r.store, caf::exit_reason::user_shutdown);
  r.vt.run();
  REQUIRE(r.db->attempts.size() == 3);
  CHECK(r.db->attempts[2].ok);
  CHECK(r.db->jobs().find(core::job_id{1})->status == job_status::succeeded);
}

TEST_CASE("the store writes its probe row on its own timer and its gauges say when a commit fails and recovers") {
  testing::virtual_time vt;
  testing::temp_dir dir;
  auto db = std::make_shared<testing::failing_store>(
    store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal));
  db->clock = [&vt] { return vt.now(); };
  auto metrics = std::make_shared<core::metrics_registry>();
  actors::store_options opts;
  opts.clock = vt.anchor();
  opts.metrics = metrics;
  opts.probe_every = 10s;
  auto store = actors::spawn_store(*vt.sys, db, opts);
  auto& last = metrics->get_gauge("cutover_store_last_commit_timestamp_seconds", {});
  auto& failing = metrics->get_gauge("cutover_store_commit_failing", {});
  const auto t0 = vt.now();
  vt.run();
  // at start, with nothing else to write
  REQUIRE(db->attempts.size() == 1);
  CHECK(db->attempts[0].ok);
  CHECK(last.value() == t0.time_since_epoch().count());
  vt.advance(10s);
  REQUIRE(db->attempts.size() == 2);
  CHECK(last.value() == (t0 + 10s).time_since_epoch().count());
  // the next probe's commit fails: the store says so, and keeps its last good commit's time
  db->fail(1, testing::sqlite_ioerr);
  vt.advance(10s);
  REQUIRE(db->attempts.size() >= 3);
  CHECK_FALSE(db->attempts[2].ok);
  CHECK(failing.value() == 1);
  CHECK(last.value() == (t0 + 10s).time_since_epoch().count());
  // the retry after the backoff commits the probe
  vt.advance(1s);
  CHECK(failing.value() == 0);
  CHECK(last.value() > (t0 + 20s).time_since_epoch().count());
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  vt.run();
  SQLite::Database raw(dir.file("jobs.db"), SQLite::OPEN_READONLY);
  // the probe taken at 20 s, committed by the retry
  CHECK(raw.execAndGet("SELECT at FROM store_probe WHERE id = 1").getInt64() == (t0 + 20s).time_since_epoch().count());
}

TEST_CASE("final jobs past jobs.retention are swept on the actor clock, in slices, and open jobs stay") {
  testing::virtual_time vt;
  testing::temp_dir dir;
  auto db = std::shared_ptr<core::store_db>(store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal));
  const auto t0 = vt.now();
  constexpr std::uint64_t finals = 4500; // more than two slices of the sweep
  {
    std::vector<core::job_record> jobs;
    std::vector<core::job_event> events;
    for (std::uint64_t id = 1; id <= finals; ++id) {
      jobs.push_back(job_of(id, t0));
      auto l = life(id, t0);
      events.insert(events.end(), l.begin(), l.end());
    }
    jobs.push_back(job_of(finals + 1, t0)); // never ends
    db->write(std::move(jobs), std::move(events));
  }
  auto metrics = std::make_shared<core::metrics_registry>();
  actors::store_options opts;
  opts.clock = vt.anchor();
  opts.metrics = metrics;
  opts.jobs_retention = 2h;
  auto store = actors::spawn_store(*vt.sys, db, opts);
  auto rows = [&] {
    SQLite::Database raw(dir.file("jobs.db"), SQLite::OPEN_READONLY);
    return raw.execAndGet("SELECT COUNT(*) FROM jobs").getInt64();
  };
  vt.run();
  CHECK(rows() == static_cast<std::int64_t>(finals + 1)); // at start: nothing is 2 h old yet
  vt.advance(1h);
  CHECK(rows() == static_cast<std::int64_t>(finals + 1));
  vt.advance(1h); // ended at t0 + 1 s: not yet 2 h before t0 + 2 h
  CHECK(rows() == static_cast<std::int64_t>(finals + 1));
  vt.advance(1h);
  CHECK(rows() == 1); // every slice, one after the other; the open job stays
  CHECK(metrics->get_counter("cutover_jobs_swept_total", {}).value() == static_cast<std::int64_t>(finals));
  SQLite::Database raw(dir.file("jobs.db"), SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("SELECT COUNT(*) FROM attempts").getInt64() == 0);
  CHECK(raw.execAndGet("SELECT COUNT(*) FROM results").getInt64() == 0);
  CHECK(raw.execAndGet("SELECT status FROM jobs").getString() == "accepted");
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  vt.run();
}

TEST_CASE("notified events past jobs.retention are swept on the actor clock, unless a delivery of theirs still waits") {
  testing::virtual_time vt;
  testing::temp_dir dir;
  auto db = std::shared_ptr<core::store_db>(store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal));
  const auto t0 = vt.now();
  {
    core::write_batch b;
    for (int i = 0; i < 3; ++i)
      b.derived.push_back(core::notice{"breaker.open", t0, "{}", true, {}});
    b.derived.push_back(core::notice{"rollout.rollback", t0, "{}", true, {{"http://127.0.0.1:9/hook", "HOOK_SECRET"}}});
    b.derived.push_back(core::notice{"breaker.closed", t0 + 90min, "{}", true, {}});
    db->commit(b);
  }
  auto count = [&](const char* table) {
    SQLite::Database raw(dir.file("jobs.db"), SQLite::OPEN_READONLY);
    return raw.execAndGet(std::string{"SELECT COUNT(*) FROM "} + table).getInt64();
  };
  REQUIRE(count("notify_events") == 5);
  REQUIRE(count("outbox") == 1);
  auto metrics = std::make_shared<core::metrics_registry>();
  actors::store_options opts;
  opts.clock = vt.anchor();
  opts.metrics = metrics;
  opts.jobs_retention = 2h;
  auto store = actors::spawn_store(*vt.sys, db, opts);
  vt.run();
  CHECK(count("notify_events") == 5); // at start: nothing is 2 h old
  vt.advance(2h);
  CHECK(count("notify_events") == 5); // at t0 + 2 h the events of t0 are not older than 2 h yet
  vt.advance(1h);
  // t0 + 3 h: the three breaker events of t0 go; the rollback's delivery still waits, so its event stays
  CHECK(count("notify_events") == 2);
  CHECK(metrics->get_counter("cutover_notify_events_swept_total", {}).value() == 3);
  {
    // the delivery is done (answered 2xx, or past notify.max_age): the outbox entry goes
    core::write_batch b;
    SQLite::Database raw(dir.file("jobs.db"), SQLite::OPEN_READONLY);
    b.delivered.push_back(raw.execAndGet("SELECT id FROM outbox").getInt64());
    db->commit(b);
  }
  vt.advance(1h); // t0 + 4 h: the rollback's event and the breaker.closed of t0 + 90 min
  CHECK(count("notify_events") == 0);
  CHECK(count("outbox") == 0);
  CHECK(metrics->get_counter("cutover_notify_events_swept_total", {}).value() == 5);
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  vt.run();
}
