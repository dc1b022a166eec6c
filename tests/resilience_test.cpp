// End to end over real HTTP: the engine binary drives the OpenAI wire format of the fake provider, which fails
// 30 % of calls with 500 and 10 % with 429 + Retry-After, or 90 % with 500 so that its breaker opens. The
// baseline never fails, so every job must end succeeded (retries, then the fallback chain), charged exactly the
// price of the one provider that served it; none lost, none paid twice, and no retry before the time a 429 gave.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"
#include "support/fake_provider_process.hpp"

#include <catch2/catch.hpp>
#include <cpprest/json.h>

#include <chrono>
#include <cmath>
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

constexpr long long candidate_price = 40'000, baseline_price = 20'000; // sd, one image, micro-dollars

long long micros_of(const web::json::value& usd) { return std::llround(usd.as_double() * 1e6); }

/// Submits `jobs` jobs of distinct users at once and returns each one's final state (GET ...?wait=60), parsed.
std::vector<web::json::value> run_jobs(http_client& http, int jobs) {
  std::vector<std::string> bodies;
  for (int i = 0; i < jobs; ++i)
    bodies.push_back(R"({"user_id":"user-)" + std::to_string(i) + R"(","prompt":"kite )" + std::to_string(i) +
                     R"(","tier":"sd"})");
  std::vector<std::string> paths;
  for (const auto& a : http.post_concurrently("/v1/jobs", bodies)) {
    REQUIRE(a.status == 202);
    paths.push_back("/v1/jobs/" + json_field(a.body, "id") + "?wait=60");
  }
  std::vector<web::json::value> finals;
  for (const auto& j : http.get_concurrently(paths)) {
    REQUIRE(j.status == 200);
    finals.push_back(web::json::value::parse(j.body));
  }
  REQUIRE(finals.size() == static_cast<std::size_t>(jobs));
  return finals;
}

/// Every job succeeded (the baseline never fails: a dead letter means a broken fallback chain) and its total cost
/// is exactly one image at the provider that served it, which is also the sum of its attempts' costs. Returns
/// user -> provider that served.
std::map<std::string, std::string> check_served_once(const std::vector<web::json::value>& finals) {
  std::map<std::string, std::string> provider_of;
  int dead = 0;
  for (const auto& j : finals) {
    INFO(j.serialize().substr(0, 600));
    const auto status = j.at("status").as_string();
    CHECK(status == "succeeded");
    dead += status == "dead_lettered";
    if (status != "succeeded")
      continue;
    const auto provider = j.at("provider").as_string();
    provider_of[j.at("user_id").as_string()] = provider;
    // paid once: the price of exactly one success at the provider that served it
    CHECK(micros_of(j.at("cost_usd")) == (provider == "candidate" ? candidate_price : baseline_price));
    long long attempts_cost = 0;
    for (const auto& a : j.at("attempts").as_array())
      attempts_cost += micros_of(a.at("cost_usd"));
    CHECK(attempts_cost == micros_of(j.at("cost_usd")));
  }
  CHECK(dead == 0);
  return provider_of;
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
  const auto finals = run_jobs(http, jobs);
  auto provider_of = check_served_once(finals);
  int at_candidate = 0;
  for (const auto& [user, provider] : provider_of)
    at_candidate += provider == "candidate";
  INFO("succeeded " << provider_of.size() << " (" << at_candidate << " at the candidate)");
  CHECK(provider_of.size() == static_cast<std::size_t>(jobs));
  // none lost: every accepted job is in the store, final, with exactly one succeeded attempt when it succeeded
  const auto db = dir.file("cutover.db");
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs") == jobs);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs WHERE status <> 'succeeded'") == 0);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM (SELECT job_id FROM attempts WHERE outcome='succeeded' "
                       "GROUP BY job_id HAVING COUNT(*) > 1)") == 0);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs j WHERE j.cost_micros <> "
                       "(SELECT SUM(a.cost_micros) FROM attempts a WHERE a.job_id = j.id)") == 0);

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
  REQUIRE(!calls_of.empty());
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

TEST_CASE("with 90 percent 500s at the candidate its breaker opens and every job is still served once") {
  fake_provider_process::options fo;
  fo.faults = R"({"seed": 12, "openai": {"error_rates": {"500": 0.9}}})";
  fake_provider_process fake{fo};
  ::setenv("CUTOVER_TEST_OPENAI_KEY", fake.api_key().c_str(), 1);
  temp_dir dir;
  engine_process engine{dir.path.string(), resilience_config(fake.url())};
  http_client http{engine.base_url()};

  constexpr int jobs = 300;
  auto provider_of = check_served_once(run_jobs(http, jobs));
  CHECK(provider_of.size() == static_cast<std::size_t>(jobs));
  // the breaker tripped (failure rate above 80 % over 20 calls), and while open it turned calls away
  const auto log = engine.log();
  INFO(log.substr(0, 2000));
  CHECK(log.find("event=breaker provider=candidate from=closed to=open") != std::string::npos);
  const auto db = dir.file("cutover.db");
  CHECK(count_rows(db, "SELECT COUNT(*) FROM breaker_trips WHERE provider='candidate'") > 0);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM attempts WHERE provider='candidate' AND error_class='breaker_open'") > 0);
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs WHERE status <> 'succeeded'") == 0);
  // a job refused by the open breaker made no call: the candidate answered 200 at most once per user
  std::map<std::string, int> paid;
  for (const auto& c : fake.calls())
    paid[c.key] += c.status == 200;
  REQUIRE(!paid.empty());
  for (const auto& [user, n] : paid) {
    INFO(user);
    CHECK(n <= 1);
    CHECK((n == 1) == (provider_of[user] == "candidate"));
  }
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
