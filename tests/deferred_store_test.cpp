/// simulate's deferred store over the real SQLite store on files in a temporary folder: batches are gathered until
/// a read, a row limit or the end; a read sees every batch committed before it; the rows that land are those that
/// one write per batch leaves; a failed deferred write is kept for the run to report.

#include "adapters/store/deferred_store.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "support/virtual_time.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

using namespace cutover;
using namespace std::chrono_literals;
using core::event_kind;
using core::job_event;
using core::job_record;
using core::job_status;
using core::write_batch;
using store_adapter::deferred_store;

namespace {

using temp_folder = testing::temp_dir;

std::unique_ptr<core::store_db> open_at(const std::string& path) {
  return store_adapter::open_sqlite_store(path, core::sync_mode::off, store_adapter::store_open_options{false});
}

const core::instant t0 = core::instant{} + 1'800'000'000s;

job_record job_of(std::uint64_t id) {
  job_record j;
  j.id = core::job_id{id};
  j.spec.user_id = "user-" + std::to_string(id);
  j.spec.prompt = "sim " + std::to_string(id);
  j.status = job_status::accepted;
  j.created_at = t0 + std::chrono::seconds(id);
  j.updated_at = j.created_at;
  return j;
}

job_event event(std::uint64_t id, event_kind kind, core::instant at, job_status status) {
  job_event e;
  e.id = core::job_id{id};
  e.kind = kind;
  e.at = at;
  e.status = status;
  return e;
}

job_event routed(std::uint64_t id, core::instant at, std::string provider) {
  auto e = event(id, event_kind::routed, at, job_status::queued);
  e.provider = std::move(provider);
  e.bucket = 7;
  e.text = "bucket 7 <= 10";
  return e;
}

job_event started(std::uint64_t id, int no, core::instant at, std::string provider) {
  auto e = event(id, event_kind::attempt_started, at, job_status::submitted);
  e.attempt.no = no;
  e.attempt.provider = std::move(provider);
  e.attempt.started_at = at;
  return e;
}

job_event attempt_done(std::uint64_t id, int no, core::instant at, core::error_class error, core::micros cost) {
  auto e = event(id, event_kind::attempt_finished, at, job_status::running);
  e.attempt.no = no;
  e.attempt.finished_at = at;
  e.attempt.outcome = error == core::error_class::none ? job_status::succeeded : job_status::failed;
  e.attempt.error = error;
  e.attempt.cost = cost;
  e.attempt.quality = 0.9;
  return e;
}

job_event finished(std::uint64_t id, core::instant at, job_status status, core::micros cost) {
  auto e = event(id, event_kind::finished, at, status);
  e.cost = cost;
  return e;
}

write_batch inserts(std::vector<job_record> js) {
  write_batch b;
  b.inserts = std::move(js);
  return b;
}

write_batch events(std::vector<job_event> es) {
  write_batch b;
  b.events = std::move(es);
  return b;
}

/// Three jobs over many small commits, as the store actor writes them: one fails over to a second provider, one
/// gets a late progress event after its final one, one is still running at the end; budget rows, rollout state and
/// decisions are rewritten along the way.
std::vector<write_batch> story() {
  std::vector<write_batch> out;
  out.push_back(inserts({job_of(1), job_of(2)}));
  out.push_back(events({routed(1, t0 + 10s, "gemini"), routed(2, t0 + 10s, "photomaker")}));
  out.push_back(inserts({job_of(3)}));
  out.push_back(events({started(1, 1, t0 + 20s, "gemini"), started(2, 1, t0 + 20s, "photomaker")}));
  out.push_back(events({attempt_done(1, 1, t0 + 30s, core::error_class::server, 0)}));
  out.push_back(events({started(1, 2, t0 + 31s, "photomaker"), routed(3, t0 + 31s, "gemini")}));
  out.push_back(events({attempt_done(2, 1, t0 + 40s, core::error_class::none, 40'000),
                        finished(2, t0 + 40s, job_status::succeeded, 40'000)}));
  // a late progress event of another commit never replaces a final status
  out.push_back(events({routed(2, t0 + 41s, "photomaker")}));
  out.push_back(events({attempt_done(1, 2, t0 + 50s, core::error_class::none, 40'000),
                        finished(1, t0 + 50s, job_status::succeeded, 40'000), started(3, 1, t0 + 50s, "gemini")}));
  for (int i = 1; i <= 3; ++i) {
    write_batch b;
    b.budget_rows.push_back({"2027-01-15", "", 200'000'000, 40'000 * i, 1'000, i, 0});
    b.rollout.push_back({0, 10 * i, core::rollout_phase_state::running, t0 + std::chrono::seconds(i), {}, "h"});
    core::decision_record d;
    d.at = t0 + std::chrono::seconds(i);
    d.phase = 0;
    d.percent = 10 * i;
    d.state = "running";
    d.config_hash = "h";
    d.action = "promote";
    d.reason = "step " + std::to_string(i);
    d.items.push_back({"gate", "p95_max", "pass", 10min, 20 + i, 1.5, 0, 60, "ok"});
    b.decisions.push_back(d);
    out.push_back(b);
  }
  return out;
}

/// What a store holds, as its readers see it.
std::string contents(core::store_db& s) {
  std::string out;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    auto j = s.jobs().find(core::job_id{id});
    REQUIRE(j);
    out += std::to_string(id) + " " + std::string{to_string(j->status)} + " " + j->provider + " " +
           std::to_string(j->bucket) + " " + j->route_reason + " " + std::to_string(j->cost) + " " +
           std::to_string(j->updated_at.time_since_epoch().count()) + "\n";
    for (const auto& a : j->attempts)
      out += "  " + std::to_string(a.no) + " " + a.provider + " " + std::string{to_string(a.outcome)} + " " +
             std::string{to_string(a.error)} + " " + std::to_string(a.cost) + " " +
             std::to_string(a.finished_at.time_since_epoch().count()) + "\n";
  }
  for (const auto& r : s.budget().budget_days("0000-00-00"))
    out += r.day + " " + r.provider + " " + std::to_string(r.consumed) + " " + std::to_string(r.requests) + "\n";
  if (auto r = s.audit().rollout_state())
    out += "rollout " + std::to_string(r->percent) + "\n";
  for (const auto& d : s.audit().decisions(t0, 0, 100))
    out += "decision " + std::to_string(d.id) + " " + d.reason + " " + std::to_string(d.items.size()) + "\n";
  return out;
}

/// An inner store whose commits fail (the disk is full, say).
struct failing_store final : core::store_db {
  std::unique_ptr<core::store_db> inner;
  core::job_store& jobs() override { return inner->jobs(); }
  core::budget_store& budget() override { return inner->budget(); }
  core::audit_store& audit() override { return inner->audit(); }
  void commit(const write_batch&) override { throw std::runtime_error("disk full"); }
};

} // namespace

TEST_CASE("the deferred store writes nothing until a read, and the read sees every batch committed before it") {
  temp_folder dir;
  deferred_store store{open_at(dir.file("jobs.db")), 1'000'000};
  store.commit(inserts({job_of(1)}));
  store.commit(events({routed(1, t0 + 10s, "gemini")}));
  store.commit(events({started(1, 1, t0 + 20s, "gemini")}));
  CHECK(store.writes() == 0);
  auto j = store.jobs().find(core::job_id{1});
  CHECK(store.writes() == 1);
  REQUIRE(j);
  CHECK(j->status == job_status::submitted);
  CHECK(j->provider == "gemini");
  CHECK(j->route_reason == "bucket 7 <= 10");
  REQUIRE(j->attempts.size() == 1);
  CHECK(j->attempts[0].provider == "gemini");
  // nothing new was committed: a second read writes nothing
  CHECK(store.jobs().max_job_id() == 1);
  CHECK(store.writes() == 1);
}

TEST_CASE("batches gathered into one write leave the rows that one write per batch leaves") {
  temp_folder dir;
  const auto batches = story();
  REQUIRE(!batches.empty());
  auto one_by_one = open_at(dir.file("each.db"));
  for (const auto& b : batches)
    one_by_one->commit(b);
  deferred_store gathered{open_at(dir.file("gathered.db")), 1'000'000};
  for (std::size_t i = 0; i < batches.size(); ++i) {
    auto b = batches[i];
    if (i % 2 == 0) { // as the store actor hands them over: the rows move out
      gathered.commit_taking(b);
      CHECK(b.empty());
    } else {
      gathered.commit(b);
    }
  }
  CHECK(gathered.writes() == 0);
  const auto expected = contents(*one_by_one);
  INFO(expected);
  CHECK(expected.find("2 succeeded photomaker") != std::string::npos);
  CHECK(expected.find("rollout 30") != std::string::npos);
  CHECK(contents(gathered) == expected);
  CHECK(gathered.writes() == 1);
}

TEST_CASE("the deferred store writes on its own once it holds max_rows rows, and at the end") {
  temp_folder dir;
  const auto path = dir.file("jobs.db");
  {
    deferred_store store{open_at(path), 3};
    store.commit(inserts({job_of(1)}));
    store.commit(inserts({job_of(2)}));
    CHECK(store.writes() == 0);
    store.commit(inserts({job_of(3)}));
    CHECK(store.writes() == 1);
    store.commit(events({routed(3, t0 + 10s, "gemini")}));
    CHECK(store.writes() == 1);
  } // the last batch is written when the store closes
  auto reader = open_at(path);
  auto j = reader->jobs().find(core::job_id{3});
  REQUIRE(j);
  CHECK(j->provider == "gemini");
}

TEST_CASE("a failed deferred write is kept as the run's failure") {
  temp_folder dir;
  auto inner = std::make_unique<failing_store>();
  inner->inner = open_at(dir.file("jobs.db"));
  deferred_store store{std::move(inner), 1'000'000};
  store.commit(inserts({job_of(1)}));
  CHECK(store.failure().empty());
  CHECK_THROWS_WITH(store.write_pending(), "disk full");
  CHECK(store.failure() == "disk full");
}

TEST_CASE("with a writer thread, batches handed over at max_rows leave the rows that one write per batch leaves") {
  temp_folder dir;
  const auto batches = story();
  REQUIRE(batches.size() > 4);
  auto one_by_one = open_at(dir.file("each.db"));
  for (const auto& b : batches)
    one_by_one->commit(b);
  deferred_store background{open_at(dir.file("background.db")), 2, true};
  for (auto b : batches)
    background.commit_taking(b);
  const auto expected = contents(*one_by_one);
  INFO(expected);
  CHECK(expected.find("1 succeeded photomaker") != std::string::npos);
  CHECK(contents(background) == expected); // a read waits for the write under way, then writes the rest
  CHECK(background.writes() > 2);          // handed over at two rows: several writes, in order
  CHECK(background.failure().empty());
}

TEST_CASE("with a writer thread, the dead-letter sweep runs after the rows gathered before it, and answers 0") {
  temp_folder dir;
  auto dead = [](std::uint64_t id) {
    write_batch b = inserts({job_of(id)});
    b.events.push_back(finished(id, t0 + std::chrono::seconds(id) + 1s, job_status::dead_lettered, 0));
    return b;
  };
  deferred_store now{open_at(dir.file("now.db")), 1'000'000};
  deferred_store later{open_at(dir.file("later.db")), 1'000'000, true};
  for (auto* s : {&now, &later}) {
    s->commit(dead(1));
    s->commit(dead(2));
  }
  // both dead letters are older than the cut: without the thread the sweep says how many went
  CHECK(now.jobs().sweep_dead_letters(t0 + 1h) == 2);
  CHECK(later.jobs().sweep_dead_letters(t0 + 1h) == 0);
  later.commit(dead(3)); // gathered after the sweep: it stays
  CHECK(now.jobs().dead_letters(10, "").empty());
  const auto left = later.jobs().dead_letters(10, "");
  REQUIRE(left.size() == 1);
  CHECK(left[0].id == core::job_id{3});
}

TEST_CASE("a failed background write is thrown by the next read and kept as the run's failure") {
  temp_folder dir;
  auto inner = std::make_unique<failing_store>();
  inner->inner = open_at(dir.file("jobs.db"));
  deferred_store store{std::move(inner), 1, true};
  store.commit(inserts({job_of(1)})); // one row: handed to the writer, which fails
  CHECK_THROWS_WITH(store.write_pending(), "disk full");
  CHECK(store.failure() == "disk full");
}
