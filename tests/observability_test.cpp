// What an operator's Prometheus sees of a running engine: every family on /metrics from the start (idle), in a
// format `promtool check metrics` accepts, with histograms and answers by route once traffic flows; and /readyz
// checking the store's commits, the configuration and the fallback rate.
#include "core/metric_catalog.hpp"
#include "support/engine_process.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>

using namespace cutover;
using namespace cutover::testing;

namespace {

const std::vector<std::string> providers{"gemini", "photomaker", "sdxl"};

struct lint {
  int status = -1;
  std::string output;
};

/// `promtool check metrics` on `text` (the scrape, as Prometheus would read it).
lint promtool_check_metrics(const temp_dir& dir, const std::string& text) {
  const auto file = dir.file("scrape.txt");
  std::ofstream(file) << text;
  const std::string cmd = std::string(PROMTOOL_BINARY) + " check metrics < " + file + " 2>&1";
  lint out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe{popen(cmd.c_str(), "r"), pclose};
  REQUIRE(pipe);
  std::array<char, 512> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), pipe.get()))
    out.output.append(buf.data(), n);
  out.status = pclose(pipe.release());
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

std::string job_body(const std::string& user) {
  return R"({"user_id":")" + user + R"(","prompt":"a red kite","tier":"sd"})";
}

/// Submits `n` jobs and waits (GET ?wait=) until each is final.
void run_jobs(http_client& http, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = http.post("/v1/jobs", job_body("user-" + std::to_string(i)));
    REQUIRE(r.status == 202);
    auto done = http.get("/v1/jobs/" + json_field(r.body, "id") + "?wait=20s");
    REQUIRE(done.status == 200);
    REQUIRE(json_field(done.body, "status") == "succeeded");
  }
}

std::string check_of(const std::string& body, const std::string& name) {
  return json_field(json_field(body, "checks"), name);
}

} // namespace

TEST_CASE("an idle engine exports every metric family with HELP and TYPE, and promtool check metrics passes") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config()};
  http_client http{engine.base_url()};
  const auto scrape = http.get("/metrics");
  REQUIRE(scrape.status == 200);
  core::metrics_registry declared;
  core::declare_engine_metrics(declared, providers);
  const auto names = declared.family_names();
  REQUIRE(names.size() >= 40);
  for (const auto& n : names) {
    INFO(n);
    CHECK(scrape.body.find("# HELP " + n + " ") != std::string::npos);
    CHECK(scrape.body.find("# TYPE " + n + " ") != std::string::npos);
  }
  for (const auto& p : providers) {
    CHECK(has_line(scrape.body, "cutover_breaker_trips_total{provider=\"" + p + "\"} 0"));
    CHECK(has_line(scrape.body, "cutover_provider_calls_in_flight{provider=\"" + p + "\"} 0"));
  }
  CHECK(has_line(scrape.body, "cutover_image_cache_hits_total 0"));
  // the notifier's own families (it registers them as it starts) are in the same scrape promtool lints
  for (const std::string n : {"cutover_notifications_delivered_total", "cutover_notifications_failed_total",
                              "cutover_notifications_expired_total", "cutover_notifications_refused_total"}) {
    INFO(n);
    CHECK(scrape.body.find("# HELP " + n + " ") != std::string::npos);
    CHECK(scrape.body.find("# TYPE " + n + " counter\n") != std::string::npos);
    CHECK(has_line(scrape.body, n + " 0"));
  }
  const auto lint = promtool_check_metrics(dir, scrape.body);
  INFO(lint.output);
  CHECK(lint.status == 0);
  CHECK(lint.output.empty());
}

