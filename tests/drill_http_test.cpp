// The live rollback drill over real HTTP against the real binary: POST /v1/rollout/drill while calls are on the wire
// to a slow candidate (the fake provider speaking OpenAI's wire format, 1.5 s per call), and `cutover drill --url`
// as an operator runs it. Waits on conditions (the fake's call log, the engine's log lines), never on sleeps.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"
#include "support/fake_provider_process.hpp"

#include <cpprest/json.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <future>
#include <sys/wait.h>

using namespace cutover::testing;

namespace {

/// `cand` (the fake, OpenAI's wire, sync) on half the users in phase 0 of 2; `base` simulated and quick.
std::string drill_config(const std::string& fake_url) {
  return R"(server: {listen: 127.0.0.1:8080}
providers:
  cand:
    kind: openai
    mode: sync
    base_url: )" + fake_url + R"(/v1
    api_key_env: CUTOVER_TEST_OPENAI_KEY
    model: gpt-image-1
    timeout: 10s
    cost_per_image: {sd: 0.04, hd: 0.08, 4k: 0.12}
    retry: {max_attempts: 1}
  base:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}
    simulated: {latency_p50: 5ms, latency_p95: 10ms, failure_rate: 0%, quality: 0.9}
tiers:
  sd: {batch: {max_items: 50, max_wait: 20ms}}
fallback: {cand: [base]}
rollout:
  name: live-drill
  baseline: base
  candidate: cand
  percent: 50
  phases: [{percent: 50, min_duration: 7d, min_samples: 100}, {percent: 100}]
)";
}

std::string job_body(const std::string& user) {
  return R"({"user_id":")" + user + R"(","prompt":"a kite","tier":"sd"})";
}

web::json::value parse(const std::string& body) {
  std::error_code ec;
  auto v = web::json::value::parse(body, ec);
  INFO(body);
  REQUIRE_FALSE(ec);
  return v;
}

struct command_result {
  int exit_code = -1;
  std::string output; ///< stdout and stderr
};

