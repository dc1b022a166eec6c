// Jobs an operator can manage, over real HTTP on loopback against the real binary with its real SQLite file:
// GET /v1/jobs lists (paged by a `next` cursor, filtered, tenant-scoped, bad parameters 400 with the field),
// DELETE /v1/jobs/{id} cancels a job not yet final (202; 404; 409 once final; the job ends `cancelled`, its remote
// job is no longer polled and is cancelled at the provider, money in doubt counted as spent), jobs.retention
// sweeps final jobs and their prompts, and DELETE /v1/users/{id}/jobs (admin) erases a user's jobs.

#include "adapters/store/sqlite_store.hpp"
#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <thread>

using namespace cutover;
using namespace cutover::testing;

namespace {

std::string job_body(const std::string& user, const std::string& tier = "sd") {
  return R"({"user_id":")" + user + R"(","prompt":"a lighthouse at dusk","tier":")" + tier + R"("})";
}

std::string error_code_of(const http_answer& a) { return json_field(json_field(a.body, "error"), "code"); }
std::string error_field_of(const http_answer& a) { return json_field(json_field(a.body, "error"), "field"); }

/// The ids listed in a GET /v1/jobs answer, in order.
std::vector<std::string> listed_ids(const std::string& body) {
  std::vector<std::string> ids;
  const std::string marker = "{\"id\":\"";
  for (auto pos = body.find(marker); pos != std::string::npos; pos = body.find(marker, pos + 1)) {
    const auto start = pos + marker.size();
    ids.push_back(body.substr(start, body.find('"', start) - start));
  }
  return ids;
}

std::uint64_t number_of(const std::string& id) { return std::stoull(id.substr(1)); }

/// `gemini` (async, the candidate at 100 %) takes a minute per job, so its jobs stay `running`, polled every
/// 50 ms; hd jobs wait 30 s in their batch window.
std::string slow_candidate_config() {
  return R"(server: {listen: 127.0.0.1:8080}
store: {path: data/cutover.db, synchronous: normal}
providers:
  gemini:
    kind: simulated
    mode: async
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: {latency_p50: 60s, latency_p95: 90s, failure_rate: 0%, quality: 0.9}
    polling: {schedule: [{every: 50ms}], deadline: 10m}
  photomaker:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}
    simulated: {latency_p50: 5ms, latency_p95: 20ms, failure_rate: 0%, quality: 0.9}
tiers:
  sd: {batch: {max_items: 50, max_wait: 10ms}}
  hd: {batch: {max_items: 50, max_wait: 30s}}
fallback: {gemini: [photomaker]}
rollout: {name: cancel-test, baseline: photomaker, candidate: gemini, percent: 100, phases: [{percent: 100}]}
)";
}

struct engine_with_jobs {
  temp_dir dir;
  engine_process engine;
  http_client http{engine.base_url()};
  explicit engine_with_jobs(const std::string& config = fast_config()) : engine{dir.path.string(), config} {}
  std::string db() const { return dir.file("cutover.db"); }
  long long rows(const std::string& sql) const { return count_rows(db(), sql); }
  std::string submit(const std::string& user, const std::string& tier = "sd") {
    auto a = http.post("/v1/jobs", job_body(user, tier));
    REQUIRE(a.status == 202);
    return json_field(a.body, "id");
  }
  std::string final_job(const std::string& user) {
    const auto id = submit(user);
    auto done = http.get("/v1/jobs/" + id + "?wait=20");
    REQUIRE(json_field(done.body, "status") == "succeeded");
    return id;
  }
  /// The remote jobs gemini's worker follows, from /metrics (-1 when the line is missing).
  long long remote_jobs() {
    const std::string prefix = "cutover_provider_remote_jobs{provider=\"gemini\"} ";
    const auto text = http.get("/metrics").body;
    const auto at = text.find(prefix);
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + prefix.size()));
  }
  /// Waits (on the job, through the API) until it is `status`.
  bool reaches(const std::string& id, const std::string& status) {
    for (int i = 0; i < 100; ++i) {
      auto a = http.get("/v1/jobs/" + id + "?wait=1");
      if (json_field(a.body, "status") == status)
        return true;
    }
    return false;
  }
};

} // namespace

