/// The SQLite job store on a real file in a temporary folder: rows read back whole, events fold into rows,
/// open jobs, idempotency keys, persistence across reopen, one transaction per write, images in order.

#include "adapters/config/loader.hpp"
#include "adapters/store/sqlite_connection.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "support/virtual_time.hpp"

#include <SQLiteCpp/Database.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace cutover;
using namespace std::chrono_literals;
using core::event_kind;
using core::job_event;
using core::job_record;
using core::job_status;
using store_adapter::store_error;

namespace {

using temp_folder = testing::temp_dir;

std::unique_ptr<core::store_db> open_at(const std::string& path) {
  return store_adapter::open_sqlite_store(path, core::sync_mode::normal);
}

const core::instant t0 = core::instant{} + 1'800'000'000s + 123'456us;

job_record job_of(std::uint64_t id, std::string key = "", core::instant created = t0) {
  job_record j;
  j.id = core::job_id{id};
  j.spec.user_id = "user-" + std::to_string(id);
  j.spec.prompt = "a lighthouse at dusk, 'quoted', \"double\"";
  j.spec.tier_ = core::tier::hd;
  j.spec.n = 2;
  j.spec.endpoint = "/v1/images";
  j.spec.segment = "enterprise";
  j.spec.metadata = R"({"campaign":"spring","tags":["a","b"]})";
  j.spec.tenant = "shop";
  j.status = job_status::accepted;
  j.created_at = created;
  j.updated_at = created + 1us;
  j.body_hash = key.empty() ? "" : "hash-" + std::to_string(id);
  j.idempotency_key = std::move(key);
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

job_event routed(std::uint64_t id, core::instant at, std::string provider, int bucket, std::string reason) {
  auto e = event(id, event_kind::routed, at, job_status::queued);
  e.provider = std::move(provider);
  e.bucket = bucket;
  e.text = std::move(reason);
  return e;
}

job_event started(std::uint64_t id, int no, core::instant at, std::string provider) {
  auto e = event(id, event_kind::attempt_started, at, job_status::submitted);
  e.attempt.no = no;
  e.attempt.provider = std::move(provider);
  e.attempt.started_at = at;
  return e;
}

job_event remote(std::uint64_t id, int no, core::instant at, std::string remote_id) {
  auto e = event(id, event_kind::attempt_remote, at, job_status::running);
  e.attempt.no = no;
  e.attempt.remote_id = std::move(remote_id);
  return e;
}

job_event attempt_done(std::uint64_t id, int no, core::instant at, core::error_class error, core::micros cost) {
  auto e = event(id, event_kind::attempt_finished, at, job_status::running);
  e.attempt.no = no;
  e.attempt.finished_at = at;
  e.attempt.outcome = error == core::error_class::none ? job_status::succeeded : job_status::failed;
  e.attempt.error = error;
  e.attempt.cost = cost;
  return e;
}

job_event finished(std::uint64_t id, core::instant at, job_status status, std::vector<std::string> images,
                   core::micros cost, std::string error = "") {
  auto e = event(id, event_kind::finished, at, status);
  e.images = std::move(images);
  e.cost = cost;
  e.text = std::move(error);
  return e;
}

/// A job's whole life: gemini (async) fails, then photomaker succeeds.
std::vector<job_event> life_of(std::uint64_t id) {
  return {routed(id, t0 + 1s, "gemini", 37, "bucket 37 <= 50"),
          started(id, 1, t0 + 2s, "gemini"),
          remote(id, 1, t0 + 3s, "sim-remote-1"),
          attempt_done(id, 1, t0 + 4s, core::error_class::server, 0),
          routed(id, t0 + 5s, "photomaker", 0, "fallback after gemini"),
          started(id, 2, t0 + 6s, "photomaker"),
          attempt_done(id, 2, t0 + 7s, core::error_class::none, 100'000),
          finished(id, t0 + 7s, job_status::succeeded, {"aW1hZ2Ux", "aW1hZ2Uy"}, 100'000)};
}

/// Every field of a record as text (the id excluded), so two records compare in one CHECK with a readable diff.
std::string describe(const job_record& j) {
  std::ostringstream s;
  s << "user=" << j.spec.user_id << " prompt=" << j.spec.prompt << " tier=" << core::to_string(j.spec.tier_)
    << " n=" << j.spec.n << " endpoint=" << j.spec.endpoint << " segment=" << j.spec.segment
    << " metadata=" << j.spec.metadata << " tenant=" << j.spec.tenant << " status=" << core::to_string(j.status) << " provider=" << j.provider
    << " bucket=" << j.bucket << " reason=" << j.route_reason << " cost=" << j.cost
    << " created=" << j.created_at.time_since_epoch().count() << " updated=" << j.updated_at.time_since_epoch().count()
    << " error=" << j.error << " key=" << j.idempotency_key << " hash=" << j.body_hash << "\nimages:";
  for (const auto& i : j.images)
    s << " " << i;
  for (const auto& a : j.attempts)
    s << "\nattempt " << a.no << " " << a.provider << " " << a.started_at.time_since_epoch().count() << ".."
      << a.finished_at.time_since_epoch().count() << " " << core::to_string(a.outcome) << " "
      << core::to_string(a.error) << " remote=" << a.remote_id << " cost=" << a.cost;
  return s.str();
}

void check_final_life(const job_record& j) {
  CHECK(j.status == job_status::succeeded);
  CHECK(j.provider == "photomaker");
  CHECK(j.bucket == 37); // a fallback route (bucket 0) keeps the sticky bucket
  CHECK(j.route_reason == "fallback after gemini");
  CHECK(j.cost == 100'000);
  CHECK(j.error.empty());
  CHECK(j.images == std::vector<std::string>{"aW1hZ2Ux", "aW1hZ2Uy"});
  CHECK(j.updated_at == t0 + 7s);
  REQUIRE(j.attempts.size() == 2);
  const auto& a1 = j.attempts[0];
  CHECK(a1.no == 1);
  CHECK(a1.provider == "gemini");
  CHECK(a1.started_at == t0 + 2s);
  CHECK(a1.finished_at == t0 + 4s);
  CHECK(a1.outcome == job_status::failed);
  CHECK(a1.error == core::error_class::server);
  CHECK(a1.remote_id == "sim-remote-1");
  CHECK(a1.cost == 0);
  const auto& a2 = j.attempts[1];
  CHECK(a2.no == 2);
  CHECK(a2.provider == "photomaker");
  CHECK(a2.started_at == t0 + 6s);
  CHECK(a2.finished_at == t0 + 7s);
  CHECK(a2.outcome == job_status::succeeded);
  CHECK(a2.error == core::error_class::none);
  CHECK(a2.remote_id.empty());
  CHECK(a2.cost == 100'000);
}

} // namespace

TEST_CASE("a written job reads back with every field and an unknown id is not found", "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  const auto j = job_of(42, "key-42");
  store->write({j}, {});
  const auto got = store->jobs().find(core::job_id{42});
  REQUIRE(got);
  CHECK(got->id == core::job_id{42});
  CHECK(got->spec.user_id == "user-42");
  CHECK(got->spec.prompt == j.spec.prompt);
  CHECK(got->spec.tier_ == core::tier::hd);
  CHECK(got->spec.n == 2);
  CHECK(got->spec.endpoint == "/v1/images");
  CHECK(got->spec.segment == "enterprise");
  CHECK(got->spec.metadata == j.spec.metadata);
  CHECK(got->idempotency_key == "key-42");
  CHECK(got->body_hash == "hash-42");
  CHECK(got->status == job_status::accepted);
  CHECK(got->created_at == t0);
  CHECK(got->updated_at == t0 + 1us);
  CHECK(got->attempts.empty());
  CHECK(got->images.empty());
  CHECK(got->cost == 0);
  CHECK_FALSE(store->jobs().find(core::job_id{43}));
}

TEST_CASE("events written one per write fold into the job and attempt rows step by step", "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  store->write({job_of(1)}, {});
  const auto events = life_of(1);
  auto step = [&](std::size_t i) {
    store->write({}, {events[i]});
    auto j = store->jobs().find(core::job_id{1});
    REQUIRE(j);
    return *j;
  };
  auto j = step(0);
  CHECK(j.status == job_status::queued);
  CHECK(j.provider == "gemini");
  CHECK(j.bucket == 37);
  CHECK(j.route_reason == "bucket 37 <= 50");
  CHECK(j.updated_at == t0 + 1s);
  j = step(1);
  CHECK(j.status == job_status::submitted);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].outcome == job_status::running);
  CHECK(j.attempts[0].provider == "gemini");
  CHECK(j.attempts[0].finished_at == core::instant{});
  j = step(2);
  CHECK(j.status == job_status::running);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].remote_id == "sim-remote-1");
  j = step(3);
  REQUIRE(j.attempts.size() == 1);
  CHECK(j.attempts[0].outcome == job_status::failed);
  CHECK(j.attempts[0].remote_id == "sim-remote-1"); // kept though the finishing event carries none
  for (std::size_t i = 4; i < events.size(); ++i)
    j = step(i);
  check_final_life(j);
}

TEST_CASE("all events of a job in one write fold to the same result as one write per event", "[store]") {
  temp_folder tmp;
  auto separate = open_at(tmp.file("separate.db"));
  auto together = open_at(tmp.file("together.db"));
  separate->write({job_of(1, "k")}, {});
  for (const auto& e : life_of(1))
    separate->write({}, {e});
  together->write({job_of(1, "k")}, life_of(1)); // the insert and its whole life in one commit
  const auto a = separate->jobs().find(core::job_id{1});
  const auto b = together->jobs().find(core::job_id{1});
  REQUIRE(a);
  REQUIRE(b);
  check_final_life(*b);
  CHECK(describe(*a) == describe(*b));
}

TEST_CASE("a final status is not overwritten by a later non-final event in the same write", "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  store->write({job_of(1), job_of(2)}, {});
  store->write({}, {finished(1, t0 + 5s, job_status::failed, {}, 0, "no provider left"),
                    routed(1, t0 + 6s, "sdxl", 0, "late route"),
                    finished(2, t0 + 5s, job_status::cancelled, {}, 0, "cancelled by client"),
                    started(2, 1, t0 + 6s, "sdxl"), remote(2, 1, t0 + 7s, "late")});
  const auto j1 = store->jobs().find(core::job_id{1});
  const auto j2 = store->jobs().find(core::job_id{2});
  REQUIRE(j1);
  REQUIRE(j2);
  CHECK(j1->status == job_status::failed);
  CHECK(j1->error == "no provider left");
  CHECK(j2->status == job_status::cancelled);
  CHECK(j2->error == "cancelled by client");
  CHECK(store->jobs().open_jobs().empty());
}

TEST_CASE("open jobs are the non-final ones oldest first with their attempts", "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  CHECK(store->jobs().max_job_id() == 0);
  CHECK(store->jobs().open_jobs().empty());
  store->write({job_of(9), job_of(3), job_of(5), job_of(7), job_of(2)}, {});
  store->write({}, {finished(5, t0 + 1s, job_status::succeeded, {"aW1n"}, 30'000),
                    finished(2, t0 + 1s, job_status::dead_lettered, {}, 0, "too many attempts"),
                    routed(3, t0 + 1s, "gemini", 12, "bucket 12 <= 50"), started(3, 1, t0 + 2s, "gemini"),
                    remote(3, 1, t0 + 3s, "sim-3")});
  const auto open = store->jobs().open_jobs();
  REQUIRE(open.size() == 3);
  CHECK(open[0].id == core::job_id{3});
  CHECK(open[1].id == core::job_id{7});
  CHECK(open[2].id == core::job_id{9});
  CHECK(open[0].status == job_status::running);
  REQUIRE(open[0].attempts.size() == 1);
  CHECK(open[0].attempts[0].remote_id == "sim-3");
  CHECK(open[0].attempts[0].provider == "gemini");
  CHECK(open[1].status == job_status::accepted);
  CHECK(open[1].attempts.empty());
  CHECK(store->jobs().max_job_id() == 9);
}

TEST_CASE("idempotency keys are listed from the given instant on and jobs without a key are not", "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  store->write({job_of(1, "old", t0 - 10s), job_of(2, "at", t0), job_of(3, "new", t0 + 10s), job_of(4, "", t0 + 20s)},
               {});
  auto keys = store->jobs().idempotency_keys(t0);
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].key == "at");
  CHECK(keys[0].body_hash == "hash-2");
  CHECK(keys[0].id == core::job_id{2});
  CHECK(keys[1].key == "new");
  CHECK(keys[1].body_hash == "hash-3");
  CHECK(keys[1].id == core::job_id{3});
  CHECK(store->jobs().idempotency_keys(t0 + 1h).empty());
  CHECK(store->jobs().idempotency_keys(t0 - 1h).size() == 3);
}

