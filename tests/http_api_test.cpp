#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace cutover::testing;

namespace {

std::string job_body(const std::string& user, const std::string& prompt = "a red kite", const std::string& tier = "sd") {
  return R"({"user_id":")" + user + R"(","prompt":")" + prompt + R"(","tier":")" + tier + R"("})";
}

struct live_engine {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config()};
  http_client http{engine.base_url()};
  std::string db() const { return dir.file("cutover.db"); }
  long long jobs() const { return count_rows(db(), "SELECT COUNT(*) FROM jobs"); }
};

std::string error_code_of(const std::string& body) {
  return json_field(json_field(body, "error"), "code");
}
std::string error_field_of(const std::string& body) {
  return json_field(json_field(body, "error"), "field");
}

} // namespace

TEST_CASE("bad input gets its status code and JSON error, and nothing is stored") {
  live_engine e;
  struct bad_case {
    const char* name;
    std::string method, path, body, content_type;
    int status;
    std::string code, field;
  };
  const std::string big(5000, 'x'); // max_body_bytes is 4096 in the test config
  const std::vector<bad_case> cases{
    {"malformed JSON", "POST", "/v1/jobs", R"({"user_id": "u1", "prompt": )", "application/json", 400, "malformed_json", ""},
    {"JSON that is not an object", "POST", "/v1/jobs", "[1,2,3]", "application/json", 400, "malformed_json", ""},
    {"user_id of the wrong type", "POST", "/v1/jobs", R"({"user_id":42,"prompt":"p","tier":"sd"})", "application/json", 400, "invalid_field", "user_id"},
    {"prompt of the wrong type", "POST", "/v1/jobs", R"({"user_id":"u","prompt":["p"],"tier":"sd"})", "application/json", 400, "invalid_field", "prompt"},
    {"missing user_id", "POST", "/v1/jobs", R"({"prompt":"p","tier":"sd"})", "application/json", 400, "missing_field", "user_id"},
    {"missing prompt", "POST", "/v1/jobs", R"({"user_id":"u","tier":"sd"})", "application/json", 400, "missing_field", "prompt"},
    {"empty prompt", "POST", "/v1/jobs", R"({"user_id":"u","prompt":"","tier":"sd"})", "application/json", 400, "missing_field", "prompt"},
    {"unknown tier", "POST", "/v1/jobs", R"({"user_id":"u","prompt":"p","tier":"8k"})", "application/json", 400, "invalid_field", "tier"},
    {"n below range", "POST", "/v1/jobs", R"({"user_id":"u","prompt":"p","tier":"sd","n":0})", "application/json", 400, "invalid_field", "n"},
    {"n above range", "POST", "/v1/jobs", R"({"user_id":"u","prompt":"p","tier":"sd","n":5})", "application/json", 400, "invalid_field", "n"},
    {"n not an integer", "POST", "/v1/jobs", R"({"user_id":"u","prompt":"p","tier":"sd","n":"2"})", "application/json", 400, "invalid_field", "n"},
    {"n fractional", "POST", "/v1/jobs", R"({"user_id":"u","prompt":"p","tier":"sd","n":1.5})", "application/json", 400, "invalid_field", "n"},
    {"metadata not an object", "POST", "/v1/jobs", R"({"user_id":"u","prompt":"p","tier":"sd","metadata":"x"})", "application/json", 400, "invalid_field", "metadata"},
    {"an unknown field", "POST", "/v1/jobs", R"({"user_id":"u","promt":"p","tier":"sd"})", "application/json", 400, "unknown_field", "promt"},
    {"body over max_body_bytes", "POST", "/v1/jobs", R"({"user_id":"u","prompt":")" + big + R"(","tier":"sd"})", "application/json", 413, "body_too_large", ""},
    {"non-JSON content type", "POST", "/v1/jobs", job_body("u"), "text/plain", 415, "unsupported_media_type", ""},
    {"unknown job id", "GET", "/v1/jobs/j999999", "", "", 404, "not_found", ""},
    {"malformed job id", "GET", "/v1/jobs/nope", "", "", 404, "not_found", ""},
    {"unknown path", "GET", "/v1/nothing-here", "", "", 404, "not_found", ""},
    {"wrong method on the jobs collection", "DELETE", "/v1/jobs", "", "", 405, "method_not_allowed", ""},
    {"PUT on the jobs collection", "PUT", "/v1/jobs", "", "", 405, "method_not_allowed", ""},
    {"wrong method on a job", "POST", "/v1/jobs/j1", job_body("u"), "application/json", 405, "method_not_allowed", ""},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto a = c.method == "POST" ? e.http.post(c.path, c.body, c.content_type) : e.http.send(c.method, c.path);
    CHECK(a.status == c.status);
    CHECK(error_code_of(a.body) == c.code);
    CHECK(error_field_of(a.body) == c.field);
    CHECK(!json_field(json_field(a.body, "error"), "message").empty());
    CHECK(a.headers["Content-Type"].find("application/json") == 0);
  }
  auto bad_key = e.http.post("/v1/jobs", job_body("u"), "application/json", {{"Idempotency-Key", std::string(300, 'k')}});
  CHECK(bad_key.status == 400);
  CHECK(error_field_of(bad_key.body) == "Idempotency-Key");
  CHECK(e.http.send("DELETE", "/v1/jobs").headers["Allow"] == "POST, GET");
  CHECK(e.jobs() == 0);
}

