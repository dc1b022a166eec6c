// Logs an operator can grep: the real binary writes one line per job event (accepted, routed with its reason, fell
// back and why, final with provider, cost and wait), each naming the job; as JSON lines with `log.format: json` or
// `--log-format json`; never the prompt. `cutover simulate` writes no job lines.

#include "support/engine_process.hpp"

#include <catch2/catch.hpp>
#include <cpprest/json.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace cutover::testing;

namespace {

const std::string secret_prompt = "a-prompt-that-must-never-be-logged-7f3a";

std::string job_body(const std::string& user) {
  return R"({"user_id":")" + user + R"(","prompt":")" + secret_prompt + R"(","tier":"sd"})";
}

/// gemini (candidate, 100 %) always fails and is not retried, so every job falls back to photomaker.
std::string failing_candidate_config(const std::string& log_section) {
  const std::string sim = "latency_p50: 5ms, latency_p95: 20ms, quality: 0.9";
  return R"(server: {listen: 127.0.0.1:8080}
store: {path: data/cutover.db, synchronous: normal}
providers:
  gemini:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: {)" + sim + R"(, failure_rate: 100%}
    retry: {max_attempts: 1}
  photomaker:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}
    simulated: {)" + sim + R"(, failure_rate: 0%}
tiers:
  sd: {batch: {max_items: 50, max_wait: 10ms}}
fallback: {gemini: [photomaker]}
rollout: {name: log-test, baseline: photomaker, candidate: gemini, percent: 100, phases: [{percent: 100}]}
)" + log_section;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

/// Submits one job and waits for it to be final; its id.
std::string run_one_job(engine_process& engine) {
  http_client http{engine.base_url()};
  auto a = http.post("/v1/jobs", job_body("log-user"));
  REQUIRE(a.status == 202);
  const auto id = json_field(a.body, "id");
  REQUIRE(!id.empty());
  auto done = http.get("/v1/jobs/" + id + "?wait=10s");
  REQUIRE(done.status == 200);
  REQUIRE(json_field(done.body, "status") == "succeeded");
  // job lines are buffered: written within the flush period
  REQUIRE(engine.wait_for_log("job_final", std::chrono::seconds(5)));
  return id;
}

/// The parsed JSON lines of the log with `event` == `name` and `job` == `id`.
std::vector<web::json::value> json_events(const std::string& log, const std::string& name, const std::string& id) {
  std::vector<web::json::value> out;
  for (const auto& line : lines_of(log)) {
    auto v = web::json::value::parse(line);
    if (v.has_string_field("event") && v.at("event").as_string() == name && v.has_string_field("job") &&
        v.at("job").as_string() == id)
      out.push_back(v);
  }
  return out;
}

void check_json_job_lines(const std::string& log, const std::string& id) {
  // every line of the log is one JSON object (not only the job lines)
  const auto all = lines_of(log);
  REQUIRE(all.size() > 3);
  for (const auto& line : all) {
    INFO(line);
    CHECK_NOTHROW(web::json::value::parse(line).as_object());
  }
  auto accepted = json_events(log, "job_accepted", id);
  REQUIRE(accepted.size() == 1);
  CHECK(accepted[0].at("tier").as_string() == "sd");
  CHECK(accepted[0].at("n").as_integer() == 1);

  auto routed = json_events(log, "job_routed", id);
  REQUIRE(routed.size() == 2); // the candidate, then the fallback
  CHECK(routed[0].at("provider").as_string() == "gemini");
  CHECK(routed[0].at("reason").as_string().find("bucket") != std::string::npos); // the route's reason, spaces kept
  CHECK(routed[1].at("provider").as_string() == "photomaker");

  auto fell = json_events(log, "job_fell_back", id);
  REQUIRE(fell.size() == 1);
  CHECK(fell[0].at("from").as_string() == "gemini");
  CHECK(fell[0].at("to").as_string() == "photomaker");
  CHECK(!fell[0].at("cause").as_string().empty());
  CHECK(!fell[0].at("reason").as_string().empty());

  auto final = json_events(log, "job_final", id);
  REQUIRE(final.size() == 1);
  CHECK(final[0].at("status").as_string() == "succeeded");
  CHECK(final[0].at("provider").as_string() == "photomaker");
  CHECK(final[0].at("cost_usd").is_number());
  CHECK(final[0].at("cost_usd").as_double() == Approx(0.04 + (0.0))); // gemini failed: no charge; photomaker 0.04
  CHECK(final[0].at("wait_ms").is_number());
  CHECK(final[0].at("wait_ms").as_integer() >= 0);
  CHECK(log.find(secret_prompt) == std::string::npos);
}

} // namespace