TEST_CASE("everything written survives closing and reopening the file", "[store]") {
  temp_folder tmp;
  const auto path = tmp.file("nested/dir/jobs.db"); // parent folders are created
  std::string before;
  {
    auto store = open_at(path);
    store->write({job_of(1, "k1"), job_of(2, "k2")}, life_of(1));
    store->write({}, {routed(2, t0 + 1s, "gemini", 4, "bucket 4 <= 50"), started(2, 1, t0 + 2s, "gemini")});
    before = describe(*store->jobs().find(core::job_id{1}));
  }
  auto store = open_at(path);
  const auto j1 = store->jobs().find(core::job_id{1});
  REQUIRE(j1);
  check_final_life(*j1);
  CHECK(describe(*j1) == before);
  const auto open = store->jobs().open_jobs();
  REQUIRE(open.size() == 1);
  CHECK(open[0].id == core::job_id{2});
  CHECK(open[0].status == job_status::submitted);
  CHECK(open[0].attempts.size() == 1);
  CHECK(store->jobs().max_job_id() == 2);
  CHECK(store->jobs().idempotency_keys(t0).size() == 2);
}

TEST_CASE("a write with a taken job id fails whole and keeps nothing of it", "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  store->write({job_of(1, "same")}, {});
  CHECK_THROWS_AS(store->write({job_of(3), job_of(1)}, {routed(1, t0 + 1s, "gemini", 7, "bucket 7 <= 50")}),
                  store_error);
  CHECK_FALSE(store->jobs().find(core::job_id{3})); // valid, but in the failed transaction
  const auto j1 = store->jobs().find(core::job_id{1});
  REQUIRE(j1);
  CHECK(j1->status == job_status::accepted);
  CHECK(j1->provider.empty());
  CHECK(store->jobs().max_job_id() == 1);
  CHECK(store->jobs().idempotency_keys(t0 - 1h).size() == 1);
}