TEST_CASE("GET /v1/jobs pages newest first by a next cursor, and filters by user, status and time") {
  engine_with_jobs e;
  std::vector<std::string> mine, theirs;
  for (int i = 0; i < 5; ++i)
    mine.push_back(e.final_job("list-u1"));
  for (int i = 0; i < 3; ++i)
    theirs.push_back(e.final_job("list-u2"));

  std::vector<std::string> seen;
  std::string path = "/v1/jobs?user_id=list-u1&limit=2";
  int pages = 0;
  for (;;) {
    auto page = e.http.get(path);
    REQUIRE(page.status == 200);
    const auto ids = listed_ids(page.body);
    CHECK(ids.size() <= 2);
    seen.insert(seen.end(), ids.begin(), ids.end());
    ++pages;
    const auto next = json_field(page.body, "next");
    if (next == "null") { // the last page
      CHECK(page.body.find("\"next\":null") != std::string::npos);
      break;
    }
    REQUIRE(pages < 10);
    path = "/v1/jobs?user_id=list-u1&limit=2&before=" + next;
  }
  CHECK(pages == 3);
  std::vector<std::string> newest_first(mine.rbegin(), mine.rend());
  CHECK(seen == newest_first); // every job of the user once, newest first, no other user's

  auto all = listed_ids(e.http.get("/v1/jobs").body);
  REQUIRE(all.size() == 8);
  for (std::size_t i = 1; i < all.size(); ++i)
    CHECK(number_of(all[i - 1]) > number_of(all[i]));
  CHECK(listed_ids(e.http.get("/v1/jobs?status=succeeded").body).size() == 8);
  CHECK(listed_ids(e.http.get("/v1/jobs?status=cancelled").body).empty());
  CHECK(listed_ids(e.http.get("/v1/jobs?user_id=list-u2&status=succeeded").body) ==
        std::vector<std::string>(theirs.rbegin(), theirs.rend()));
  CHECK(listed_ids(e.http.get("/v1/jobs?since=2999-01-01T00:00:00Z").body).empty());
  CHECK(listed_ids(e.http.get("/v1/jobs?since=2000-01-01T00:00:00Z").body).size() == 8);
  // a listed job carries its route and attempts, never its prompt
  const auto one = e.http.get("/v1/jobs?limit=1").body;
  CHECK(one.find("\"attempts\":[{") != std::string::npos);
  CHECK(one.find("lighthouse") == std::string::npos);
}

TEST_CASE("GET /v1/jobs with a bad parameter is 400 naming the field") {
  engine_with_jobs e;
  const std::vector<std::pair<std::string, std::string>> bad{
    {"/v1/jobs?status=done", "status"},          {"/v1/jobs?since=yesterday", "since"},
    {"/v1/jobs?since=2026-13-01T00:00:00Z", "since"}, {"/v1/jobs?limit=0", "limit"},
    {"/v1/jobs?limit=1001", "limit"},            {"/v1/jobs?limit=ten", "limit"},
    {"/v1/jobs?before=42x", "before"},           {"/v1/jobs?before=j0", "before"},
    {"/v1/jobs?user_id=" + std::string(300, 'u'), "user_id"},
  };
  for (const auto& [path, field] : bad) {
    INFO(path);
    auto a = e.http.get(path);
    CHECK(a.status == 400);
    CHECK(error_code_of(a) == "invalid_parameter");
    CHECK(error_field_of(a) == field);
  }
}

