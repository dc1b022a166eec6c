// The rollout over real HTTP against the real binary: operator actions and the kill switch, the decision audit,
// job feedback, admin keys, and configuration reloads (POST /v1/admin/reload and SIGHUP).

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>

using namespace cutover::testing;

namespace {

std::string job(const std::string& user) {
  return R"({"user_id":")" + user + R"(","prompt":"a kite","tier":"sd"})";
}

/// The provider and route reason a user's new job gets.
std::pair<std::string, std::string> route_of(http_client& http, const std::string& user) {
  auto a = http.post("/v1/jobs", job(user));
  REQUIRE(a.status == 202);
  auto j = http.get("/v1/jobs/" + json_field(a.body, "id") + "?wait=20");
  return {json_field(j.body, "provider"), json_field(json_field(j.body, "route"), "reason")};
}

std::string newest_decision(http_client& http) {
  auto d = http.get("/v1/rollout/decisions?limit=1");
  REQUIRE(d.status == 200);
  return d.body;
}

} // namespace

TEST_CASE("an operator holds, rolls back and resumes, and a rollback moves new jobs to the baseline at once") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(100)};
  http_client http{engine.base_url()};
  auto view = http.get("/v1/rollout");
  REQUIRE(view.status == 200);
  CHECK(json_field(view.body, "name") == "test-rollout");
  CHECK(json_field(view.body, "percent") == "100");
  CHECK(route_of(http, "u1").first == "gemini");

  auto hold = http.post("/v1/rollout/hold", "");
  CHECK(hold.status == 200);
  CHECK(json_field(hold.body, "state") == "holding");
  CHECK(http.post("/v1/rollout/hold", "").status == 409);

  auto rollback = http.post("/v1/rollout/rollback", "");
  CHECK(rollback.status == 200);
  CHECK(json_field(rollback.body, "percent") == "0");
  CHECK(json_field(rollback.body, "state") == "rolled_back");
  // the very next job, sent right after the answer, already goes to the baseline
  auto r = route_of(http, "u1");
  CHECK(r.first == "photomaker");
  CHECK(r.second == "rolled back -> baseline");
  CHECK(http.post("/v1/rollout/promote", "").status == 409); // resume first
  CHECK(http.post("/v1/rollout/resume", "").status == 200);
  CHECK(http.post("/v1/rollout/nonsense", "").status == 404);

  auto audit = http.get("/v1/rollout/decisions?limit=10");
  CHECK(audit.body.find("\"action\":\"operator_rollback\"") != std::string::npos);
  CHECK(audit.body.find("\"action\":\"operator_hold\"") != std::string::npos);
  CHECK(audit.body.find("\"action\":\"operator_resume\"") != std::string::npos);
  CHECK(http.get("/v1/rollout/decisions?limit=0").status == 400);
  CHECK(http.get("/v1/rollout/decisions?since=yesterday").status == 400);
  CHECK(http.get("/v1/rollout/decisions?since=2000-01-01T00:00:00Z").status == 200);
}

TEST_CASE("an invalid reload answers 422 with every error and changes nothing") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(0)};
  http_client http{engine.base_url()};
  const auto hash = json_field(http.get("/v1/rollout").body, "config_hash");
  auto broken = fast_config(0);
  broken.replace(broken.find("max_items: 50"), 13, "max_items: 0");
  broken.replace(broken.find("percent: 0"), 10, "percent: 101");
  engine.write_config(broken);
  auto r = http.post("/v1/admin/reload", "");
  CHECK(r.status == 422);
  CHECK(r.body.find("tiers.sd.batch.max_items") != std::string::npos);
  CHECK(r.body.find("rollout.percent") != std::string::npos);
  CHECK(json_field(http.get("/v1/rollout").body, "config_hash") == hash);
  CHECK(newest_decision(http).find("\"action\":\"reload\"") == std::string::npos);
  // a new provider needs a restart: refused as well
  auto moved = fast_config(0);
  moved.replace(moved.find("  photomaker:\n"), 14,
                "  extra: {kind: simulated, mode: sync, cost_per_image: {sd: 0.01, hd: 0.01, 4k: 0.01}}\n  photomaker:\n");
  engine.write_config(moved);
  auto m = http.post("/v1/admin/reload", "");
  CHECK(m.status == 422);
  CHECK(m.body.find("needs a restart") != std::string::npos);
}

