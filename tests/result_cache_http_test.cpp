// The result cache over real HTTP on loopback against the real binary, with real SQLite files: with
// cache.enabled, a tenant's repeat of the same prompt, tier and n within cache.ttl is answered from the stored
// images without a provider call (cached: true, provider "cache", cost 0, a hit counted on /metrics, not a sample
// of the rollout's gates); another tenant, another request, an answer older than cache.ttl, or the cache off
// (the default) call a provider as before.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

using namespace cutover::testing;

namespace {

const std::string key_a = "cache-tenant-a-key-01", key_b = "cache-tenant-b-key-01", key_ops = "cache-ops-key-0001";

std::map<std::string, std::string> as(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

/// percent 100: every job goes to the candidate (gemini, async), whose figures GET /v1/rollout shows.
std::string cache_config(const temp_dir& dir, bool enabled = true) {
  std::ofstream(dir.file("keys.yaml"))
    << "keys:\n"
       "  - {name: shop-a, key: \"" + key_a + "\", scopes: [submit, read, admin], tenant: a}\n"
       "  - {name: shop-b, key: \"" + key_b + "\", scopes: [submit, read, admin], tenant: b}\n"
       "  - {name: ops, key: \"" + key_ops + "\", scopes: [read, admin]}\n"; // the rollout is no tenant's
  return fast_config(100) + "auth: {keys_file: " + dir.file("keys.yaml") + ", metrics_open: true}\n" +
         (enabled ? "cache: {enabled: true, ttl: 1h}\n" : "");
}

struct cache_engine {
  temp_dir dir;
  engine_process engine;
  http_client http{engine.base_url()};
  explicit cache_engine(bool enabled = true) : engine{dir.path.string(), cache_config(dir, enabled)} {}

  /// Submits a job as the tenant of `key` and returns its body once final.
  std::string final_job(const std::string& key, const std::string& prompt, const std::string& tier = "sd", int n = 1) {
    auto made = http.post("/v1/jobs",
                          R"({"user_id":"u1","prompt":")" + prompt + R"(","tier":")" + tier + R"(","n":)" +
                            std::to_string(n) + "}",
                          "application/json", as(key));
    REQUIRE(made.status == 202);
    auto got = http.send("GET", "/v1/jobs/" + json_field(made.body, "id") + "?wait=20", as(key));
    REQUIRE(got.status == 200);
    REQUIRE(json_field(got.body, "status") == "succeeded");
    return got.body;
  }
  long long rows(const std::string& sql) const { return count_rows(dir.file("cutover.db"), sql); }
  std::string metrics() { return http.get("/metrics").body; }
  /// The candidate cohort's figures of the current phase, from GET /v1/rollout.
  std::string candidate_figures() {
    auto r = http.send("GET", "/v1/rollout", as(key_ops));
    REQUIRE(r.status == 200);
    return json_field(json_field(r.body, "cohorts"), "candidate");
  }
  /// Waits (at most 10 s) until the candidate cohort counts `samples` samples; whether it did.
  bool samples_reach(long long samples) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      if (std::stoll(json_field(candidate_figures(), "samples")) >= samples)
        return true;
      std::this_thread::yield();
    }
    return false;
  }
};

long long number_of(const std::string& id) { return std::stoll(id.substr(1)); } // "j12" -> 12

/// The image digests a job's result names, in order.
std::vector<std::string> digests_of(const std::string& job) {
  std::vector<std::string> out;
  for (auto at = job.find("/v1/images/"); at != std::string::npos; at = job.find("/v1/images/", at + 1))
    out.push_back(job.substr(at + 11, 64));
  return out;
}

} // namespace

