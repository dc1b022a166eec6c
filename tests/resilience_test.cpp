// End to end over real HTTP: the engine binary drives the OpenAI wire format of the fake provider, which fails
// 30 % of calls with 500 and 10 % with 429 + Retry-After. Every job must end succeeded (retries, then the
// fallback chain) or dead-lettered; none lost, none paid twice, and no retry before the time a 429 gave.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"
#include "support/fake_provider_process.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <set>

using namespace cutover::testing;

namespace {

std::string resilience_config(const std::string& fake_url) {
  return R"(server: {listen: 127.0.0.1:8080}
providers:
  candidate:
    kind: openai
    mode: sync
    base_url: )" + fake_url + R"(/v1
    api_key_env: CUTOVER_TEST_OPENAI_KEY
    model: gpt-image-1
    timeout: 5s
    cost_per_image: {sd: 0.04, hd: 0.08, 4k: 0.12}
    retry: {max_attempts: 3, backoff: 50ms, max_backoff: 500ms}
    breaker: {failure_rate: 80%, min_requests: 20, window: 60s, open_for: 2s, half_open_probes: 3}
  baseline:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}
    simulated: {latency_p50: 5ms, latency_p95: 10ms, failure_rate: 0%, quality: 0.9}
tiers:
  sd: {batch: {max_items: 50, max_wait: 20ms}}
fallback: {candidate: [baseline]}
dead_letter: {max_attempts: 3, retention: 14d}
rollout: {name: resilience, baseline: baseline, candidate: candidate, percent: 100, phases: [{percent: 100}]}
)";
}

} // namespace

TEST_CASE("with 30 percent 500s and 10 percent 429s at the candidate every job ends served once and Retry-After holds") {
  fake_provider_process::options fo;
  fo.faults = R"({"seed": 11, "openai": {"error_rates": {"500": 0.3, "429": 0.1}, "retry_after_s": 1}})";
  fake_provider_process fake{fo};
  ::setenv("CUTOVER_TEST_OPENAI_KEY", fake.api_key().c_str(), 1); // the engine child inherits it
  temp_dir dir;
  engine_process engine{dir.path.string(), resilience_config(fake.url())};
  http_client http{engine.base_url()};

  constexpr int jobs = 300;
  std::vector<std::string> bodies;
  for (int i = 0; i < jobs; ++i)
    bodies.push_back(R"({"user_id":"user-)" + std::to_string(i) + R"(","prompt":"kite )" + std::to_string(i) +
                     R"(","tier":"sd"})");
  auto accepted = http.post_concurrently("/v1/jobs", bodies);
  std::vector<std::string> paths;
  for (const auto& a : accepted) {
    REQUIRE(a.status == 202);
    paths.push_back("/v1/jobs/" + json_field(a.body, "id") + "?wait=60");
  }
  auto finals = http.get_concurrently(paths);
  std::map<std::string, std::string> provider_of; // user -> provider that served
  int succeeded = 0, dead = 0;
  for (const auto& j : finals) {
    REQUIRE(j.status == 200);
    const auto status = json_field(j.body, "status");
    INFO(j.body.substr(0, 400));
    CHECK((status == "succeeded" || status == "dead_lettered"));
    succeeded += status == "succeeded";
    dead += status == "dead_lettered";
    if (status == "succeeded") {
      const auto provider = json_field(j.body, "provider");
      provider_of[json_field(j.body, "user_id")] = provider;
      // paid once: the price of exactly one success at the provider that served it
      CHECK(j.body.find(provider == "candidate" ? "\"cost_usd\":0.040000" : "\"cost_usd\":0.020000") !=
            std::string::npos);
    }
  }
  int at_candidate = 0;
  for (const auto& [user, provider] : provider_of)
    at_candidate += provider == "candidate";
  INFO("succeeded " << succeeded << " (" << at_candidate << " at the candidate), dead-lettered " << dead);
  CHECK(succeeded + dead == jobs);
  // none lost: every accepted job is in the store, final, with exactly one succeeded attempt when it succeeded
  const auto db = dir.file("cutover.db");
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs") == jobs);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('succeeded','dead_lettered')") == 0);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM (SELECT job_id FROM attempts WHERE outcome='succeeded' "
                       "GROUP BY job_id HAVING COUNT(*) > 1)") == 0);

  // the fake's view: per user, the calls in order
  std::map<std::string, std::vector<fake_call>> calls_of;
  int answered_429 = 0, answered_500 = 0;
  for (auto& c : fake.calls()) {
    answered_429 += c.status == 429;
    answered_500 += c.status == 500;
    calls_of[c.key].push_back(c);
  }
  CHECK(answered_500 > 0);
  CHECK(answered_429 > 0);
  int retried_after_429 = 0;
  for (const auto& [user, calls] : calls_of) {
    int paid = 0;
    for (std::size_t i = 0; i < calls.size(); ++i) {
      paid += calls[i].status == 200;
      if (calls[i].status == 429 && i + 1 < calls.size()) {
        ++retried_after_429;
        INFO(user << ": 429 at " << calls[i].at_ms << " ms, next call at " << calls[i + 1].at_ms << " ms");
        CHECK(calls[i + 1].at_ms - calls[i].at_ms >= 1000); // Retry-After: 1
      }
    }
    CHECK(paid <= 1);                                                 // never paid twice at the candidate
    CHECK((paid == 1) == (provider_of.count(user) && provider_of[user] == "candidate"));
  }
  CHECK(retried_after_429 > 0);
}

TEST_CASE("SIGTERM lets a call on the wire finish and stores it, refuses new jobs with 503, and exits 0") {
  fake_provider_process::options fo;
  fo.faults = R"({"openai": {"latency_ms": 1500}})";
  fake_provider_process fake{fo};
  ::setenv("CUTOVER_TEST_OPENAI_KEY", fake.api_key().c_str(), 1);
  temp_dir dir;
  auto config = resilience_config(fake.url());
  const std::string window = "{max_items: 50, max_wait: 20ms}";
  config.replace(config.find(window), window.size(), "{max_items: 1, max_wait: 20ms}");
  engine_process engine{dir.path.string(), config};
  http_client http{engine.base_url()};
  auto first = http.post("/v1/jobs", R"({"user_id":"ada","prompt":"a lighthouse","tier":"sd"})");
  REQUIRE(first.status == 202);
  const auto id = json_field(first.body, "id");
  REQUIRE(fake.calls(0, 20000).size() == 1); // the fake answers once the call came: it is on the wire (1.5 s)

  engine.signal(SIGTERM);
  REQUIRE(engine.wait_for_log("event=draining", std::chrono::seconds(20)));
  CHECK(http.get("/readyz").status == 503);
  auto late = http.post("/v1/jobs", R"({"user_id":"bob","prompt":"a harbour","tier":"sd"})");
  CHECK(late.status == 503);
  CHECK(json_field(json_field(late.body, "error"), "code") == "draining");

  CHECK(engine.terminate() == 0);
  const auto log = engine.log();
  CHECK(log.find("event=drained providers_timed_out=0 batches_held=0 flushed=yes") != std::string::npos);
  const auto db = dir.file("cutover.db");
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs") == 1); // bob's job was never stored
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs WHERE status='succeeded' AND provider='candidate'") == 1);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM attempts WHERE outcome='running'") == 0);

  // the next start has nothing to run again: the call was made once, and paid once
  engine_process again{dir.path.string(), config};
  http_client http2{again.base_url()};
  auto job = http2.get("/v1/jobs/" + id + "?wait=5");
  CHECK(json_field(job.body, "status") == "succeeded");
  CHECK(fake.call_count() == 1);
}