TEST_CASE("counter series that appear only at their first event are exported at 0 from the start, and a reload's "
          "new fallback pairs too") {
  // increase() and rate() need a sample before an event: a series born at its first event loses that event, and
  // an alert on it (a rollback's decision, a first fallback) would miss it
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(100)};
  http_client http{engine.base_url()};
  const auto scrape = http.get("/metrics").body;
  const std::vector<std::string> actions{"promote",         "complete",          "hold",   "rollback",
                                         "step_down",       "operator_promote",  "operator_hold",
                                         "operator_resume", "operator_rollback", "reload", "drill_rollback",
                                         "drill_restore"};
  for (const auto& a : actions) {
    INFO(a);
    CHECK(has_line(scrape, "cutover_rollout_decisions_total{action=\"" + a + "\"} 0"));
  }
  for (const char* s : {"succeeded", "failed", "dead_lettered", "cancelled"}) {
    INFO(s);
    CHECK(has_line(scrape, std::string{"cutover_jobs_finished_total{status=\""} + s + "\"} 0"));
  }
  // fallback: {gemini: [photomaker, sdxl], photomaker: [sdxl]}: each step by each reason that takes it, and the
  // end of a chain for a budget refusal
  for (const char* line : {"cutover_fallbacks_total{from=\"gemini\",to=\"photomaker\",reason=\"server\"} 0",
                           "cutover_fallbacks_total{from=\"gemini\",to=\"photomaker\",reason=\"breaker_open\"} 0",
                           "cutover_fallbacks_total{from=\"gemini\",to=\"photomaker\",reason=\"over_provider_budget\"} 0",
                           "cutover_fallbacks_total{from=\"photomaker\",to=\"sdxl\",reason=\"timeout\"} 0",
                           "cutover_fallbacks_total{from=\"sdxl\",to=\"none\",reason=\"over_global_budget\"} 0"}) {
    INFO(line);
    CHECK(has_line(scrape, line));
  }
  // the baseline's own faults never take it further (bad_request fails the job there)
  CHECK(scrape.find("cutover_fallbacks_total{from=\"photomaker\",to=\"sdxl\",reason=\"bad_request\"}") ==
        std::string::npos);
  const auto lint = promtool_check_metrics(dir, scrape);
  INFO(lint.output);
  CHECK(lint.status == 0);
  CHECK(lint.output.empty());

  // a reload with another chain: its pairs are there at 0 once the router has the new snapshot (the job routed
  // after the reload comes behind it)
  auto other = fast_config(100);
  other.replace(other.find("fallback: {gemini: [photomaker, sdxl], photomaker: [sdxl]}"), 58,
                "fallback: {gemini: [sdxl, photomaker]}");
  engine.write_config(other);
  REQUIRE(http.post("/v1/admin/reload", "").status == 200);
  run_jobs(http, 1);
  const auto after = http.get("/metrics").body;
  CHECK(has_line(after, "cutover_fallbacks_total{from=\"gemini\",to=\"sdxl\",reason=\"server\"} 0"));
  CHECK(has_line(after, "cutover_fallbacks_total{from=\"sdxl\",to=\"photomaker\",reason=\"timeout\"} 0"));
  CHECK(has_line(after, "cutover_rollout_decisions_total{action=\"reload\"} 1"));
  CHECK(has_line(after, "cutover_jobs_finished_total{status=\"succeeded\"} 1"));
}

TEST_CASE("after traffic, /metrics has user-wait and call-time histograms and HTTP answers by route pattern") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(100)};
  http_client http{engine.base_url()};
  run_jobs(http, 3);
  CHECK(http.get("/no/such/path").status == 404);
  const auto text = http.get("/metrics").body;
  CHECK(has_line(text, "cutover_job_user_wait_seconds_count{provider=\"gemini\",tier=\"sd\",cohort=\"candidate\"} 3"));
  CHECK(has_line(text, "cutover_job_user_wait_seconds_bucket{provider=\"gemini\",tier=\"sd\",cohort=\"candidate\","
                       "le=\"+Inf\"} 3"));
  CHECK(has_line(text, "cutover_provider_call_duration_seconds_count{provider=\"gemini\"} 3"));
  // gemini is asynchronous: each job one create (accepted) and one poll that brought its end; an alert counts
  // failures per create, never per poll
  CHECK(has_line(text, "cutover_provider_calls_total{provider=\"gemini\",call=\"create\",outcome=\"none\"} 3"));
  CHECK(has_line(text, "cutover_provider_calls_total{provider=\"gemini\",call=\"result\",outcome=\"none\"} 3"));
  CHECK(has_line(text, "cutover_http_responses_total{route=\"/v1/jobs\",method=\"POST\",code=\"202\"} 3"));
  CHECK(has_line(text, "cutover_http_responses_total{route=\"/v1/jobs/{id}\",method=\"GET\",code=\"200\"} 3"));
  CHECK(has_line(text, "cutover_http_responses_total{route=\"unmatched\",method=\"any\",code=\"404\"} 1"));
  // the raw path never becomes a label value (one series per job id would grow without bound)
  CHECK(text.find("route=\"/v1/jobs/j") == std::string::npos);
  CHECK(text.find("/no/such/path") == std::string::npos);
  // nothing waits any more: every stage of the queue is back at 0
  CHECK(has_line(text, "cutover_queue_depth_items{provider=\"gemini\",stage=\"window\"} 0"));
  CHECK(has_line(text, "cutover_queue_depth_items{provider=\"gemini\",stage=\"admission\"} 0"));
  CHECK(has_line(text, "cutover_rollout_percent 100"));
  const auto lint = promtool_check_metrics(dir, text);
  INFO(lint.output);
  CHECK(lint.status == 0);
  CHECK(lint.output.empty());
}

TEST_CASE("readyz of an idle engine checks the store's probe commit, the configuration and the fallback rate") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config()};
  http_client http{engine.base_url()};
  const auto r = wait_ready(http, std::chrono::seconds(20));
  CHECK(r.status == 200);
  CHECK(json_field(r.body, "status") == "ok");
  CHECK(check_of(r.body, "store") == "ok");
  CHECK(check_of(r.body, "config").rfind("loaded ", 0) == 0);
  CHECK(check_of(r.body, "fallback_rate_5m") == "0.0% <= 10.0%");
  // the probe row is on disk: the store was written with no job submitted
  SQLite::Database db(dir.file("cutover.db"), SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT COUNT(*) FROM store_probe").getInt() == 1);
}