TEST_CASE("serve --log-format json writes every log line as JSON, one line per job event with the job id") {
  temp_dir dir;
  engine_process engine{dir.path.string(), failing_candidate_config(""), 0, "127.0.0.1", {"--log-format", "json"}};
  const auto id = run_one_job(engine);
  check_json_job_lines(engine.log(), id);
}

TEST_CASE("log.format json in the config file gives JSON job lines") {
  temp_dir dir;
  engine_process engine{dir.path.string(), failing_candidate_config("log: {format: json}\n")};
  const auto id = run_one_job(engine);
  check_json_job_lines(engine.log(), id);
}

TEST_CASE("text job lines are key=value with the job id, the route reason quoted, and no prompt") {
  temp_dir dir;
  engine_process engine{dir.path.string(), failing_candidate_config("")};
  const auto id = run_one_job(engine);
  const auto log = engine.log();
  std::vector<std::string> mine;
  for (const auto& l : lines_of(log))
    if (l.find(" job=" + id + " ") != std::string::npos)
      mine.push_back(l);
  REQUIRE(mine.size() == 5); // accepted, routed, fell back, routed, final
  CHECK(mine[0].rfind("event=job_accepted ", 0) == 0);
  CHECK(mine[1].rfind("event=job_routed ", 0) == 0);
  CHECK(mine[1].find("provider=gemini") != std::string::npos);
  CHECK(mine[1].find("reason=\"bucket ") != std::string::npos);
  CHECK(mine[2].rfind("event=job_fell_back ", 0) == 0);
  CHECK(mine[2].find("from=gemini to=photomaker") != std::string::npos);
  CHECK(mine[4].rfind("event=job_final ", 0) == 0);
  CHECK(mine[4].find("status=succeeded provider=photomaker cost_usd=0.040000 wait_ms=") != std::string::npos);
  CHECK(log.find(secret_prompt) == std::string::npos);
}

TEST_CASE("serve refuses an unknown --log-format") {
  temp_dir dir;
  const auto err = dir.file("err.txt");
  const auto cmd = std::string{CUTOVER_BINARY} + " serve --config /nonexistent.yaml --log-format yaml 2>" + err;
  const int status = std::system(cmd.c_str());
  CHECK(WEXITSTATUS(status) == 2);
  std::ifstream in{err};
  std::stringstream s;
  s << in.rdbuf();
  CHECK(s.str().find("--log-format") != std::string::npos);
}

TEST_CASE("cutover simulate writes no per-job log lines and none of the engine's event lines") {
  temp_dir dir;
  const std::string sim = std::string{CUTOVER_SOURCE_DIR} + "/tests/sim/";
  const auto err = dir.file("err.txt");
  const auto cmd = std::string{CUTOVER_BINARY} + " simulate --config " + sim + "config.yaml --scenario " + sim +
                   "healthy.yaml --out " + dir.file("out") + " 2>" + err;
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in{err};
  std::stringstream s;
  s << in.rdbuf();
  const auto text = s.str();
  REQUIRE(text.find("simulate:") != std::string::npos); // its own summary line came through stderr
  CHECK(text.find("event=job_") == std::string::npos);
  CHECK(text.find("event=") == std::string::npos); // e.g. the rollout's decisions: they are in decisions.csv
  std::ifstream decisions{dir.file("out") + "/decisions.csv"};
  std::string header, first;
  REQUIRE(std::getline(decisions, header));
  CHECK(std::getline(decisions, first)); // the run decided something, so the engine had lines to log
}