TEST_CASE("a tenant's key lists only its tenant's jobs, an operator's every job, and a key without read gets 403") {
  temp_dir dir;
  std::ofstream(dir.file("keys.yaml")) << "keys:\n"
                                          "  - {name: a, key: \"tenant-a-key-0001\", scopes: [submit, read], tenant: a}\n"
                                          "  - {name: b, key: \"tenant-b-key-0001\", scopes: [submit, read], tenant: b}\n"
                                          "  - {name: w, key: \"write-only-key-01\", scopes: [submit]}\n"
                                          "  - {name: ops, key: \"operator-key-0001\", scopes: [read, admin]}\n";
  engine_process engine{dir.path.string(), fast_config() + "auth: {keys_file: " + dir.file("keys.yaml") + "}\n"};
  http_client http{engine.base_url()};
  auto as = [](const std::string& key) { return std::map<std::string, std::string>{{"Authorization", "Bearer " + key}}; };
  auto a = http.post("/v1/jobs", job_body("same-user"), "application/json", as("tenant-a-key-0001"));
  auto b = http.post("/v1/jobs", job_body("same-user"), "application/json", as("tenant-b-key-0001"));
  REQUIRE(a.status == 202);
  REQUIRE(b.status == 202);
  const auto id_a = json_field(a.body, "id"), id_b = json_field(b.body, "id");
  CHECK(listed_ids(http.send("GET", "/v1/jobs?user_id=same-user", as("tenant-a-key-0001")).body) ==
        std::vector<std::string>{id_a});
  CHECK(listed_ids(http.send("GET", "/v1/jobs", as("tenant-b-key-0001")).body) == std::vector<std::string>{id_b});
  CHECK(listed_ids(http.send("GET", "/v1/jobs", as("operator-key-0001")).body) ==
        (std::vector<std::string>{id_b, id_a}));
  CHECK(http.send("GET", "/v1/jobs", as("write-only-key-01")).status == 403);
  CHECK(http.send("GET", "/v1/jobs").status == 401);
  // cancelling another tenant's job: it does not exist for that caller
  CHECK(http.send("DELETE", "/v1/jobs/" + id_a, as("tenant-b-key-0001")).status == 404);
  // erasing users is the operator's (admin), never a reader's or a submitter's
  CHECK(http.send("DELETE", "/v1/users/same-user/jobs", as("tenant-a-key-0001")).status == 403);
  CHECK(http.send("DELETE", "/v1/users/same-user/jobs", as("write-only-key-01")).status == 403);
}

TEST_CASE("DELETE /v1/jobs/{id} cancels a running remote job: it ends cancelled, is no longer polled, is cancelled "
          "at the provider, and its reservation is charged") {
  engine_with_jobs e{slow_candidate_config()};
  const auto id = e.submit("cancel-u1");
  REQUIRE(e.reaches(id, "running"));
  REQUIRE(e.remote_jobs() == 1); // followed by polling (counted before the job shows running)
  auto c = e.http.send("DELETE", "/v1/jobs/" + id);
  CHECK(c.status == 202);
  CHECK(json_field(c.body, "status") == "running");
  CHECK(c.headers["Location"] == "/v1/jobs/" + id);
  REQUIRE(e.reaches(id, "cancelled"));
  auto job = e.http.get("/v1/jobs/" + id).body;
  CHECK(json_field(job, "error") == "cancelled by the client");
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE status='cancelled'") == 1);
  // one attempt, at the candidate only (never sent down its chain), ended as cancelled and charged at its
  // reservation: the provider may have billed the work it began
  CHECK(e.rows("SELECT COUNT(*) FROM attempts") == 1);
  CHECK(e.rows("SELECT COUNT(*) FROM attempts WHERE provider='gemini' AND error_class='cancelled'"
               " AND cost_micros=30000") == 1);
  CHECK(e.rows("SELECT cost_micros FROM jobs") == 30000);
  CHECK(e.engine.wait_for_log("event=remote_cancel provider=gemini", std::chrono::seconds(5)));
  CHECK(e.engine.log().find("reason=client") != std::string::npos);
  // no longer polled: gemini's worker follows no remote job any more (let go before the job showed cancelled; a
  // poll timer still set for it finds nothing to poll and ends there)
  CHECK(e.remote_jobs() == 0);
  auto again = e.http.send("DELETE", "/v1/jobs/" + id);
  CHECK(again.status == 409);
  CHECK(error_code_of(again) == "already_final");
  CHECK(e.http.send("DELETE", "/v1/jobs/j999999").status == 404);
  CHECK(e.http.send("DELETE", "/v1/jobs/nonsense").status == 404);
}

TEST_CASE("a job cancelled while it waits in its batch window ends cancelled, uncharged, never called") {
  engine_with_jobs e{slow_candidate_config()};
  const auto id = e.submit("cancel-u2", "hd"); // hd waits 30 s in its window
  REQUIRE(e.reaches(id, "queued"));
  auto c = e.http.send("DELETE", "/v1/jobs/" + id);
  CHECK(c.status == 202);
  REQUIRE(e.reaches(id, "cancelled"));
  CHECK(e.rows("SELECT COUNT(*) FROM attempts") == 0);
  CHECK(e.rows("SELECT cost_micros FROM jobs") == 0);
  const auto budget = e.http.get("/v1/budget").body;
  CHECK(budget.find("\"reserved_usd\":0.039") == std::string::npos); // the reservation was released
}