TEST_CASE("the store still writes new jobs after a write failed", "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  store->write({job_of(1, "same")}, {});
  REQUIRE_THROWS_AS(store->write({job_of(1)}, {}), store_error); // the id is taken
  CHECK_NOTHROW(store->write({job_of(4, "other")}, {routed(1, t0 + 1s, "gemini", 7, "bucket 7 <= 50")}));
  CHECK(store->jobs().find(core::job_id{4}));
  const auto j1 = store->jobs().find(core::job_id{1});
  REQUIRE(j1);
  CHECK(j1->status == job_status::queued);
}

TEST_CASE("a key reused after intake forgot it moves to the new job", "[store]") {
  // intake keeps keys for a day and decides; a row still holding a key it no longer knows is older
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  store->write({job_of(1, "same")}, {});
  CHECK_NOTHROW(store->write({job_of(2, "same")}, {}));
  CHECK(store->jobs().find(core::job_id{1})->idempotency_key.empty());
  CHECK(store->jobs().find(core::job_id{2})->idempotency_key == "same");
  CHECK(store->jobs().idempotency_keys(t0 - 1h).size() == 1);
}

TEST_CASE("opening a store whose folder cannot be created throws a store error naming the path", "[store]") {
  temp_folder tmp;
  std::ofstream(tmp.file("plain-file")) << "not a folder";
  const auto path = tmp.file("plain-file/sub/jobs.db");
  try {
    open_at(path);
    FAIL("opening under a regular file succeeded");
  } catch (const store_error& e) {
    const std::string what = e.what();
    CHECK(what.find("cannot open store") != std::string::npos);
    CHECK(what.find(path) != std::string::npos);
  }
}