/// Runs `cutover ARGS` and waits for it.
command_result run_cutover(const std::string& args) {
  command_result r;
  FILE* p = ::popen((std::string{CUTOVER_BINARY} + " " + args + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

} // namespace

TEST_CASE("drill over HTTP: routes switch at once, calls on the wire finish, the rollout returns to its phase") {
  fake_provider_process fake;
  fake.set_faults(R"({"openai":{"latency_ms":1500}})");
  ::setenv("CUTOVER_TEST_OPENAI_KEY", fake.api_key().c_str(), 1); // the engine child inherits it
  temp_dir dir;
  engine_process engine{dir.path.string(), drill_config(fake.url())};
  http_client http{engine.base_url()};
  const auto before = parse(http.get("/v1/rollout").body);
  REQUIRE(before.at("percent").as_integer() == 50);

  // traffic: 20 users, about half on the candidate, whose calls take 1.5 s
  std::vector<std::string> bodies;
  for (int i = 0; i < 20; ++i)
    bodies.push_back(job_body("user-" + std::to_string(i)));
  auto accepted = http.post_concurrently("/v1/jobs", bodies);
  REQUIRE(fake.calls(0, 5000).size() > 0); // the candidate's calls are on the wire

  const auto log_from = engine.log_size();
  auto drill = std::async(std::launch::async, [&] { return http_client{engine.base_url()}.post("/v1/rollout/drill", ""); });
  REQUIRE_FALSE(engine.wait_for_line("event=rollout_drill_started", std::chrono::seconds(10), log_from).empty());

  // while the drill runs, the candidate's users are on the baseline
  std::vector<std::string> paths;
  for (const auto& a : accepted) {
    REQUIRE(a.status == 202);
    paths.push_back("/v1/jobs/" + json_field(a.body, "id") + "?wait=30");
  }
  std::vector<std::string> on_candidate, candidate_ends;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    auto j = http.get(paths[i]);
    REQUIRE(j.status == 200);
    if (json_field(j.body, "provider") == "cand") {
      on_candidate.push_back("user-" + std::to_string(i));
      candidate_ends.push_back(parse(j.body).at("attempts").at(0).at("finished_at").as_string());
    }
  }
  REQUIRE_FALSE(on_candidate.empty());
  const auto answer = drill.get();
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  const auto rec = parse(answer.body).at("drill");
  CHECK(rec.at("result").as_string() == "passed");
  CHECK(rec.at("at_candidate_when_routed").as_integer() > 0);
  CHECK(rec.at("left_at_candidate").as_integer() == 0);
  const double routed_ms = rec.at("routed_to_baseline_ms").as_double();
  const double drained_ms = rec.at("candidate_drained_ms").as_double();
  CHECK(routed_ms >= 0);
  CHECK(routed_ms < drained_ms);
  CHECK(drained_ms > 0);
  CHECK(drained_ms < 10000); // within the candidate's timeout: the calls finished, none was cut
  // the drill ended only once every call that was on the wire had come back (RFC 3339 in one format: text order)
  REQUIRE_FALSE(candidate_ends.empty());
  for (const auto& end : candidate_ends) {
    CHECK(end > rec.at("started_at").as_string());
    CHECK(end <= rec.at("finished_at").as_string());
  }
  for (const char* field : {"phase", "percent", "state", "since"}) {
    CHECK(rec.at("before").at(field) == before.at(field));
    CHECK(rec.at("after").at(field) == before.at(field));
  }
  const auto now = parse(http.get("/v1/rollout").body);
  for (const char* field : {"phase", "percent", "state", "since"})
    CHECK(now.at(field) == before.at(field));

  // the jobs that were at the candidate finished there, every job succeeded
  for (const auto& p : paths)
    CHECK(json_field(http.get(p).body, "status") == "succeeded");
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM attempts WHERE provider='cand' AND outcome='succeeded'") ==
        static_cast<long long>(on_candidate.size()));

  // the drill's record is in the decision audit
  const auto decisions = parse(http.get("/v1/rollout/decisions?limit=5").body).at("decisions").as_array();
  REQUIRE(decisions.size() >= 2);
  CHECK(decisions.at(0).at("action").as_string() == "drill_restore");
  CHECK(decisions.at(0).at("percent").as_integer() == 50);
  CHECK(decisions.at(1).at("action").as_string() == "drill_rollback");
  CHECK(decisions.at(1).at("percent").as_integer() == 0);
  const auto items = decisions.at(0).at("evaluations").as_array();
  REQUIRE(items.size() == 2);
  CHECK(items.at(1).at("name").as_string() == "candidate_drained");
  CHECK(items.at(1).at("verdict").as_string() == "pass");

  // after the drill the candidate's users are on the candidate again
  auto again = http.post("/v1/jobs", job_body(on_candidate.front()));
  REQUIRE(again.status == 202);
  auto j = http.get("/v1/jobs/" + json_field(again.body, "id") + "?wait=30");
  CHECK(json_field(j.body, "provider") == "cand");
}

TEST_CASE("drill over HTTP: a job of a candidate's user submitted during the drill is served by the baseline") {
  fake_provider_process fake;
  fake.set_faults(R"({"openai":{"latency_ms":2000}})");
  ::setenv("CUTOVER_TEST_OPENAI_KEY", fake.api_key().c_str(), 1);
  temp_dir dir;
  engine_process engine{dir.path.string(), drill_config(fake.url())};
  http_client http{engine.base_url()};
  // find a user on the candidate, whose call then holds the drill for 2 s
  std::string user;
  std::string first_path;
  for (int i = 0; i < 40 && user.empty(); ++i) {
    auto a = http.post("/v1/jobs", job_body("probe-" + std::to_string(i)));
    REQUIRE(a.status == 202);
    auto j = http.get("/v1/jobs/" + json_field(a.body, "id") + "?wait=1");
    if (json_field(j.body, "provider") == "cand") {
      user = "probe-" + std::to_string(i);
      first_path = "/v1/jobs/" + json_field(a.body, "id") + "?wait=30";
    }
  }
  REQUIRE_FALSE(user.empty());
  const auto log_from = engine.log_size();
  auto drill = std::async(std::launch::async, [&] { return http_client{engine.base_url()}.post("/v1/rollout/drill", ""); });
  REQUIRE_FALSE(engine.wait_for_line("event=rollout_drill_started", std::chrono::seconds(10), log_from).empty());
  auto during = http.post("/v1/jobs", job_body(user));
  REQUIRE(during.status == 202);
  auto j = http.get("/v1/jobs/" + json_field(during.body, "id") + "?wait=30");
  INFO(j.body);
  CHECK(json_field(j.body, "provider") == "base");
  CHECK(json_field(j.body, "status") == "succeeded");
  const auto answer = drill.get();
  REQUIRE(answer.status == 200);
  CHECK(parse(answer.body).at("drill").at("result").as_string() == "passed");
  CHECK(json_field(http.get(first_path).body, "provider") == "cand");
}

