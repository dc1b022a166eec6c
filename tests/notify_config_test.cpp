// The `notify` section of config.yaml: its keys, defaults and bounds, and every mistake reported with its line
// and key path (nothing loads while one is there).
#include "adapters/config/loader.hpp"

#include <catch2/catch.hpp>

using namespace cutover;
using namespace std::chrono_literals;
using config_adapter::load_config_text;

namespace {

const std::string minimal = R"(providers:
  a: {kind: simulated, cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}}
  b: {kind: simulated, cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}}
rollout: {name: r, baseline: a, candidate: b}
)";

/// "line: path: message" of each error.
std::vector<std::string> errors_of(const std::string& notify) {
  std::vector<std::string> out;
  for (const auto& e : load_config_text(minimal + notify, "c.yaml").errors)
    out.push_back(std::to_string(e.line) + ": " + e.path + ": " + e.message);
  return out;
}

bool has_error(const std::vector<std::string>& errors, const std::string& part) {
  for (const auto& e : errors)
    if (e.find(part) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("without a notify section nobody is told and deliveries would live 24 h", "[notify][config]") {
  auto r = load_config_text(minimal, "c.yaml");
  REQUIRE(r.errors.empty());
  CHECK(r.config->notify.targets.empty());
  CHECK(r.config->notify.job_secret_env.empty());
  CHECK_FALSE(r.config->notify.allow_private);
  CHECK(r.config->notify.max_age == 24h);
}

TEST_CASE("a notify section loads its targets, secrets and retry settings", "[notify][config]") {
  auto r = load_config_text(minimal + R"(notify:
  targets:
    - {url: "https://ops.example.com/hook", events: [rollout.*, budget.*, breaker.*, job.dead_lettered], secret_env: OPS_HOOK_SECRET}
    - {url: "http://10.0.0.5:9000/alerts", secret_env: PAGER_SECRET}
  job_secret_env: JOB_HOOK_SECRET
  allow_private: true
  max_age: 6h
  backoff: 2s
  max_backoff: 5m
  timeout: 3s
)",
                            "c.yaml");
  REQUIRE(r.errors.empty());
  const auto& n = r.config->notify;
  REQUIRE(n.targets.size() == 2);
  CHECK(n.targets[0].events == std::vector<std::string>{"rollout.*", "budget.*", "breaker.*", "job.dead_lettered"});
  CHECK(n.targets[0].secret_env == "OPS_HOOK_SECRET");
  CHECK(n.targets[1].url == "http://10.0.0.5:9000/alerts"); // an operator's own receiver may be private
  CHECK(n.targets[1].events.empty());
  CHECK(n.job_secret_env == "JOB_HOOK_SECRET");
  CHECK(n.allow_private);
  CHECK(n.max_age == 6h);
  CHECK(n.backoff == 2s);
  CHECK(n.max_backoff == 5min);
  CHECK(n.timeout == 3s);
}

TEST_CASE("mistakes in notify are reported with their line and key path", "[notify][config]") {
  const auto errors = errors_of(R"(notify:
  targets:
    - {url: "ftp://ops.example.com/hook", events: [rolout.*], secret_env: OPS_SECRET}
    - {url: "https://ok.example.com/"}
  job_secret_env: "not a name"
  max_age: 0s
  retries: 3
)");
  CHECK(has_error(errors, "7: notify.targets[0].url: url must be an http:// or https:// URL"));
  CHECK(has_error(errors, "7: notify.targets[0].events[0]: must be \"*\", \"<group>.*\""));
  CHECK(has_error(errors, "8: notify.targets[1].secret_env: missing required key"));
  CHECK(has_error(errors, "9: notify.job_secret_env: must name an environment variable"));
  CHECK(has_error(errors, "10: notify.max_age:"));
  CHECK(has_error(errors, "11: notify.retries: unknown key"));
  CHECK(errors.size() == 6);
}

TEST_CASE("notify.backoff may not exceed notify.max_backoff", "[notify][config]") {
  const auto errors = errors_of("notify: {backoff: 10m, max_backoff: 1m}\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("notify.backoff (10m) must not exceed notify.max_backoff (1m)") != std::string::npos);
}