TEST_CASE("a store opened with the default config runs PRAGMA synchronous FULL on its file", "[store]") {
  auto loaded = config_adapter::load_config_text(R"(providers:
  a: {kind: simulated, cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}}
  b: {kind: simulated, cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}}
rollout: {name: r, baseline: a, candidate: b}
)",
                                                 "default.yaml");
  REQUIRE(loaded.config);
  temp_folder tmp;
  auto store = store_adapter::open_sqlite_store(tmp.file("jobs.db"), loaded.config->store.synchronous);
  CHECK(store_adapter::applied_synchronous(*store) == 2); // SQLite's FULL, read back from the store's connection
  store->write({job_of(1)}, {});
  CHECK(store->jobs().find(core::job_id{1}).has_value());
  // and each setting is what SQLite really applies
  auto applied = [&](const std::string& file, core::sync_mode m) {
    return store_adapter::applied_synchronous(*store_adapter::open_sqlite_store(tmp.file(file), m));
  };
  CHECK(applied("normal.db", core::sync_mode::normal) == 1);
  CHECK(applied("off.db", core::sync_mode::off) == 0);
}

TEST_CASE("images come back in order and a job without images has none", "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  const std::vector<std::string> images{"Zmlyc3Q=", "c2Vjb25k", "dGhpcmQ=", "Zm91cnRo"};
  store->write({job_of(1), job_of(2), job_of(3)},
               {finished(1, t0 + 1s, job_status::succeeded, images, 4),
                finished(2, t0 + 1s, job_status::failed, {}, 0, "content policy")});
  const auto j1 = store->jobs().find(core::job_id{1});
  const auto j2 = store->jobs().find(core::job_id{2});
  const auto j3 = store->jobs().find(core::job_id{3});
  REQUIRE(j1);
  REQUIRE(j2);
  REQUIRE(j3);
  CHECK(j1->images == images);
  CHECK(j2->images.empty());
  CHECK(j2->error == "content policy");
  CHECK(j3->images.empty());
}