TEST_CASE("a valid reload swaps the snapshot and its hash is in the next decision row") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(0)};
  http_client http{engine.base_url()};
  const auto old_hash = json_field(http.get("/v1/rollout").body, "config_hash");
  // kill switch by reload: enabled false sends everyone to the baseline
  auto off = fast_config(100);
  off.replace(off.find("  percent: 100"), 14, "  enabled: false\n  percent: 100");
  engine.write_config(off);
  auto r = http.post("/v1/admin/reload", "");
  REQUIRE(r.status == 200);
  const auto new_hash = json_field(r.body, "config_hash");
  CHECK(new_hash != old_hash);
  CHECK(json_field(http.get("/v1/rollout").body, "config_hash") == new_hash);
  auto d = newest_decision(http);
  CHECK(d.find("\"action\":\"reload\"") != std::string::npos);
  CHECK(d.find("\"config_hash\":\"" + new_hash + "\"") != std::string::npos);
  CHECK(route_of(http, "u1").second == "kill switch -> baseline");

  // SIGHUP reloads too: back on, at 100 %
  engine.write_config(fast_config(100));
  const auto before_hup = engine.log_size();
  engine.signal(SIGHUP);
  // the signal is asynchronous: the engine logs the reload once every actor has been sent the new snapshot
  const std::string reloaded = "event=reloaded config_hash=";
  const auto line = engine.wait_for_line(reloaded, std::chrono::seconds(20), before_hup);
  REQUIRE(!line.empty());
  const auto hup_hash = line.substr(line.find(reloaded) + reloaded.size());
  CHECK(hup_hash != new_hash);
  CHECK(json_field(http.get("/v1/rollout").body, "config_hash") == hup_hash);
  CHECK(route_of(http, "u2").first == "gemini");
}

TEST_CASE("feedback rates a job's quality and bad feedback is refused") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(50)};
  http_client http{engine.base_url()};
  auto a = http.post("/v1/jobs", job("u1"));
  const auto id = json_field(a.body, "id");
  http.get("/v1/jobs/" + id + "?wait=20");
  CHECK(http.post("/v1/jobs/" + id + "/feedback", R"({"quality":0.8})").status == 204);
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM feedback WHERE quality = 0.8") == 1); // kept
  CHECK(http.post("/v1/jobs/" + id + "/feedback", R"({"quality":1.5})").status == 400);
  CHECK(http.post("/v1/jobs/" + id + "/feedback", R"({"q":1})").status == 400);
  CHECK(http.post("/v1/jobs/j999999/feedback", R"({"quality":0.5})").status == 404);
}

TEST_CASE("a second rating of a job replaces the first in the candidate's quality figures, it never adds") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(100)};
  http_client http{engine.base_url()};
  const auto id = json_field(http.post("/v1/jobs", job("u1")).body, "id");
  REQUIRE(json_field(http.get("/v1/jobs/" + id + "?wait=20").body, "status") == "succeeded");
  auto candidate = [&] { return json_field(json_field(http.get("/v1/rollout").body, "cohorts"), "candidate"); };
  REQUIRE(http.post("/v1/jobs/" + id + "/feedback", R"({"quality":0.2})").status == 204);
  const auto first = candidate();
  REQUIRE(http.post("/v1/jobs/" + id + "/feedback", R"({"quality":1.0})").status == 204);
  const auto second = candidate();
  INFO(first << "\n" << second);
  REQUIRE(json_field(first, "quality_samples") != "0");
  CHECK(json_field(second, "quality_samples") == json_field(first, "quality_samples"));
  CHECK(std::stod(json_field(second, "quality_mean")) > std::stod(json_field(first, "quality_mean")));
}

