// A fallback drill, end to end over real HTTP: the candidate is given a model id that does not exist, and the
// jobs must fall back on their own. The candidate speaks OpenAI's wire format to the fake provider, which answers 400 to a model it does
// not serve; the rollout's candidate falls back on bad_request, so every job is served by the baseline.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"
#include "support/fake_provider_process.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace cutover::testing;

namespace {

/// `candidate` at 100 %, with `model`; `baseline` simulated and healthy.
std::string drill_config(const std::string& fake_url, const std::string& model, const std::string& candidate) {
  return R"(server: {listen: 127.0.0.1:8080}
providers:
  kontext:
    kind: openai
    mode: sync
    base_url: )" + fake_url + R"(/v1
    api_key_env: CUTOVER_TEST_OPENAI_KEY
    model: )" + model + R"(
    timeout: 5s
    cost_per_image: {sd: 0.04, hd: 0.08, 4k: 0.12}
    retry: {max_attempts: 3, backoff: 50ms, max_backoff: 500ms}
  baseline:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}
    simulated: {latency_p50: 5ms, latency_p95: 10ms, failure_rate: 0%, quality: 0.9}
tiers:
  sd: {batch: {max_items: 50, max_wait: 20ms}}
fallback: {kontext: [baseline]}
dead_letter: {max_attempts: 3, retention: 14d}
rollout: {name: drill, baseline: baseline, candidate: )" + candidate + R"(, percent: 100, phases: [{percent: 100}]}
)";
}

} // namespace

TEST_CASE("drill: an invalid model id on the candidate answers 400 and every job succeeds on the baseline") {
  fake_provider_process fake;
  ::setenv("CUTOVER_TEST_OPENAI_KEY", fake.api_key().c_str(), 1); // the engine child inherits it
  temp_dir dir;
  engine_process engine{dir.path.string(), drill_config(fake.url(), "kontext-pro-typo", "kontext")};
  http_client http{engine.base_url()};

  constexpr int jobs = 20;
  std::vector<std::string> bodies;
  for (int i = 0; i < jobs; ++i)
    bodies.push_back(R"({"user_id":"user-)" + std::to_string(i) + R"(","prompt":"kite )" + std::to_string(i) +
                     R"(","tier":"sd"})");
  auto accepted = http.post_concurrently("/v1/jobs", bodies);
  std::vector<std::string> paths;
  for (const auto& a : accepted) {
    REQUIRE(a.status == 202);
    paths.push_back("/v1/jobs/" + json_field(a.body, "id") + "?wait=30");
  }
  auto finals = http.get_concurrently(paths);
  REQUIRE(finals.size() == static_cast<std::size_t>(jobs));
  for (const auto& j : finals) {
    INFO(j.body.substr(0, 600));
    REQUIRE(j.status == 200);
    CHECK(json_field(j.body, "status") == "succeeded");
    CHECK(json_field(j.body, "provider") == "baseline");
  }
  const auto db = dir.file("cutover.db");
  // each job: one attempt rejected at the candidate (a request error, not retried there), one served by the baseline
  CHECK(count_rows(db, "SELECT COUNT(*) FROM attempts WHERE provider='kontext' AND error_class='bad_request'") == jobs);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM attempts WHERE provider='baseline' AND outcome='succeeded'") == jobs);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM attempts") == 2 * jobs);
  // the fake saw the candidate's calls, once per job, all refused with 400
  auto calls = fake.calls();
  REQUIRE(calls.size() == static_cast<std::size_t>(jobs));
  for (const auto& c : calls)
    CHECK(c.status == 400);
}