TEST_CASE("cutover drill --url prints the record and exits 0, refused or unreachable it exits 1 and says why") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(50)};
  ::unsetenv("CUTOVER_ADMIN_KEY"); // an engine without keys on loopback takes admin calls from loopback
  auto ok = run_cutover("drill --url " + engine.base_url() + "/ --max-wait 10s");
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CHECK(ok.output.find("\"result\":\"passed\"") != std::string::npos);
  CHECK(ok.output.find("\"max_wait_ms\":10000.000") != std::string::npos);
  http_client http{engine.base_url()};
  const auto decisions = parse(http.get("/v1/rollout/decisions?limit=2").body).at("decisions").as_array();
  REQUIRE(decisions.size() == 2);
  CHECK(decisions.at(0).at("action").as_string() == "drill_restore"); // the engine stored the record

  REQUIRE(http.post("/v1/rollout/rollback", "").status == 200);
  auto refused = run_cutover("drill --url " + engine.base_url());
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK(refused.output.find("answered 409") != std::string::npos);
  CHECK(refused.output.find("already rolled back") != std::string::npos);
  auto bad = http.post("/v1/rollout/drill?max_wait=soon", "");
  CHECK(bad.status == 400);
  CHECK(json_field(bad.body, "error").find("max_wait") != std::string::npos);

  const int port = free_port();
  auto unreachable = run_cutover("drill --url http://127.0.0.1:" + std::to_string(port));
  CHECK(unreachable.exit_code == 1);
  CHECK(unreachable.output.find("no answer from") != std::string::npos);
}

TEST_CASE("cutover drill sends the admin key from CUTOVER_ADMIN_KEY: the admin key runs it, a reader key or none exits 1") {
  temp_dir dir;
  ::setenv("CUTOVER_ADMIN_KEY", "drill-admin-key-0123456789", 1); // the engine's keys file names it too
  std::ofstream(dir.file("keys.yaml")) << "keys:\n  - {name: ops, key_env: CUTOVER_ADMIN_KEY, scopes: [admin, read]}\n"
                                          "  - {name: reader, key: \"drill-reader-key-0123456789\", scopes: [read]}\n";
  engine_process engine{dir.path.string(), fast_config(50) + "auth: {keys_file: " + dir.file("keys.yaml") + "}\n"};
  auto ok = run_cutover("drill --url " + engine.base_url() + " --max-wait 10s");
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CHECK(ok.output.find("\"result\":\"passed\"") != std::string::npos);
  ::setenv("CUTOVER_ADMIN_KEY", "drill-reader-key-0123456789", 1); // a key without the admin scope
  auto reader = run_cutover("drill --url " + engine.base_url());
  INFO(reader.output);
  CHECK(reader.exit_code == 1);
  CHECK(reader.output.find("answered 403") != std::string::npos);
  ::unsetenv("CUTOVER_ADMIN_KEY");
  auto none = run_cutover("drill --url " + engine.base_url());
  INFO(none.output);
  CHECK(none.exit_code == 1);
  CHECK(none.output.find("answered 401") != std::string::npos);
}