TEST_CASE("swept dead letters are deleted and their ids are never given out again", "[store]") {
  temp_folder tmp;
  const auto path = tmp.file("jobs.db");
  {
    auto store = open_at(path);
    store->write({job_of(1), job_of(2), job_of(3)}, {});
    store->write({}, {finished(3, t0 + 1s, job_status::dead_lettered, {}, 0, "too many attempts"),
                      finished(1, t0 + 1s, job_status::succeeded, {"aW1n"}, 30'000)});
    CHECK(store->jobs().sweep_dead_letters(t0 + 2s) == 1);
    CHECK_FALSE(store->jobs().find(core::job_id{3}));
    CHECK(store->jobs().find(core::job_id{1}));
    CHECK(store->jobs().max_job_id() == 3); // the newest job is gone, its id stays used
  }
  auto store = open_at(path);
  CHECK(store->jobs().max_job_id() == 3);
}

TEST_CASE("finished attempts come oldest first from a cursor, page by page, with the images they delivered",
          "[store]") {
  temp_folder tmp;
  auto store = open_at(tmp.file("jobs.db"));
  store->write({job_of(1), job_of(2), job_of(3)}, life_of(1));
  store->write({}, life_of(3));                               // the same instants: ordered by job, then attempt
  store->write({}, {started(2, 1, t0 + 1s, "gemini")});        // still running: not finished, not listed
  const auto all = store->jobs().finished_attempts({t0, 0, 0}, t0 + 1h, 100);
  REQUIRE(all.size() == 4);
  auto key = [](const core::job_store::finished_attempt& a) {
    return std::to_string((a.key.finished_at - t0).count()) + "/" + std::to_string(a.key.job) + "/" +
           std::to_string(a.key.no);
  };
  CHECK(key(all[0]) == "4000000/1/1");
  CHECK(key(all[1]) == "4000000/3/1");
  CHECK(key(all[2]) == "7000000/1/2");
  CHECK(key(all[3]) == "7000000/3/2");
  const auto& failed = all[0];
  CHECK(failed.provider == "gemini");
  CHECK(failed.tier_ == core::tier::hd);
  CHECK(failed.started_at == t0 + 2s);
  CHECK(failed.error == core::error_class::server);
  CHECK(failed.cost == 0);
  CHECK(failed.images == 0);
  const auto& ok = all[2];
  CHECK(ok.provider == "photomaker");
  CHECK(ok.error == core::error_class::none);
  CHECK(ok.cost == 100'000);
  CHECK(ok.images == 2); // the job's result
  // it ended its job: the user wait runs from the job's creation, for the provider it was routed to (its first
  // attempt's, gemini), not the fallback that answered
  CHECK(ok.job_created_at == t0);
  CHECK(ok.route_provider == "gemini");
  CHECK(failed.route_provider.empty()); // a failed attempt ended nothing
  // pages: the next starts after the last key of the one before
  const auto first = store->jobs().finished_attempts({t0, 0, 0}, t0 + 1h, 3);
  REQUIRE(first.size() == 3);
  const auto second = store->jobs().finished_attempts(first.back().key, t0 + 1h, 3);
  REQUIRE(second.size() == 1);
  CHECK(key(second[0]) == "7000000/3/2");
  // the start is inclusive, `until` exclusive
  CHECK(store->jobs().finished_attempts({t0 + 4s, 0, 0}, t0 + 7s, 100).size() == 2);
  CHECK(store->jobs().finished_attempts({t0 + 5s, 0, 0}, t0 + 1h, 100).size() == 2);
}

TEST_CASE("a store written before ids were kept and quality scores stored opens, continues its ids and writes", "[store]") {
  temp_folder tmp;
  const auto path = tmp.file("old.db");
  {
    // the jobs table as it was made before: a plain INTEGER PRIMARY KEY, and no sqlite_sequence at all
    SQLite::Database old(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    old.exec("CREATE TABLE jobs(id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, prompt TEXT NOT NULL, tier TEXT NOT NULL,"
             " n INTEGER NOT NULL, endpoint TEXT NOT NULL DEFAULT '', segment TEXT NOT NULL DEFAULT '',"
             " metadata TEXT NOT NULL DEFAULT '', idempotency_key TEXT, body_hash TEXT NOT NULL DEFAULT '',"
             " status TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '', bucket INTEGER NOT NULL DEFAULT 0,"
             " route_reason TEXT NOT NULL DEFAULT '', cost_micros INTEGER NOT NULL DEFAULT 0,"
             " attempt_base INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,"
             " updated_at INTEGER NOT NULL)");
    old.exec("INSERT INTO jobs(id, user_id, prompt, tier, n, status, created_at, updated_at)"
             " VALUES(5, 'u', 'p', 'sd', 1, 'succeeded', 0, 0)");
    // and the attempts table before quality scores were kept
    old.exec("CREATE TABLE attempts(job_id INTEGER NOT NULL, no INTEGER NOT NULL, provider TEXT NOT NULL,"
             " started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0, outcome TEXT NOT NULL,"
             " error_class TEXT NOT NULL DEFAULT 'none', remote_id TEXT NOT NULL DEFAULT '',"
             " cost_micros INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(job_id, no)) WITHOUT ROWID");
  }
  auto store = open_at(path);
  CHECK(store->jobs().max_job_id() == 5);
  store->write({job_of(6)}, life_of(6));
  CHECK(store->jobs().max_job_id() == 6);
  const auto j6 = store->jobs().find(core::job_id{6});
  REQUIRE(j6);
  CHECK(j6->status == job_status::succeeded);
}

TEST_CASE("a store written before jobs kept their tenant opens: its jobs belong to none, dead letters filter by tenant",
          "[store]") {
  temp_folder tmp;
  const auto path = tmp.file("old.db");
  {
    // the jobs table as it was before the tenant column, with a dead letter in it
    SQLite::Database old(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    old.exec("CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, prompt TEXT NOT NULL,"
             " tier TEXT NOT NULL, n INTEGER NOT NULL, endpoint TEXT NOT NULL DEFAULT '',"
             " segment TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '', idempotency_key TEXT,"
             " body_hash TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '',"
             " bucket INTEGER NOT NULL DEFAULT 0, route_reason TEXT NOT NULL DEFAULT '',"
             " cost_micros INTEGER NOT NULL DEFAULT 0, attempt_base INTEGER NOT NULL DEFAULT 0,"
             " error TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)");
    old.exec("INSERT INTO jobs(id, user_id, prompt, tier, n, status, created_at, updated_at)"
             " VALUES(1, 'u', 'p', 'sd', 1, 'dead_lettered', 0, 10)");
  }
  {
    auto store = open_at(path);
    const auto j1 = store->jobs().find(core::job_id{1});
    REQUIRE(j1);
    CHECK(j1->spec.tenant.empty());
    auto a = job_of(2), b = job_of(3);
    a.spec.tenant = "a";
    b.spec.tenant = "b";
    store->write({a, b}, {finished(2, t0 + 1s, job_status::dead_lettered, {}, 0, "too many attempts"),
                          finished(3, t0 + 2s, job_status::dead_lettered, {}, 0, "too many attempts")});
  }
  auto store = open_at(path); // the column, once added, is there on the next opening (no second ALTER)
  auto ids = [&](const std::string& tenant) {
    std::vector<std::uint64_t> out;
    for (const auto& j : store->jobs().dead_letters(10, tenant))
      out.push_back(j.id.value);
    return out;
  };
  CHECK(ids("") == std::vector<std::uint64_t>{3, 2, 1}); // no tenant: all, newest first
  CHECK(ids("a") == std::vector<std::uint64_t>{2});
  CHECK(ids("b") == std::vector<std::uint64_t>{3});
  CHECK(ids("c").empty());
  CHECK(store->jobs().find(core::job_id{2})->spec.tenant == "a");
  CHECK(store->jobs().find(core::job_id{3})->spec.tenant == "b");
}

TEST_CASE("the ledger is given back reservations of running attempts of open jobs only, never of final jobs",
          "[store]") {
  temp_folder dir;
  auto store = open_at(dir.file("jobs.db"));
  // job 1: its attempt's finish was lost (a failed commit of old), but the job's final state was written;
  // job 2: still running; job 3: finished properly
  store->write({job_of(1), job_of(2), job_of(3)},
               {started(1, 1, t0 + 1s, "gemini"), finished(1, t0 + 2s, job_status::succeeded, {"aW1n"}, 30'000),
                started(2, 1, t0 + 1s, "gemini"), started(3, 1, t0 + 1s, "sdxl"),
                attempt_done(3, 1, t0 + 2s, core::error_class::none, 20'000),
                finished(3, t0 + 2s, job_status::succeeded, {"aW1n"}, 20'000)});
  const auto snap = store->budget().budget_state(t0, "2027-01-15");
  REQUIRE(snap.open.size() == 1);
  CHECK(snap.open.front().key.job == 2);
  CHECK(snap.open.front().key.attempt == 1);
  CHECK(snap.open.front().provider == "gemini");
  REQUIRE(store->jobs().find(core::job_id{1})->attempts.size() == 1);
  CHECK(store->jobs().find(core::job_id{1})->attempts.front().outcome == job_status::running); // the premise
}

namespace {
std::string digest_of_char(char c) { return std::string(64, c); }

/// Job `id` finished at `at` with result images `images`.
void finish_with(core::store_db& db, std::uint64_t id, core::instant at, std::vector<std::string> images) {
  auto e = event(id, event_kind::finished, at, job_status::succeeded);
  e.images = std::move(images);
  db.write({job_of(id, "", at - 1s)}, {e});
}
} // namespace

TEST_CASE("the image sweep expires only images whose last referring job finished before the cutoff", "[store][images]") {
  temp_folder dir;
  auto db = open_at(dir.file("jobs.db"));
  const auto a = digest_of_char('a'), b = digest_of_char('b'), shared = digest_of_char('c');
  finish_with(*db, 1, t0, {a, shared});
  finish_with(*db, 2, t0 + 10 * 24h, {b});
  finish_with(*db, 3, t0 + 20 * 24h, {shared}); // a later job with the same image: its retention starts again
  finish_with(*db, 4, t0 + 20 * 24h, {"iVBORw0KGgo="}); // a provider's own value (no image store): never swept
  // 30 days after job 1: only `a` has had no job since; `b` (day 10) and `shared` (day 20) stay
  auto gone = db->jobs().expire_images(t0 + 5 * 24h);
  REQUIRE(gone.size() == 1);
  CHECK(gone.front() == a);
  CHECK(db->jobs().expire_images(t0 + 5 * 24h).empty()); // forgotten once
  gone = db->jobs().expire_images(t0 + 15 * 24h);
  CHECK(gone == std::vector<std::string>{b});
  gone = db->jobs().expire_images(t0 + 25 * 24h);
  CHECK(gone == std::vector<std::string>{shared});
  // the jobs still show what they named
  CHECK(db->jobs().find(core::job_id{1})->images == std::vector<std::string>{a, shared});
}

TEST_CASE("forgetting a user's jobs' images gives back only the images no other job names", "[store][images]") {
  temp_folder dir;
  auto db = open_at(dir.file("jobs.db"));
  const auto mine = digest_of_char('d'), shared = digest_of_char('e');
  finish_with(*db, 1, t0, {mine, shared});
  finish_with(*db, 2, t0, {shared});
  auto unused = db->jobs().forget_images_of_jobs({core::job_id{1}});
  CHECK(unused == std::vector<std::string>{mine});
  CHECK(db->jobs().find(core::job_id{1})->images.empty()); // its result is gone
  CHECK(db->jobs().find(core::job_id{2})->images == std::vector<std::string>{shared});
  CHECK(db->jobs().forget_images_of_jobs({core::job_id{2}}) == std::vector<std::string>{shared});
  CHECK(db->jobs().expire_images(t0 + 24h).empty()); // nothing left to sweep
}

TEST_CASE("an outbox written before jobs' webhooks queued apart is read as the operator's lane", "[store]") {
  temp_folder tmp;
  const auto path = tmp.file("jobs.db");
  {
    SQLite::Database old(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    old.exec("CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, event_id INTEGER NOT NULL, type TEXT NOT NULL,"
             " url TEXT NOT NULL, secret_env TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL)");
    old.exec("INSERT INTO outbox(event_id,type,url,secret_env,body,created_at)"
             " VALUES(7,'rollout.rollback','https://ops.example/h','S','{}',0)");
  }
  auto store = open_at(path);
  REQUIRE(store->outbox());
  const auto jobs_lane = store->outbox()->pending({0, 10, true, "", 0});
  CHECK(jobs_lane.empty());
  const auto operators = store->outbox()->pending({0, 10, false, "", 0});
  REQUIRE(operators.size() == 1);
  CHECK(operators[0].event_id == "evt_7");
  CHECK_FALSE(operators[0].job_hook);
  CHECK(store->outbox()->pending({0, 10, false, "https://ops.example", 0}).size() == 1);
  CHECK(store->outbox()->pending({0, 10, false, "https://ops.example.org", 0}).empty());
}

TEST_CASE("a store whose status indexes were written with IN lists gets them rewritten, and queries naming the "
          "statuses as they do read through them",
          "[store]") {
  temp_folder tmp;
  const auto path = tmp.file("jobs.db");
  {
    auto store = open_at(path);
    store->write({job_of(1), job_of(2), job_of(3)}, {});
    store->write({}, {finished(2, t0 + 1s, job_status::succeeded, {}, 0)});
  }
  {
    // the two partial indexes as earlier versions made them (SQLite evaluated their lists through a temporary table
    // at every update of a job row)
    SQLite::Database old(path, SQLite::OPEN_READWRITE);
    old.exec("DROP INDEX jobs_open");
    old.exec("DROP INDEX jobs_final");
    old.exec("CREATE INDEX jobs_open ON jobs(id) WHERE status NOT IN ('succeeded','failed','dead_lettered','cancelled')");
    old.exec("CREATE INDEX jobs_final ON jobs(updated_at) WHERE status IN ('succeeded','failed','cancelled')");
  }
  auto store = open_at(path);
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    auto definition = [&](const char* name) {
      SQLite::Statement q(db, "SELECT sql FROM sqlite_master WHERE type='index' AND name=?");
      q.bind(1, name);
      return q.executeStep() ? q.getColumn(0).getString() : std::string{"(missing)"};
    };
    CHECK(definition("jobs_open") == std::string{"CREATE INDEX jobs_open ON jobs(id) WHERE "} +
                                       store_adapter::detail::sql_job_open);
    CHECK(definition("jobs_final") == std::string{"CREATE INDEX jobs_final ON jobs(updated_at) WHERE "} +
                                        store_adapter::detail::sql_job_ended);
    // the queries name the statuses as the indexes do, so SQLite uses them
    auto plan = [&](const std::string& query) {
      SQLite::Statement q(db, "EXPLAIN QUERY PLAN " + query);
      std::string out;
      while (q.executeStep())
        out += q.getColumn(3).getString() + "; ";
      return out;
    };
    CHECK_THAT(plan(std::string{"SELECT id FROM jobs WHERE "} + store_adapter::detail::sql_job_open + " ORDER BY id"),
               Catch::Contains("USING INDEX jobs_open"));
    CHECK_THAT(plan(std::string{"SELECT id FROM jobs WHERE "} + store_adapter::detail::sql_job_ended +
                    " AND updated_at < 5 ORDER BY updated_at LIMIT 10"),
               Catch::Contains("USING INDEX jobs_final"));
  }
  // and what they serve still holds: open jobs at start, a final job's sweep, a late event not undoing an end
  const auto open = store->jobs().open_jobs();
  REQUIRE(open.size() == 2);
  CHECK(open[0].id == core::job_id{1});
  CHECK(open[1].id == core::job_id{3});
  store->write({}, {routed(2, t0 + 2s, "gemini", 12, "late")});
  CHECK(store->jobs().find(core::job_id{2})->status == job_status::succeeded);
  CHECK(store->jobs().sweep_final_jobs(t0 + 1h, 10) == 1);
  CHECK_FALSE(store->jobs().find(core::job_id{2}).has_value());
}

TEST_CASE("under commits that never pause the WAL is started again from its beginning, so it stays bounded",
          "[store]") {
  temp_folder tmp;
  const auto path = tmp.file("jobs.db");
  // as serve opens it by default: checkpoints from a thread of their own, and an fsync at every commit
  auto store = store_adapter::open_sqlite_store(path, core::sync_mode::full);
  // far more than the 16 MiB of pages at which the WAL is restarted: over 250 MiB of frames if it never were
  std::uintmax_t largest = 0;
  std::uint64_t id = 1;
  for (int commit = 0; commit < 3000; ++commit) {
    std::vector<job_record> jobs;
    std::vector<job_event> events;
    for (int k = 0; k < 20; ++k, ++id) {
      jobs.push_back(job_of(id, "", t0 + std::chrono::microseconds(id)));
      auto life = life_of(id);
      events.insert(events.end(), life.begin(), life.end());
    }
    store->write(jobs, events);
    std::error_code ec;
    const auto size = std::filesystem::file_size(path + "-wal", ec);
    if (!ec)
      largest = std::max(largest, size);
  }
  INFO("largest WAL file: " << largest << " bytes");
  CHECK(largest > 0);
  // the writer restarts it at 16 MiB, after waiting for the checkpointer's round under way; 32 had that failed once
  CHECK(largest < 40u * 1024 * 1024);
  CHECK(store->jobs().max_job_id() == id - 1);
}