TEST_CASE("with keys configured an operator call needs a key with the admin scope") {
  temp_dir dir;
  std::ofstream(dir.file("keys.yaml")) << "keys:\n  - {name: ops, key: \"0123456789abcdef-test\", scopes: [admin]}\n"
                                          "  - {name: viewer, key: \"viewer-key-0123456789\", scopes: [read]}\n";
  auto config = fast_config(0) + "auth: {keys_file: " + dir.file("keys.yaml") + "}\n";
  engine_process engine{dir.path.string(), config};
  http_client http{engine.base_url()};
  CHECK(http.post("/v1/rollout/hold", "").status == 401);
  CHECK(http.post("/v1/rollout/hold", "", "application/json", {{"Authorization", "Bearer wrong-key-000000"}}).status == 401);
  CHECK(http.post("/v1/rollout/hold", "", "application/json", {{"Authorization", "Bearer viewer-key-0123456789"}}).status == 403);
  CHECK(http.post("/v1/rollout/hold", "", "application/json", {{"Authorization", "Bearer 0123456789abcdef-test"}}).status == 200);
  // every route the table declares admin: reload and dead-letter replay too
  CHECK(http.post("/v1/admin/reload", "").status == 401);
  CHECK(http.post("/v1/dead-letters/j1/replay", "").status == 401);
  CHECK(http.post("/v1/dead-letters/j1/replay", "", "application/json",
                  {{"Authorization", "Bearer 0123456789abcdef-test"}}).status == 404); // past the key: no such job
  CHECK(engine.log().find("0123456789abcdef-test") == std::string::npos); // never logged
}

TEST_CASE("a reload lowering a budget limit applies from the next admission and overrides apply to new jobs at once") {
  temp_dir dir;
  // the spend before the reload is checked at the end: the budget day must not start in between
  const auto day_starts = "day_starts: \"" + day_starts_far_from_now() + "\", ";
  auto config = fast_config(100) + "budget: {stop_at: 90%, " + day_starts + "providers: {gemini: 1000}}\n";
  engine_process engine{dir.path.string(), config};
  http_client http{engine.base_url()};
  CHECK(route_of(http, "u1").first == "gemini");
  // a limit below what one image costs, and a segment sent to the baseline
  auto lowered = fast_config(100) + "budget: {stop_at: 90%, " + day_starts + "providers: {gemini: 0.01}}\n";
  lowered.replace(lowered.find("  phases:"), 9, "  overrides: {segments: {enterprise: baseline}}\n  phases:");
  engine.write_config(lowered);
  REQUIRE(http.post("/v1/admin/reload", "").status == 200);
  auto r = route_of(http, "u2");
  CHECK(r.first == "photomaker");
  CHECK(r.second.find("budget: gemini") != std::string::npos);
  auto seg = http.post("/v1/jobs", R"({"user_id":"u3","prompt":"p","tier":"sd","segment":"enterprise"})");
  auto j = http.get("/v1/jobs/" + json_field(seg.body, "id") + "?wait=20");
  CHECK(json_field(json_field(j.body, "route"), "reason").rfind("segment enterprise -> baseline", 0) == 0);
  // what was spent before the reload is still counted
  auto budget = http.get("/v1/budget").body;
  CHECK(budget.find("\"provider\":\"gemini\",\"limit_usd\":0.010000") != std::string::npos);
  CHECK(budget.find("\"consumed_usd\":0.030000") != std::string::npos);
}

