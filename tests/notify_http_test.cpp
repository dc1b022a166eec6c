// Webhooks from the real `cutover serve` binary to a receiver on loopback: signed deliveries retried after failed
// tries, a delivery that survives kill -9 between its event and its delivery, and job webhooks refused at
// submission when they name a loopback or private host, and a breaker that closes again and a budget that has room
// again (after a reload) notified. The engine's clock is the wall clock: waits are on
// conditions, never sleeps.
#include "support/db_probe.hpp"
#include "support/engine_process.hpp"
#include "support/virtual_time.hpp"
#include "support/webhook_receiver.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

using namespace cutover::testing;
using namespace std::chrono_literals;

namespace {

const std::string secret = "test-signing-secret";

/// The engine's config with a `notify` section; the secret is in the environment the engine inherits.
std::string config_with(const std::string& notify) {
  ::setenv("CUTOVER_TEST_HOOK_SECRET", secret.c_str(), 1);
  return fast_config(0) + "notify:\n" + notify;
}

std::string job_body(const std::string& webhook) {
  return R"({"user_id": "u1", "prompt": "a kite", "tier": "sd", "webhook_url": ")" + webhook + R"("})";
}

std::string metric_line(const std::string& metrics, const std::string& name) {
  const auto at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? std::string{} : metrics.substr(at + 1, metrics.find('\n', at + 1) - at - 1);
}

} // namespace