TEST_CASE("readyz is unavailable while the store cannot commit, and ready again once it can") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config()};
  http_client http{engine.base_url()};
  REQUIRE(wait_ready(http, std::chrono::seconds(20)).status == 200);
  const auto from = engine.log_size();
  {
    // another writer holds the database's write lock: the engine's next commit (its probe, every 10 s, on an idle
    // engine) waits busy_timeout and fails as "database is locked"
    SQLite::Database other(dir.file("cutover.db"), SQLite::OPEN_READWRITE);
    other.exec("BEGIN IMMEDIATE");
    REQUIRE(engine.wait_for_log("event=store_commit_failed", std::chrono::seconds(40), from));
    const auto r = http.get("/readyz");
    CHECK(r.status == 503);
    CHECK(json_field(r.body, "status") == "unavailable");
    CHECK(check_of(r.body, "store") == "commit failing");
    other.exec("ROLLBACK");
  }
  REQUIRE(engine.wait_for_log("event=store_commit_recovered", std::chrono::seconds(40), from));
  const auto r = http.get("/readyz");
  CHECK(r.status == 200);
  CHECK(check_of(r.body, "store") == "ok");
}

TEST_CASE("readyz says degraded when fallbacks over 5 minutes pass health.degraded_fallback_rate") {
  // the candidate fails every call: each job is served by the baseline after falling back
  auto config = fast_config(100);
  const auto first = config.find("failure_rate: 0%");
  REQUIRE(first != std::string::npos);
  config.replace(first, 16, "failure_rate: 100%");
  config.replace(config.find("    polling:"), 0, "    retry: {max_attempts: 1}\n");
  for (const char* threshold : {"10%", "100%"}) {
    DYNAMIC_SECTION("threshold " << threshold) {
      temp_dir dir;
      engine_process engine{dir.path.string(), config + "health: {degraded_fallback_rate: " + threshold + "}\n"};
      http_client http{engine.base_url()};
      run_jobs(http, 3);
      const auto r = http.get("/readyz");
      CHECK(r.status == 200);
      CHECK(check_of(r.body, "gemini") == "ok"); // its breaker has not opened: the fallback rate alone decides
      if (std::string{threshold} == "10%") {
        CHECK(json_field(r.body, "status") == "degraded");
        CHECK(check_of(r.body, "fallback_rate_5m") == "100.0% > 10.0%");
      } else {
        CHECK(json_field(r.body, "status") == "ok"); // 3 fallbacks per 3 jobs is not above 100 %
        CHECK(check_of(r.body, "fallback_rate_5m") == "100.0% <= 100.0%");
      }
      CHECK(has_line(http.get("/metrics").body,
                     "cutover_fallbacks_total{from=\"gemini\",to=\"photomaker\",reason=\"server\"} 3"));
    }
  }
}

TEST_CASE("readyz answers 503 unavailable when no provider is admissible: every breaker open") {
  // every call fails at once (sync, one try each): a job goes gemini -> photomaker -> sdxl and each breaker opens
  // at its first failure, for 10 minutes
  auto config = fast_config(100, "100%");
  const auto mode_at = config.find("mode: async");
  REQUIRE(mode_at != std::string::npos);
  config.replace(mode_at, 11, "mode: sync");
  const auto polling_at = config.find("    polling:");
  REQUIRE(polling_at != std::string::npos);
  config.erase(polling_at, config.find('\n', polling_at) + 1 - polling_at);
  const std::string guard = "    retry: {max_attempts: 1}\n    breaker: {failure_rate: 50%, min_requests: 1, window: 60s, "
                            "open_for: 10m, half_open_probes: 1}\n";
  for (const char* next : {"  photomaker:\n", "  sdxl:\n", "tiers:\n"})
    config.insert(config.find(next), guard);
  temp_dir dir;
  engine_process engine{dir.path.string(), config};
  http_client http{engine.base_url()};
  REQUIRE(wait_ready(http, std::chrono::seconds(20)).status == 200);
  auto r = http.post("/v1/jobs", job_body("u1"));
  REQUIRE(r.status == 202);
  REQUIRE(json_field(http.get("/v1/jobs/" + json_field(r.body, "id") + "?wait=20s").body, "status") ==
          "dead_lettered");
  const auto ready = http.get("/readyz");
  CHECK(ready.status == 503);
  CHECK(json_field(ready.body, "status") == "unavailable");
  for (const auto& p : providers) {
    INFO(p << ": " << ready.body);
    CHECK(check_of(ready.body, p) == "breaker_open");
  }
  // and intake refuses new work the same way
  CHECK(http.post("/v1/jobs", job_body("u2")).status == 503);
}