TEST_CASE("a job's answer follows the contract's shape") {
  live_engine e;
  auto a = e.http.post("/v1/jobs", R"({"user_id":"u1","prompt":"a kite","tier":"hd","n":2,"segment":"beta","metadata":{"k":"v"}})");
  REQUIRE(a.status == 202);
  const auto id = json_field(a.body, "id");
  CHECK(json_field(a.body, "status") == "accepted");
  CHECK(a.headers["Location"] == "/v1/jobs/" + id);
  auto job = e.http.get("/v1/jobs/" + id + "?wait=20");
  REQUIRE(job.status == 200);
  CHECK(json_field(job.body, "status") == "succeeded");
  CHECK(json_field(job.body, "n") == "2");
  CHECK(json_field(job.body, "tier") == "hd");
  CHECK(json_field(json_field(job.body, "route"), "reason").find("bucket") == 0);
  CHECK(json_field(job.body, "metadata") == R"({"k":"v"})");
  CHECK(json_field(job.body, "result").find("\"url\":\"/v1/images/") != std::string::npos); // signed URLs
  CHECK(json_field(job.body, "created_at").size() == 24); // RFC 3339 with milliseconds
  auto provider = json_field(job.body, "provider");
  CHECK((provider == "gemini" || provider == "photomaker"));
  // 2 images at hd: 0.039 x 2 on the candidate, 0.05 x 2 on the baseline
  CHECK(job.body.find(provider == "gemini" ? "\"cost_usd\":0.078000" : "\"cost_usd\":0.100000") != std::string::npos);
}

TEST_CASE("a repeat with the same Idempotency-Key answers the first job, and another body with it is 422") {
  live_engine e;
  const std::map<std::string, std::string> key{{"Idempotency-Key", "order-42"}};
  auto first = e.http.post("/v1/jobs", job_body("u1"), "application/json", key);
  REQUIRE(first.status == 202);
  auto again = e.http.post("/v1/jobs", job_body("u1"), "application/json", key);
  CHECK(again.status == 202);
  CHECK(json_field(again.body, "id") == json_field(first.body, "id"));
  CHECK(again.headers["Idempotent-Replayed"] == "true");
  // once the job is done, a repeat says so
  REQUIRE(json_field(e.http.get("/v1/jobs/" + json_field(first.body, "id") + "?wait=30").body, "status") == "succeeded");
  auto later = e.http.post("/v1/jobs", job_body("u1"), "application/json", key);
  CHECK(later.status == 202);
  CHECK(json_field(later.body, "id") == json_field(first.body, "id"));
  CHECK(json_field(later.body, "status") == "succeeded");
  auto other = e.http.post("/v1/jobs", job_body("u1", "another prompt"), "application/json", key);
  CHECK(other.status == 422);
  CHECK(error_code_of(other.body) == "idempotency_key_reused");
  CHECK(e.jobs() == 1);
}

TEST_CASE("20 concurrent repeats of one Idempotency-Key make one job") {
  live_engine e;
  std::vector<std::string> bodies(20, job_body("u7"));
  std::vector<std::map<std::string, std::string>> headers(20, {{"Idempotency-Key", "same-key"}});
  auto answers = e.http.post_concurrently("/v1/jobs", bodies, headers);
  std::set<std::string> ids;
  int accepted = 0;
  for (const auto& a : answers) {
    INFO(a.body);
    CHECK((a.status == 202 || a.status == 409));
    if (a.status == 202) {
      ++accepted;
      ids.insert(json_field(a.body, "id"));
    } else {
      CHECK(a.headers.at("Retry-After") == "1");
    }
  }
  CHECK(accepted >= 1);
  CHECK(ids.size() == 1);
  CHECK(e.jobs() == 1);
  // a retry after the first is stored always gets it back
  auto later = e.http.post("/v1/jobs", job_body("u7"), "application/json", {{"Idempotency-Key", "same-key"}});
  CHECK(later.status == 202);
  CHECK(ids.count(json_field(later.body, "id")) == 1);
}