TEST_CASE("cache: a tenant's repeat is answered from the store: cached, provider cache, free, counted, no call") {
  cache_engine e;
  const auto first = e.final_job(key_a, "a red kite", "hd", 2);
  CHECK(json_field(first, "provider") == "gemini");
  CHECK(first.find("\"cached\":false") != std::string::npos);
  const auto made = digests_of(first);
  REQUIRE(made.size() == 2);
  const auto calls = e.rows("SELECT COUNT(*) FROM attempts");
  const auto spent = e.rows("SELECT SUM(cost_micros) FROM attempts");
  CHECK(spent == 2 * 39'000);

  const auto repeat = e.final_job(key_a, "a red kite", "hd", 2);
  CHECK(json_field(repeat, "provider") == "cache");
  CHECK(repeat.find("\"cached\":true") != std::string::npos);
  CHECK(std::stod(json_field(repeat, "cost_usd")) == 0.0);
  CHECK(repeat.find("\"attempts\":[]") != std::string::npos);
  CHECK(digests_of(repeat) == made); // the same files
  CHECK(json_field(json_field(repeat, "route"), "reason") == "cache: the result of job " + json_field(first, "id"));
  // no provider was called and nothing was charged
  CHECK(e.rows("SELECT COUNT(*) FROM attempts") == calls);
  CHECK(e.rows("SELECT SUM(cost_micros) FROM attempts") == spent);
  CHECK(e.rows("SELECT cost_micros FROM jobs WHERE id = " + std::to_string(number_of(json_field(repeat, "id")))) == 0);
  CHECK(e.metrics().find("\n" "cutover_image_cache_hits_total 1\n") != std::string::npos);
  // the cached images are served like any other
  const auto url = repeat.substr(repeat.find("/v1/images/"), repeat.find('"', repeat.find("/v1/images/")) -
                                                               repeat.find("/v1/images/"));
  CHECK(e.http.get(url).status == 200);
}

TEST_CASE("cache: another tenant, prompt, tier or n is not a repeat, and a cached answer is never a source") {
  cache_engine e;
  const auto first = e.final_job(key_a, "a kite");
  CHECK(json_field(e.final_job(key_b, "a kite"), "provider") == "gemini");       // tenant b: its own call
  CHECK(json_field(e.final_job(key_a, "a kite!"), "provider") == "gemini");        // another prompt
  CHECK(json_field(e.final_job(key_a, "a kite", "hd"), "provider") == "gemini");  // another tier
  CHECK(json_field(e.final_job(key_a, "a kite", "sd", 2), "provider") == "gemini"); // another n
  const auto hit = e.final_job(key_a, "a kite");
  CHECK(json_field(hit, "provider") == "cache");
  // a second repeat names the provider's answer, not the first repeat
  const auto again = e.final_job(key_a, "a kite");
  CHECK(json_field(json_field(again, "route"), "reason") == "cache: the result of job " + json_field(first, "id"));
  CHECK(e.metrics().find("\n" "cutover_image_cache_hits_total 2\n") != std::string::npos);
  CHECK(e.rows("SELECT COUNT(*) FROM attempts") == 5);
}

TEST_CASE("cache: an answer made longer than cache.ttl ago is not used") {
  cache_engine e;
  const auto first = e.final_job(key_a, "an old kite");
  {
    // the first job ended two hours ago (cache.ttl is 1 h): its row says so
    SQLite::Database db(e.dir.file("cutover.db"), SQLite::OPEN_READWRITE);
    db.setBusyTimeout(5000);
    db.exec("UPDATE jobs SET updated_at = updated_at - 7200000000 WHERE id = " +
            std::to_string(number_of(json_field(first, "id"))));
  }
  const auto repeat = e.final_job(key_a, "an old kite");
  CHECK(json_field(repeat, "provider") == "gemini");
  CHECK(repeat.find("\"cached\":false") != std::string::npos);
  CHECK(e.metrics().find("\n" "cutover_image_cache_hits_total 0\n") != std::string::npos);
}

TEST_CASE("cache: a cached answer is not a sample of the rollout's gates") {
  cache_engine e;
  e.final_job(key_a, "a gate kite");
  REQUIRE(e.samples_reach(1));
  CHECK(json_field(e.final_job(key_a, "a gate kite"), "provider") == "cache");
  e.final_job(key_a, "another gate kite"); // a provider's answer after the cached one
  REQUIRE(e.samples_reach(2));
  const auto figures = e.candidate_figures();
  CHECK(std::stoll(json_field(figures, "samples")) == 2);
  CHECK(std::stoll(json_field(figures, "user_wait_samples")) == 2);
}

TEST_CASE("cache: off by default: a repeat calls the provider again, and the hit counter is there at 0") {
  cache_engine e{false};
  CHECK(e.metrics().find("# TYPE cutover_image_cache_hits_total counter") != std::string::npos);
  e.final_job(key_a, "a kite");
  const auto repeat = e.final_job(key_a, "a kite");
  CHECK(json_field(repeat, "provider") == "gemini");
  CHECK(repeat.find("\"cached\":false") != std::string::npos);
  CHECK(e.rows("SELECT COUNT(*) FROM attempts") == 2);
  CHECK(e.metrics().find("\n" "cutover_image_cache_hits_total 0\n") != std::string::npos);
}