TEST_CASE("a final job cannot be cancelled (409), and it stays as it was") {
  engine_with_jobs e;
  const auto id = e.final_job("cancel-u3");
  auto c = e.http.send("DELETE", "/v1/jobs/" + id);
  CHECK(c.status == 409);
  CHECK(error_code_of(c) == "already_final");
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE status='succeeded'") == 1);
}

TEST_CASE("jobs.retention sweeps final jobs with their prompts, attempts and results, and keeps the rest") {
  temp_dir dir;
  using namespace std::chrono_literals;
  const auto now = std::chrono::time_point_cast<core::duration>(std::chrono::system_clock::now());
  {
    auto store = store_adapter::open_sqlite_store(dir.file("cutover.db"), core::sync_mode::normal);
    auto job = [](std::uint64_t id, core::instant created) {
      core::job_record j;
      j.id = core::job_id{id};
      j.spec.user_id = "old-user";
      j.spec.prompt = "an old prompt " + std::to_string(id);
      j.created_at = j.updated_at = created;
      return j;
    };
    auto ended = [](std::uint64_t id, core::instant at, core::job_status status) {
      core::job_event a;
      a.id = core::job_id{id};
      a.kind = core::event_kind::attempt_finished;
      a.at = at;
      a.status = core::job_status::running;
      a.attempt.no = 1;
      a.attempt.provider = "photomaker";
      a.attempt.started_at = at - 1s;
      a.attempt.finished_at = at;
      a.attempt.outcome = status == core::job_status::succeeded ? status : core::job_status::failed;
      a.attempt.cost = 40'000;
      core::job_event f;
      f.id = core::job_id{id};
      f.kind = core::event_kind::finished;
      f.at = at;
      f.status = status;
      f.cost = 40'000;
      if (status == core::job_status::succeeded)
        f.images = {"aW1hZ2U="};
      return std::vector<core::job_event>{a, f};
    };
    const auto old = now - 100 * 24h, recent = now - 10 * 24h;
    std::vector<core::job_event> events;
    for (auto [id, at, status] : {std::tuple{1, old, core::job_status::succeeded},
                                  std::tuple{2, old, core::job_status::failed},
                                  std::tuple{3, recent, core::job_status::succeeded},
                                  std::tuple{4, old, core::job_status::dead_lettered}}) {
      auto e = ended(static_cast<std::uint64_t>(id), at, status);
      events.insert(events.end(), e.begin(), e.end());
    }
    store->write({job(1, old), job(2, old), job(3, recent), job(4, old)}, events);
  }
  REQUIRE(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM jobs") == 4);
  auto config = fast_config() + "jobs: {retention: 90d}\n";
  const std::string dead = "dead_letter: {max_attempts: 3, retention: 14d}";
  REQUIRE(config.find(dead) != std::string::npos);
  config.replace(config.find(dead), dead.size(), "dead_letter: {max_attempts: 3, retention: 365d}");
  engine_process engine{dir.path.string(), config};
  REQUIRE(engine.wait_for_log("event=jobs_swept count=2", std::chrono::seconds(10)));
  http_client http{engine.base_url()};
  CHECK(http.get("/v1/jobs/j1").status == 404);
  CHECK(http.get("/v1/jobs/j2").status == 404);
  CHECK(http.get("/v1/jobs/j3").status == 200);
  CHECK(http.get("/v1/jobs/j4").status == 200); // a dead letter keeps dead_letter.retention
  const auto db = dir.file("cutover.db");
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs WHERE prompt LIKE 'an old prompt%'") == 2);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM attempts WHERE job_id IN (1, 2)") == 0);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM results WHERE job_id = 1") == 0);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM results WHERE job_id = 3") == 1);
  // a new job gets an id above the swept ones
  auto made = http.post("/v1/jobs", job_body("new-user"));
  REQUIRE(made.status == 202);
  CHECK(number_of(json_field(made.body, "id")) > 4);
}