TEST_CASE("an Idempotency-Key is still honoured after a restart") {
  temp_dir dir;
  std::string id;
  {
    engine_process engine{dir.path.string(), fast_config()};
    http_client http{engine.base_url()};
    auto a = http.post("/v1/jobs", job_body("u9"), "application/json", {{"Idempotency-Key", "k-restart"}});
    REQUIRE(a.status == 202);
    id = json_field(a.body, "id");
    CHECK(engine.terminate() == 0);
  }
  engine_process engine{dir.path.string(), fast_config()};
  http_client http{engine.base_url()};
  auto again = http.post("/v1/jobs", job_body("u9"), "application/json", {{"Idempotency-Key", "k-restart"}});
  CHECK(again.status == 202);
  CHECK(json_field(again.body, "id") == id);
  auto fresh = http.post("/v1/jobs", job_body("u9"));
  CHECK(json_field(fresh.body, "id") != id); // ids continue after the stored ones
}

TEST_CASE("1,000 jobs submitted concurrently over HTTP all succeed, each exactly once in the store") {
  live_engine e;
  std::vector<std::string> bodies;
  for (int i = 0; i < 1000; ++i)
    bodies.push_back(job_body("user-" + std::to_string(i), "prompt " + std::to_string(i), i % 3 == 0 ? "hd" : "sd"));
  auto answers = e.http.post_concurrently("/v1/jobs", bodies);
  std::vector<std::string> paths;
  std::set<std::string> ids;
  for (const auto& a : answers) {
    REQUIRE(a.status == 202);
    ids.insert(json_field(a.body, "id"));
    paths.push_back("/v1/jobs/" + json_field(a.body, "id") + "?wait=30");
  }
  CHECK(ids.size() == 1000);
  auto jobs = e.http.get_concurrently(paths);
  int succeeded = 0;
  std::set<std::string> providers;
  for (const auto& j : jobs) {
    succeeded += json_field(j.body, "status") == "succeeded";
    providers.insert(json_field(j.body, "provider"));
  }
  CHECK(succeeded == 1000);
  CHECK(providers == std::set<std::string>{"gemini", "photomaker"}); // 50 % rollout: both serve
  CHECK(e.jobs() == 1000);
  CHECK(count_rows(e.db(), "SELECT COUNT(DISTINCT id) FROM jobs") == 1000);
  CHECK(count_rows(e.db(), "SELECT COUNT(*) FROM jobs WHERE status='succeeded'") == 1000);
  CHECK(count_rows(e.db(), "SELECT COUNT(*) FROM attempts") == 1000); // one attempt each: none ran twice
  CHECK(count_rows(e.db(), "SELECT COUNT(*) FROM attempts WHERE outcome='succeeded'") == 1000);
}

TEST_CASE("readiness names every provider and says ok while no breaker is open") {
  live_engine e;
  auto r = wait_ready(e.http, std::chrono::seconds(20));
  INFO(r.body);
  CHECK(r.status == 200);
  CHECK(json_field(r.body, "status") == "ok");
  CHECK(json_field(json_field(r.body, "checks"), "gemini") == "ok");
  CHECK(json_field(json_field(r.body, "checks"), "sdxl") == "ok");
}

TEST_CASE("serve drains and exits 0 on SIGTERM") {
  live_engine e;
  REQUIRE(e.http.post("/v1/jobs", job_body("u1")).status == 202);
  CHECK(e.engine.terminate() == 0);
  CHECK(e.engine.log().find("event=stopped") != std::string::npos);
}