TEST_CASE("an operator steps the live percent down to a lower phase over HTTP, a stranger is 400 and raising 409") {
  temp_dir dir;
  auto config = fast_config(100);
  config.replace(config.find("phases: [{percent: 100}]"), 24, "phases: [{percent: 10}, {percent: 50}, {percent: 100}]");
  engine_process engine{dir.path.string(), config};
  http_client http{engine.base_url()};
  REQUIRE(json_field(http.get("/v1/rollout").body, "percent") == "100");

  auto down = http.post("/v1/rollout/percent", R"({"percent": 50})");
  REQUIRE(down.status == 200);
  CHECK(json_field(down.body, "percent") == "50");
  CHECK(json_field(down.body, "phase") == "1");
  CHECK(json_field(down.body, "state") == "holding");
  auto d = newest_decision(http);
  CHECK(d.find("\"action\":\"step_down\"") != std::string::npos);
  CHECK(d.find("stepped down by an operator: 100% -> 50%") != std::string::npos);

  auto same = http.post("/v1/rollout/percent", R"({"percent": 50})");
  CHECK(same.status == 200);
  CHECK(json_field(same.body, "percent") == "50");
  CHECK(newest_decision(http) == d); // a no-op writes no row

  auto stranger = http.post("/v1/rollout/percent", R"({"percent": 30})");
  CHECK(stranger.status == 400);
  CHECK(stranger.body.find("no phase has 30%") != std::string::npos);
  CHECK(stranger.body.find("\"field\":\"percent\"") != std::string::npos);
  CHECK(http.post("/v1/rollout/percent", R"({"percent": 100})").status == 409);
  CHECK(http.post("/v1/rollout/percent", R"({"percent": "10"})").status == 400);
  CHECK(http.post("/v1/rollout/percent", R"({"percent": 10.5})").status == 400);
  CHECK(http.post("/v1/rollout/percent", R"({})").status == 400);
  CHECK(http.post("/v1/rollout/percent", "percent=10", "text/plain").status == 415);
  CHECK(http.send("GET", "/v1/rollout/percent").status == 405);
  CHECK(json_field(http.get("/v1/rollout").body, "percent") == "50"); // none of them changed anything

  auto zero = http.post("/v1/rollout/percent", R"({"percent": 0})");
  CHECK(zero.status == 200);
  CHECK(json_field(zero.body, "state") == "rolled_back");
  CHECK(route_of(http, "u1").second == "rolled back -> baseline");
}

TEST_CASE("GET /v1/rollout shows the current phase's gates with their figures, the cohorts, and which actions a 409 would refuse") {
  temp_dir dir;
  auto cfg = fast_config(50);
  const std::string one_phase = "phases: [{percent: 100}]";
  cfg.replace(cfg.find(one_phase), one_phase.size(),
              "phases: [{percent: 50, min_duration: 1h, min_samples: 3, gates: {p95_max: 60s, failure_rate_max: 5%}},"
              " {percent: 100}]");
  engine_process engine{dir.path.string(), cfg};
  http_client http{engine.base_url()};
  for (int i = 0; i < 6; ++i)
    route_of(http, "u" + std::to_string(i));
  const auto body = http.get("/v1/rollout").body;
  INFO(body);
  CHECK(json_field(body, "percent") == "50");
  CHECK(body.find(R"("phases":[{"percent":50,"min_duration_s":3600,"min_samples":3},{"percent":100,)") !=
        std::string::npos);
  // the phase is minutes old: min_duration is short, so every gate is insufficient, figures filled in
  const auto gate = body.find(R"("kind":"gate","name":"min_duration","verdict":"insufficient data")");
  REQUIRE(gate != std::string::npos);
  CHECK(body.find(R"("threshold":3600,)", gate) < body.find("}", gate));
  const auto p95 = body.find(R"("kind":"gate","name":"p95_max","verdict":"insufficient data")");
  REQUIRE(p95 != std::string::npos);
  CHECK(body.find(R"("threshold":60,"reason":"insufficient data: )", p95) < body.find("}", p95));
  CHECK(body.find(R"x("actions":{"hold":{"allowed":true},"resume":{"allowed":false,"refusal":"nothing to resume (it is running)"},"promote":{"allowed":true},"rollback":{"allowed":true}})x") != std::string::npos);
  CHECK(body.find(R"("step_down_to":[])") != std::string::npos);
  CHECK(body.find(R"("cohorts":{"candidate":{"samples":)") != std::string::npos);
  CHECK(body.find(R"("candidate":{"samples":0,)") == std::string::npos); // six jobs at 50 %: someone was sent there
  // the answer of an action carries the same view: after a hold, resume is allowed and hold is not
  const auto held = http.post("/v1/rollout/hold", "").body;
  CHECK(held.find(R"x("hold":{"allowed":false,"refusal":"only a running rollout can be held (it is holding)"})x") !=
        std::string::npos);
  CHECK(held.find(R"("resume":{"allowed":true})") != std::string::npos);
  CHECK(http.post("/v1/rollout/hold", "").status == 409); // as the view said
}