TEST_CASE("a job's webhook that fails twice is delivered on the third try, signed, with one event id",
          "[notify][system]") {
  webhook_receiver receiver{secret};
  receiver.fail_next(2);
  temp_dir dir;
  engine_process engine(dir.path.string(), config_with(R"(  job_secret_env: CUTOVER_TEST_HOOK_SECRET
  allow_private: true
  backoff: 50ms
  max_backoff: 200ms
  targets: [{url: ")" + receiver.url("/ops") + R"(", events: [rollout.*], secret_env: CUTOVER_TEST_HOOK_SECRET}]
)"));
  http_client api(engine.base_url());
  const auto accepted = api.post("/v1/jobs", job_body(receiver.url("/jobs")));
  REQUIRE(accepted.status == 202);
  const auto id = json_field(accepted.body, "id");

  auto to_jobs = [](const std::vector<webhook_receiver::delivery>& all) {
    std::vector<webhook_receiver::delivery> out;
    for (const auto& d : all)
      if (d.path == "/jobs")
        out.push_back(d);
    return out;
  };
  REQUIRE(receiver.wait_for([&](const auto& all) { return to_jobs(all).size() >= 3; }, 20s));
  const auto tries = to_jobs(receiver.deliveries());
  REQUIRE(tries.size() == 3);
  CHECK(tries[0].answered == 500);
  CHECK(tries[1].answered == 500);
  CHECK(tries[2].answered == 200);
  for (const auto& d : tries) {
    CHECK(d.signature_ok);
    CHECK(d.event_id.rfind("evt_", 0) == 0);
    CHECK(d.event_id == tries[0].event_id);
    CHECK(d.body == tries[0].body);
  }
  CHECK(tries[0].body.find("\"type\":\"job.succeeded\"") != std::string::npos);
  CHECK(tries[0].body.find("\"job\":\"" + id + "\"") != std::string::npos);
  CHECK_FALSE(signature_valid("another-secret", tries[2].signature, tries[2].body));

  // an operator action reaches the target that wants rollout.*
  REQUIRE(api.post("/v1/rollout/rollback", "").status == 200);
  REQUIRE(receiver.wait_for(
    [](const auto& all) {
      for (const auto& d : all)
        if (d.path == "/ops" && d.body.find("\"type\":\"rollout.operator_rollback\"") != std::string::npos)
          return d.signature_ok && d.answered == 200;
      return false;
    },
    20s));

  const auto metrics = api.get("/metrics").body;
  CHECK(metric_line(metrics, "cutover_notifications_failed_total") == "cutover_notifications_failed_total 2");
  CHECK(metric_line(metrics, "cutover_notifications_expired_total") == "cutover_notifications_expired_total 0");
  CHECK_FALSE(metric_line(metrics, "cutover_notifications_delivered_total").empty());
  CHECK(engine.log().find(secret) == std::string::npos); // the secret is never logged
}

TEST_CASE("a delivery whose engine is killed -9 before it is answered is delivered after the restart",
          "[notify][system]") {
  webhook_receiver receiver{secret};
  receiver.fail_all(true);
  temp_dir dir;
  const auto config = config_with(R"(  job_secret_env: CUTOVER_TEST_HOOK_SECRET
  allow_private: true
  backoff: 50ms
  max_backoff: 100ms
)");
  auto engine = std::make_unique<engine_process>(dir.path.string(), config);
  const int port = engine->port();
  std::string event_id;
  {
    http_client api(engine->base_url());
    REQUIRE(api.post("/v1/jobs", job_body(receiver.url("/jobs"))).status == 202);
    // the event is committed (its delivery was tried) and refused
    REQUIRE(receiver.wait_for([](const auto& all) { return !all.empty(); }, 20s));
    event_id = receiver.deliveries().front().event_id;
  }
  engine->kill9();
  engine.reset();
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM outbox") == 1);
  const auto refused = receiver.deliveries().size();
  REQUIRE(refused >= 1);
  receiver.fail_all(false);
  engine = std::make_unique<engine_process>(dir.path.string(), config, port);
  REQUIRE(receiver.wait_for(
    [](const auto& all) { return !all.empty() && all.back().answered == 200; }, 20s));
  const auto all = receiver.deliveries();
  CHECK(all.size() == refused + 1);
  CHECK(all.back().event_id == event_id);
  CHECK(all.back().signature_ok);
}

TEST_CASE("a job whose webhook_url names a loopback or private host is refused 400 and not stored",
          "[notify][system]") {
  temp_dir dir;
  engine_process engine(dir.path.string(), config_with("  job_secret_env: CUTOVER_TEST_HOOK_SECRET\n"));
  http_client api(engine.base_url());
  for (const std::string& url : {"http://127.0.0.1:" + std::to_string(engine.port()) + "/v1/rollout/rollback",
                                std::string{"http://localhost/x"}, std::string{"http://10.0.0.7/hook"},
                                std::string{"http://169.254.169.254/latest"}, std::string{"ftp://example.com/x"}}) {
    INFO(url);
    const auto r = api.post("/v1/jobs", job_body(url));
    CHECK(r.status == 400);
    CHECK(json_field(json_field(r.body, "error"), "code") == "invalid_webhook_url");
    CHECK(json_field(json_field(r.body, "error"), "field") == "webhook_url");
  }
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM jobs") == 0);
}

TEST_CASE("a job may not name a webhook when notify.job_secret_env is not set", "[notify][system]") {
  temp_dir dir;
  engine_process engine(dir.path.string(), fast_config(0));
  http_client api(engine.base_url());
  const auto r = api.post("/v1/jobs", job_body("https://hooks.example.com/x"));
  CHECK(r.status == 400);
  CHECK(r.body.find("notify.job_secret_env") != std::string::npos);
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM jobs") == 0);
}

TEST_CASE("cutover simulate sends no notifications, even with targets configured and a rollback in its story",
          "[notify][system]") {
  webhook_receiver receiver{secret};
  temp_dir dir;
  std::ifstream in(std::string{CUTOVER_SOURCE_DIR} + "/tests/sim/config.yaml");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf() << "notify:\n  targets: [{url: \"" << receiver.url("/ops")
       << "\", events: [\"*\"], secret_env: CUTOVER_TEST_HOOK_SECRET}]\n";
  ::setenv("CUTOVER_TEST_HOOK_SECRET", secret.c_str(), 1);
  std::ofstream(dir.file("config.yaml")) << text.str();
  const auto cmd = std::string{CUTOVER_BINARY} + " simulate --config " + dir.file("config.yaml") + " --scenario " +
                   CUTOVER_SOURCE_DIR + "/tests/sim/regresses.yaml --out " + dir.file("out") + " 2>" +
                   dir.file("simulate.log");
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream summary(dir.file("out/summary.json"));
  std::stringstream s;
  s << summary.rdbuf();
  REQUIRE(json_field(s.str(), "rollbacks") != "0"); // a decision serve would have notified
  REQUIRE_FALSE(json_field(s.str(), "rollbacks").empty());
  CHECK(receiver.deliveries().empty());
  std::ifstream log(dir.file("simulate.log"));
  std::stringstream l;
  l << log.rdbuf();
  CHECK(l.str().find("event=notify_") == std::string::npos);
}

TEST_CASE("a candidate's breaker that opens and a provider's budget that stops reach the targets that want them, "
          "signed",
          "[notify][system]") {
  webhook_receiver receiver{secret};
  temp_dir dir;
  // Every gemini call fails (sync, no retry inside gemini), so its breaker opens after 4 calls; its jobs fall back to
  // photomaker. Photomaker's stop line (90 % of 0.6 USD) leaves room for its dearest job (4 images of 4k, 0.32)
  // at first, and not after two jobs of 4 sd images (0.32 spent): it stops, and sdxl takes the rest.
  auto config = fast_config(100);
  const auto sim_at = config.find("failure_rate: 0%");
  REQUIRE(sim_at != std::string::npos);
  config.replace(sim_at, 16, "failure_rate: 100%");
  const auto mode_at = config.find("mode: async");
  REQUIRE(mode_at != std::string::npos);
  config.replace(mode_at, 11, "mode: sync"); // a sync call's failure is the call's own: the breaker counts it
  const auto polling_at = config.find("    polling:");
  REQUIRE(polling_at != std::string::npos);
  config.erase(polling_at, config.find('\n', polling_at) + 1 - polling_at);
  const auto photomaker_at = config.find("  photomaker:");
  REQUIRE(photomaker_at != std::string::npos);
  config.insert(photomaker_at, "    retry: {max_attempts: 1}\n"
                               "    breaker: {failure_rate: 50%, min_requests: 4, window: 60s, open_for: 10m, "
                               "half_open_probes: 1}\n");
  config += "budget: {stop_at: 90%, day_starts: \"" + day_starts_far_from_now() + "\", providers: {photomaker: 0.6}}\n";
  config += "notify:\n  backoff: 50ms\n  max_backoff: 100ms\n  targets: [{url: \"" + receiver.url("/ops") +
            "\", events: [breaker.*, budget.*], secret_env: CUTOVER_TEST_HOOK_SECRET}]\n";
  ::setenv("CUTOVER_TEST_HOOK_SECRET", secret.c_str(), 1);
  engine_process engine(dir.path.string(), config);
  http_client api(engine.base_url());
  std::vector<std::string> providers;
  for (int i = 0; i < 8; ++i) { // one at a time: each job is a call of its own
    const auto r = api.post("/v1/jobs", R"({"user_id": "u)" + std::to_string(i) + R"(", "prompt": "p", "tier": "sd", "n": 4})");
    REQUIRE(r.status == 202);
    const auto job = api.get("/v1/jobs/" + json_field(r.body, "id") + "?wait=20").body;
    REQUIRE(json_field(job, "status") == "succeeded"); // by fallback
    providers.push_back(json_field(job, "provider"));
  }
  REQUIRE(providers.size() == 8);
  CHECK(providers.front() == "photomaker");
  CHECK(providers.back() == "sdxl");

  auto find = [](const std::vector<webhook_receiver::delivery>& all, const std::string& type) {
    for (const auto& d : all)
      if (d.body.find("\"type\":\"" + type + "\"") != std::string::npos)
        return d;
    return webhook_receiver::delivery{};
  };
  REQUIRE(receiver.wait_for(
    [&](const auto& all) { return !find(all, "breaker.open").body.empty() && !find(all, "budget.stopped").body.empty(); },
    20s));
  const auto all = receiver.deliveries();
  const auto open = find(all, "breaker.open");
  CHECK(open.signature_ok);
  CHECK(open.path == "/ops");
  CHECK(open.body.find("\"provider\":\"gemini\"") != std::string::npos);
  const auto stopped = find(all, "budget.stopped");
  CHECK(stopped.signature_ok);
  CHECK(stopped.body.find("\"provider\":\"photomaker\"") != std::string::npos);
  CHECK(stopped.body.find("\"spent_and_reserved_usd\":0.320000") != std::string::npos);
  CHECK(stopped.event_id != open.event_id);
  // the target asked for breaker and budget events only: no job or rollout event reached it
  for (const auto& d : all) {
    INFO(d.body);
    CHECK((d.body.find("\"type\":\"breaker.") != std::string::npos ||
           d.body.find("\"type\":\"budget.") != std::string::npos));
  }
}

TEST_CASE("the controller's promote and complete, an operator's promote, step down and resume, and a reload reach a "
          "rollout.* target, signed",
          "[notify][system]") {
  webhook_receiver receiver{secret};
  temp_dir dir;
  // two phases; the first tick (1 s) enters phase 0 by itself (rollout.promote); the second phase is the last
  auto config = config_with(R"(  backoff: 50ms
  max_backoff: 200ms
  targets: [{url: ")" + receiver.url("/ops") + R"(", events: [rollout.*], secret_env: CUTOVER_TEST_HOOK_SECRET}]
)");
  const auto phases_at = config.find("  phases: [{percent: 100}]");
  REQUIRE(phases_at != std::string::npos);
  config.replace(phases_at, 26, "  phases: [{percent: 50, min_duration: 7d}, {percent: 100}]");
  engine_process engine(dir.path.string(), config);
  http_client api(engine.base_url());

  auto delivered = [&](const std::string& type) {
    return receiver.wait_for(
      [&](const auto& all) {
        for (const auto& d : all)
          if (d.body.find("\"type\":\"" + type + "\"") != std::string::npos)
            return d.signature_ok && d.answered == 200 && d.path == "/ops";
        return false;
      },
      20s);
  };
  CHECK(delivered("rollout.promote")); // the controller's own, at its first tick
  REQUIRE(json_field(api.get("/v1/rollout").body, "percent") == "50");
  REQUIRE(api.post("/v1/rollout/promote", "").status == 200); // to the last phase: the next tick completes it
  CHECK(delivered("rollout.operator_promote"));
  CHECK(delivered("rollout.complete"));
  REQUIRE(api.post("/v1/rollout/percent", R"({"percent": 50})").status == 200);
  CHECK(delivered("rollout.step_down"));
  REQUIRE(api.post("/v1/rollout/resume", "").status == 200);
  CHECK(delivered("rollout.operator_resume"));
  auto reloaded = config;
  reloaded.replace(reloaded.find("max_body_bytes: 4096"), 20, "max_body_bytes: 8192");
  engine.write_config(reloaded);
  REQUIRE(api.post("/v1/admin/reload", "").status == 200);
  CHECK(delivered("rollout.reload"));
  // each decision is one event, delivered once (the receiver answered 2xx at once)
  std::map<std::string, int> ids;
  for (const auto& d : receiver.deliveries())
    ++ids[d.event_id];
  REQUIRE(!ids.empty());
  for (const auto& [id, n] : ids) {
    INFO(id);
    CHECK(n == 1);
  }
}

TEST_CASE("a breaker that closes again and a budget that has room again after a reload reach the targets, signed",
          "[notify][system]") {
  webhook_receiver receiver{secret};
  temp_dir dir;
  // gemini fails 70 % of its sync calls (seeded): its breaker opens, and after open_for a probe that succeeds closes
  // it. Photomaker's stop line (90 % of 0.6 USD) stops it after two jobs of 4 sd images; a reload that raises its
  // budget gives it room again.
  auto base = fast_config(100);
  const auto sim_at = base.find("failure_rate: 0%");
  REQUIRE(sim_at != std::string::npos);
  base.replace(sim_at, 16, "failure_rate: 70%");
  const auto mode_at = base.find("mode: async");
  REQUIRE(mode_at != std::string::npos);
  base.replace(mode_at, 11, "mode: sync");
  const auto polling_at = base.find("    polling:");
  REQUIRE(polling_at != std::string::npos);
  base.erase(polling_at, base.find('\n', polling_at) + 1 - polling_at);
  const auto photomaker_at = base.find("  photomaker:");
  REQUIRE(photomaker_at != std::string::npos);
  base.insert(photomaker_at, "    retry: {max_attempts: 1}\n"
                             "    breaker: {failure_rate: 50%, min_requests: 4, window: 60s, open_for: 1s, "
                             "half_open_probes: 1}\n");
  const auto notify = "notify:\n  backoff: 50ms\n  max_backoff: 100ms\n  targets: [{url: \"" + receiver.url("/ops") +
                      "\", events: [breaker.*, budget.*], secret_env: CUTOVER_TEST_HOOK_SECRET}]\n";
  const auto day = day_starts_far_from_now();
  auto with_budget = [&](const std::string& usd) {
    return base + "budget: {stop_at: 90%, day_starts: \"" + day + "\", providers: {photomaker: " + usd + "}}\n" + notify;
  };
  ::setenv("CUTOVER_TEST_HOOK_SECRET", secret.c_str(), 1);
  engine_process engine(dir.path.string(), with_budget("0.6"));
  http_client api(engine.base_url());
  auto find = [](const std::vector<webhook_receiver::delivery>& all, const std::string& type) {
    for (const auto& d : all)
      if (d.body.find("\"type\":\"" + type + "\"") != std::string::npos)
        return d;
    return webhook_receiver::delivery{};
  };
  auto has = [&](const std::string& type) { return !find(receiver.deliveries(), type).body.empty(); };
  auto one_job = [&](int i) { // one at a time: each job is a call of its own
    const auto r = api.post("/v1/jobs", R"({"user_id": "u)" + std::to_string(i) + R"(", "prompt": "p", "tier": "sd", "n": 4})");
    REQUIRE(r.status == 202);
    api.get("/v1/jobs/" + json_field(r.body, "id") + "?wait=20");
  };
  int i = 0;
  for (; i < 40 && !(has("breaker.open") && has("budget.stopped")); ++i)
    one_job(i);
  REQUIRE(receiver.wait_for(
    [&](const auto& all) { return !find(all, "breaker.open").body.empty() && !find(all, "budget.stopped").body.empty(); },
    20s));

  engine.write_config(with_budget("100"));
  REQUIRE(api.post("/v1/admin/reload", "").status == 200);
  REQUIRE(receiver.wait_for([&](const auto& all) { return !find(all, "budget.resumed").body.empty(); }, 20s));
  // jobs keep coming; once open_for has passed, a probe that succeeds closes the breaker
  for (int more = 0; more < 200 && !has("breaker.closed"); ++more)
    one_job(++i);
  REQUIRE(receiver.wait_for([&](const auto& all) { return !find(all, "breaker.closed").body.empty(); }, 20s));
  const auto all = receiver.deliveries();
  const auto closed = find(all, "breaker.closed");
  CHECK(closed.signature_ok);
  CHECK(closed.path == "/ops");
  CHECK(closed.body.find("\"provider\":\"gemini\"") != std::string::npos);
  CHECK(closed.body.find("\"state\":\"closed\"") != std::string::npos);
  const auto resumed = find(all, "budget.resumed");
  CHECK(resumed.signature_ok);
  CHECK(resumed.body.find("\"provider\":\"photomaker\"") != std::string::npos);
  CHECK(resumed.body.find("\"stop_line_usd\":90.000000") != std::string::npos);
  CHECK(resumed.event_id != closed.event_id);
}