TEST_CASE("dead letters are listed, replayed over HTTP, and counted on /metrics") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(50, "100%")};
  http_client http{engine.base_url()};
  auto answers = http.post_concurrently("/v1/jobs", {job_body("u1"), job_body("u2")});
  std::vector<std::string> ids;
  for (const auto& a : answers)
    ids.push_back(json_field(a.body, "id"));
  for (const auto& id : ids)
    REQUIRE(json_field(http.get("/v1/jobs/" + id + "?wait=20").body, "status") == "dead_lettered");

  auto list = http.get("/v1/dead-letters");
  REQUIRE(list.status == 200);
  for (const auto& id : ids)
    CHECK(list.body.find("\"id\":\"" + id + "\"") != std::string::npos);
  CHECK(http.get("/v1/dead-letters?limit=0").status == 400);

  auto replayed = http.post("/v1/dead-letters/" + ids[0] + "/replay", "");
  CHECK(replayed.status == 200);
  CHECK(json_field(replayed.body, "status") == "queued");
  auto count_attempts = [](const std::string& body) {
    std::size_t n = 0;
    for (auto pos = body.find("\"no\":"); pos != std::string::npos; pos = body.find("\"no\":", pos + 1))
      ++n;
    return n;
  };
  auto again = http.get("/v1/jobs/" + ids[0] + "?wait=20");
  INFO(again.body);
  CHECK(json_field(again.body, "status") == "dead_lettered");
  CHECK(json_field(json_field(again.body, "route"), "reason").rfind("replay: bucket", 0) == 0);
  // the whole chain once more, numbered on after the earlier attempts, which are kept
  CHECK(count_attempts(again.body) >= 2 * 2);
  CHECK(again.body.find("\"no\":" + std::to_string(count_attempts(again.body)) + ",") != std::string::npos);

  CHECK(http.post("/v1/dead-letters/j999999/replay", "").status == 404);
  CHECK(http.send("GET", "/v1/dead-letters/" + ids[1] + "/replay").status == 405);

  auto metrics = http.get("/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("cutover_jobs_finished_total{status=\"dead_lettered\"} 3") != std::string::npos);
  CHECK(metrics.body.find("cutover_breaker_state{provider=\"photomaker\"}") != std::string::npos);
  CHECK(metrics.body.find("# TYPE cutover_provider_calls_total counter") != std::string::npos);
}

TEST_CASE("a user over server.user_rate gets 429 with Retry-After and nothing is stored for it, but a retry of a stored job answers it") {
  temp_dir dir;
  auto config = fast_config();
  config.replace(config.find("max_body_bytes: 4096}"), 21, "max_body_bytes: 4096, user_rate: {per_minute: 2, burst: 2}}");
  engine_process engine{dir.path.string(), config};
  http_client http{engine.base_url()};
  const std::map<std::string, std::string> key{{"Idempotency-Key", "alice-1"}};
  auto first = http.post("/v1/jobs", job_body("alice"), "application/json", key);
  CHECK(first.status == 202);
  CHECK(http.post("/v1/jobs", job_body("alice")).status == 202);
  // a retry of a job she already has answers that job: the rate is not asked again
  auto retried = http.post("/v1/jobs", job_body("alice"), "application/json", key);
  CHECK(retried.status == 202);
  CHECK(json_field(retried.body, "id") == json_field(first.body, "id"));
  auto third = http.post("/v1/jobs", job_body("alice"));
  CHECK(third.status == 429);
  CHECK(error_code_of(third.body) == "rate_limited");
  const int retry_after = std::stoi(third.headers["Retry-After"]);
  CHECK(retry_after >= 29);
  CHECK(retry_after <= 30);
  CHECK(http.post("/v1/jobs", job_body("bob")).status == 202); // another user is not affected
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM jobs") == 3);
  CHECK(http.get("/metrics").body.find("cutover_jobs_throttled_total 1") != std::string::npos);
}

TEST_CASE("cors.allow_origins lets an allowed browser origin read answers and preflight, and no other") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config() + "cors: {allow_origins: [\"https://dash.example\"]}\n"};
  http_client http{engine.base_url()};
  const std::map<std::string, std::string> dash{{"Origin", "https://dash.example"}};
  auto job = http.post("/v1/jobs", job_body("u1"), "application/json", dash);
  CHECK(job.status == 202);
  CHECK(job.headers["Access-Control-Allow-Origin"] == "https://dash.example");
  CHECK(job.headers["Vary"] == "Origin");
  auto bad = http.post("/v1/jobs", "{", "application/json", dash); // errors too, so the page can show them
  CHECK(bad.status == 400);
  CHECK(bad.headers["Access-Control-Allow-Origin"] == "https://dash.example");
  auto preflight = http.send("OPTIONS", "/v1/jobs", dash);
  CHECK(preflight.status == 204);
  CHECK(preflight.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS");
  CHECK(preflight.headers["Access-Control-Allow-Headers"].find("Idempotency-Key") != std::string::npos);
  // another origin, or none: no CORS headers, and OPTIONS is not a method of the API
  auto other = http.post("/v1/jobs", job_body("u2"), "application/json", {{"Origin", "https://evil.example"}});
  CHECK(other.status == 202);
  CHECK(other.headers.count("Access-Control-Allow-Origin") == 0);
  CHECK(http.send("OPTIONS", "/v1/jobs", {{"Origin", "https://evil.example"}}).status == 405);
  CHECK(http.get("/healthz").headers.count("Access-Control-Allow-Origin") == 0);
}