TEST_CASE("DELETE /v1/users/{id}/jobs erases the user's jobs, results and ratings, keeps what was spent, and "
          "cancels the user's jobs not yet final") {
  engine_with_jobs e;
  const auto a1 = e.final_job("erase-me"), a2 = e.final_job("erase-me"), keep = e.final_job("keep-me");
  REQUIRE(e.http.post("/v1/jobs/" + a1 + "/feedback", R"({"quality":0.8})").status == 204);
  const auto spent_before = e.rows("SELECT SUM(cost_micros) FROM attempts");
  REQUIRE(spent_before > 0);
  auto r = e.http.send("DELETE", "/v1/users/erase-me/jobs");
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"user_id":"erase-me","erased":2,"cancelled":0})");
  CHECK(e.http.get("/v1/jobs/" + a1).status == 404);
  CHECK(e.http.get("/v1/jobs/" + a2).status == 404);
  CHECK(e.http.get("/v1/jobs/" + keep).status == 200);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE user_id='erase-me'") == 0);
  CHECK(e.rows("SELECT COUNT(*) FROM results WHERE job_id IN (" + a1.substr(1) + "," + a2.substr(1) + ")") == 0);
  CHECK(e.rows("SELECT COUNT(*) FROM feedback WHERE job_id = " + a1.substr(1)) == 0);
  // the money stays on record (the ledger rebuilds from the attempts), without the provider's job ids
  CHECK(e.rows("SELECT SUM(cost_micros) FROM attempts") == spent_before);
  CHECK(e.rows("SELECT COUNT(*) FROM attempts WHERE job_id IN (" + a1.substr(1) + "," + a2.substr(1) +
               ") AND remote_id <> ''") == 0);
  CHECK(listed_ids(e.http.get("/v1/jobs?user_id=erase-me").body).empty());
  auto none = e.http.send("DELETE", "/v1/users/erase-me/jobs");
  CHECK(none.body == R"({"user_id":"erase-me","erased":0,"cancelled":0})");
  // an id with characters a path must escape
  CHECK(e.http.send("DELETE", "/v1/users/a%20b/jobs").body == R"({"user_id":"a b","erased":0,"cancelled":0})");
}

TEST_CASE("erasing a user whose job is running cancels it first, and a second call erases it") {
  engine_with_jobs e{slow_candidate_config()};
  const auto id = e.submit("erase-running");
  REQUIRE(e.reaches(id, "running"));
  auto first = e.http.send("DELETE", "/v1/users/erase-running/jobs");
  CHECK(first.body == R"({"user_id":"erase-running","erased":0,"cancelled":1})");
  REQUIRE(e.reaches(id, "cancelled"));
  auto second = e.http.send("DELETE", "/v1/users/erase-running/jobs");
  CHECK(second.body == R"({"user_id":"erase-running","erased":1,"cancelled":0})");
  CHECK(e.rows("SELECT COUNT(*) FROM jobs") == 0);
}

TEST_CASE("a job cancelled while its call is on the wire ends cancelled when the call answers, charged its cost") {
  // photomaker (the baseline; the kill switch sends everyone there) answers each sync call after about two seconds
  auto config = slow_candidate_config();
  const std::string percent = "percent: 100,";
  config.replace(config.find(percent), percent.size(), "enabled: false, percent: 100,");
  const std::string fast = "simulated: {latency_p50: 5ms, latency_p95: 20ms";
  config.replace(config.find(fast), fast.size(), "simulated: {latency_p50: 2s, latency_p95: 2500ms");
  engine_with_jobs e{config};
  const auto id = e.submit("cancel-u4");
  REQUIRE(e.reaches(id, "submitted")); // the call is on the wire
  auto c = e.http.send("DELETE", "/v1/jobs/" + id);
  CHECK(c.status == 202);
  REQUIRE(e.reaches(id, "cancelled"));
  const auto job = e.http.get("/v1/jobs/" + id).body;
  CHECK(job.find("\"result\"") == std::string::npos); // its images are not kept
  // the provider answered (and billed): the attempt is on record with its cost, and nothing more was tried
  CHECK(e.rows("SELECT COUNT(*) FROM attempts") == 1);
  CHECK(e.rows("SELECT COUNT(*) FROM attempts WHERE provider='photomaker' AND outcome='succeeded'"
               " AND cost_micros=40000") == 1);
  CHECK(e.rows("SELECT cost_micros FROM jobs") == 40000);
}