namespace {

/// Whole seconds from now (the wall clock, as the engine's) to the next `day_starts` (HH:MMZ), where the budget day
/// begins.
long long seconds_to_next_day_start(const std::string& day_starts) {
  const long long at = std::stoll(day_starts.substr(0, 2)) * 3600 + std::stoll(day_starts.substr(3, 2)) * 60;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  return ((at - now % 86400) % 86400 + 86400) % 86400;
}

} // namespace

TEST_CASE("once every provider of the chain is stopped by its budget, POST /v1/jobs answers 503 with Retry-After until the next budget day, stores nothing, and still answers a repeat") {
  temp_dir dir;
  // at 0 %: photomaker first, then sdxl; gemini may take the job at 100 %, so it is on the chain too. gemini's line
  // is below its cheapest image; photomaker's and sdxl's take one sd image each
  const auto day_starts = day_starts_far_from_now();
  engine_process engine{dir.path.string(),
                        fast_config(0) + "budget: {stop_at: 100%, day_starts: \"" + day_starts +
                          "\", providers: {gemini: 0.01, photomaker: 0.05, sdxl: 0.03}}\n"};
  http_client http{engine.base_url()};
  const std::map<std::string, std::string> key{{"Idempotency-Key", "alice-1"}};
  auto first = http.post("/v1/jobs", job_body("alice"), "application/json", key);
  REQUIRE(first.status == 202);
  const auto first_id = json_field(first.body, "id");
  CHECK(json_field(http.get("/v1/jobs/" + first_id + "?wait=20").body, "provider") == "photomaker");
  auto second = http.post("/v1/jobs", job_body("bob"));
  REQUIRE(second.status == 202);
  CHECK(json_field(http.get("/v1/jobs/" + json_field(second.body, "id") + "?wait=20").body, "provider") == "sdxl");

  auto refused = http.post("/v1/jobs", job_body("carol"));
  const auto expected = seconds_to_next_day_start(day_starts);
  CHECK(refused.status == 503);
  CHECK(error_code_of(refused.body) == "no_provider_admissible");
  CHECK(json_field(json_field(refused.body, "error"), "message").find("budget") != std::string::npos);
  REQUIRE(refused.headers.count("Retry-After") == 1);
  const long long retry_after = std::stoll(refused.headers["Retry-After"]);
  CHECK(retry_after <= expected + 1);
  CHECK(retry_after >= expected - 60); // a day start is set to the minute
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM jobs") == 2);

  // a repeat of a stored job is still answered with that job
  auto repeat = http.post("/v1/jobs", job_body("alice"), "application/json", key);
  CHECK(repeat.status == 202);
  CHECK(json_field(repeat.body, "id") == first_id);
  CHECK(repeat.headers["Idempotent-Replayed"] == "true");

  // the OpenAI-compatible endpoint refuses in OpenAI's error shape
  auto openai = http.post("/v1/images/generations", R"({"prompt":"a red kite","user":"dave"})");
  CHECK(openai.status == 503);
  REQUIRE(openai.headers.count("Retry-After") == 1);
  CHECK(std::llabs(std::stoll(openai.headers["Retry-After"]) - retry_after) <= 2);
  const auto err = json_field(openai.body, "error");
  REQUIRE_FALSE(err.empty());
  CHECK(json_field(err, "code") == "no_provider_admissible");
  CHECK(json_field(err, "type") == "server_error");
  CHECK_FALSE(json_field(err, "message").empty());
  CHECK(err.find("\"param\":null") != std::string::npos);
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM jobs") == 2);

  // readiness reads the same view: every provider is stopped by its budget, none can take a job: unavailable
  auto ready = http.get("/readyz");
  CHECK(ready.status == 503);
  CHECK(json_field(ready.body, "status") == "unavailable");
  for (const char* p : {"gemini", "photomaker", "sdxl"})
    CHECK(json_field(json_field(ready.body, "checks"), p) == "budget_stopped");
}
