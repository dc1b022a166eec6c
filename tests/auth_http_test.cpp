// API keys over real HTTP on loopback against the real binary: every route of the API's own route table answers
// 401 without a usable key, 403 with a key that lacks the route's scope and reaches its handler with one that has
// it; /metrics may be opened; a reload rotates keys (or changes nothing when the keys file is invalid, or when it
// would leave a port off loopback without keys); an engine without keys refuses to listen off loopback.

#include "adapters/http/server.hpp"
#include "support/engine_process.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

using namespace cutover;
using namespace cutover::testing;

namespace {

const std::string submit_key = "submit-only-key-0001", read_key = "read-only-key-000001",
                  admin_key = "admin-only-key-00001", no_submit_key = "read-and-admin-00001",
                  no_read_key = "submit-and-admin-001", no_admin_key = "submit-and-read-0001";

std::string keys_yaml() {
  return "keys:\n"
         "  - {name: submitter, key: \"" + submit_key + "\", scopes: [submit]}\n"
         "  - {name: reader, key: \"" + read_key + "\", scopes: [read]}\n"
         "  - {name: operator, key: \"" + admin_key + "\", scopes: [admin]}\n"
         "  - {name: no-submit, key: \"" + no_submit_key + "\", scopes: [read, admin]}\n"
         "  - {name: no-read, key: \"" + no_read_key + "\", scopes: [submit, admin]}\n"
         "  - {name: no-admin, key: \"" + no_admin_key + "\", scopes: [submit, read]}\n";
}

std::map<std::string, std::string> bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

/// The routes the binary serves: the very table its server builds.
std::vector<http::route> declared_routes() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<http::route> out;
  {
    http::server srv{sys, {}, {}, {}, {}, {}, http::server_options{}};
    out = srv.routes().routes();
  }
  return out;
}

/// How to call a route so that its handler succeeds, and what it then answers.
struct sample {
  std::string path; ///< `{id}` becomes a real job's id
  std::string body;
  std::set<int> answers;
};

const std::map<std::string, sample>& samples() {
  static const std::map<std::string, sample> s = {
    {"GET /healthz", {"/healthz", "", {200}}},
    {"GET /readyz", {"/readyz", "", {200}}},
    {"GET /console", {"/console", "", {200}}},
    {"GET /console/{file}", {"/console/app.js", "", {200}}},
    {"GET /metrics", {"/metrics", "", {200}}},
    {"GET /v1/budget", {"/v1/budget", "", {200}}},
    {"GET /v1/stats/daily", {"/v1/stats/daily?days=2", "", {200}}},
    {"GET /v1/dead-letters", {"/v1/dead-letters", "", {200}}},
    // a job that is not dead-lettered: past the key, the handler says so (making a dead letter takes failing
    // providers, which would fail the OpenAI route's sample)
    {"POST /v1/dead-letters/{id}/replay", {"/v1/dead-letters/{id}/replay", "", {409}}},
    {"POST /v1/jobs", {"/v1/jobs", R"({"user_id":"u1","prompt":"a kite","tier":"sd"})", {202}}},
    {"GET /v1/jobs/{id}", {"/v1/jobs/{id}", "", {200}}},
    {"POST /v1/jobs/{id}/feedback", {"/v1/jobs/{id}/feedback", R"({"quality":0.8})", {204}}},
    {"GET /v1/jobs", {"/v1/jobs?limit=5", "", {200}}},
    // the sample job is final: past the key, the handler says so
    {"DELETE /v1/jobs/{id}", {"/v1/jobs/{id}", "", {409}}},
    {"DELETE /v1/users/{id}/jobs", {"/v1/users/nobody-here/jobs", "", {200}}},
    {"POST /v1/images/generations", {"/v1/images/generations", R"({"prompt":"a kite","user":"u2"})", {200}}},
    // open: the signed URL is the credential; without a valid signature it is 403 whatever the key
    {"GET /v1/images/{sha256}", {"/v1/images/" + std::string(64, 'a') + "?exp=1&sig=00", "", {403}}},
    {"GET /v1/rollout", {"/v1/rollout", "", {200}}},
    {"GET /v1/rollout/decisions", {"/v1/rollout/decisions", "", {200}}},
    {"POST /v1/rollout/hold", {"/v1/rollout/hold", "", {200}}},
    {"POST /v1/rollout/resume", {"/v1/rollout/resume", "", {200}}},
    {"POST /v1/rollout/promote", {"/v1/rollout/promote", "", {200, 409}}},
    {"POST /v1/rollout/rollback", {"/v1/rollout/rollback", "", {200}}},
    {"POST /v1/rollout/percent", {"/v1/rollout/percent", R"({"percent":0})", {200}}},
    {"POST /v1/rollout/drill", {"/v1/rollout/drill?max_wait=5s", "", {200, 409}}}, // 409 once rolled back
    {"POST /v1/admin/reload", {"/v1/admin/reload", "", {200}}},
  };
  return s;
}

/// The scope each route needs, as the API's contract gives it (not read from the table under test): submit for
/// what creates work or rates it, read for what only looks, admin for what changes the rollout or the engine.
const std::map<std::string, http::scope>& contract_scopes() {
  static const std::map<std::string, http::scope> s = {
    {"GET /healthz", http::scope::none},
    {"GET /readyz", http::scope::none},
    {"GET /console", http::scope::none}, // the page holds no data: it asks the API, with the operator's key
    {"GET /console/{file}", http::scope::none},
    {"GET /metrics", http::scope::metrics},
    {"GET /v1/budget", http::scope::read},
    {"GET /v1/stats/daily", http::scope::read},
    {"GET /v1/dead-letters", http::scope::read},
    {"POST /v1/dead-letters/{id}/replay", http::scope::admin},
    {"POST /v1/jobs", http::scope::submit},
    {"GET /v1/jobs", http::scope::read},
    {"GET /v1/jobs/{id}", http::scope::read},
    {"DELETE /v1/jobs/{id}", http::scope::submit},
    {"DELETE /v1/users/{id}/jobs", http::scope::admin},
    {"POST /v1/jobs/{id}/feedback", http::scope::submit},
    {"POST /v1/images/generations", http::scope::submit},
    // the signed, expiring URL is the credential (OpenAI clients and browsers fetch it without a header)
    {"GET /v1/images/{sha256}", http::scope::none},
    {"GET /v1/rollout", http::scope::read},
    {"GET /v1/rollout/decisions", http::scope::read},
    {"POST /v1/rollout/hold", http::scope::admin},
    {"POST /v1/rollout/resume", http::scope::admin},
    {"POST /v1/rollout/promote", http::scope::admin},
    {"POST /v1/rollout/rollback", http::scope::admin},
    {"POST /v1/rollout/percent", http::scope::admin},
    {"POST /v1/rollout/drill", http::scope::admin},
    {"POST /v1/admin/reload", http::scope::admin},
  };
  return s;
}

http_answer call(http_client& http, const http::route& r, const std::string& path, const std::string& body,
                 const std::map<std::string, std::string>& headers) {
  if (r.method == "POST")
    return http.post(path, body, "application/json", headers);
  return http.send(r.method, path, headers);
}

std::string with_id(std::string path, const std::string& id) {
  if (const auto at = path.find("{id}"); at != std::string::npos)
    path.replace(at, 4, id);
  return path;
}

std::string keyed_config(const std::string& keys_file, const std::string& extra = "") {
  return fast_config(0) + "auth: {keys_file: " + keys_file + extra + "}\n";
}

} // namespace

TEST_CASE("every route of the table needs a key with its scope: 401 without a usable key, 403 without the scope") {
  const auto routes = declared_routes();
  REQUIRE(routes.size() >= samples().size()); // the table was read, not an empty one
  temp_dir dir;
  std::ofstream(dir.file("keys.yaml")) << keys_yaml();
  engine_process engine{dir.path.string(), keyed_config(dir.file("keys.yaml"))};
  http_client http{engine.base_url()};
  auto made = http.post("/v1/jobs", samples().at("POST /v1/jobs").body, "application/json", bearer(submit_key));
  REQUIRE(made.status == 202);
  const auto id = json_field(made.body, "id");
  REQUIRE(http.send("GET", "/v1/jobs/" + id + "?wait=20", bearer(read_key)).status == 200);

  const std::map<http::scope, std::pair<std::string, std::string>> keys_for = { // with the scope, without it
    {http::scope::submit, {submit_key, no_submit_key}},
    {http::scope::read, {read_key, no_read_key}},
    {http::scope::metrics, {read_key, no_read_key}},
    {http::scope::admin, {admin_key, no_admin_key}},
  };
  for (const auto& r : routes) {
    const auto name = r.method + " " + r.pattern;
    INFO(name);
    const auto s = samples().find(name);
    REQUIRE(s != samples().end()); // a new route needs a sample here, so that no route escapes this test
    const auto wanted = contract_scopes().find(name);
    REQUIRE(wanted != contract_scopes().end()); // and the scope the contract gives it
    CHECK(r.scope == wanted->second);
    const auto path = with_id(s->second.path, id);
    if (r.scope == http::scope::none) {
      CHECK(s->second.answers.count(call(http, r, path, s->second.body, {}).status) == 1);
      continue;
    }
    auto none = call(http, r, path, s->second.body, {});
    CHECK(none.status == 401);
    CHECK(json_field(json_field(none.body, "error"), "code") == "unauthorized");
    CHECK(none.headers.count("WWW-Authenticate") == 1);
    for (const auto& bad : {std::string("Bearer not-a-known-key-0000"), std::string("Basic dXNlcjpwYXNz"),
                            std::string("Bearer"), "Bearer " + read_key + " " + admin_key, read_key})
      CHECK(call(http, r, path, s->second.body, {{"Authorization", bad}}).status == 401);
    const auto& [with, without] = keys_for.at(r.scope);
    auto forbidden = call(http, r, path, s->second.body, bearer(without));
    CHECK(forbidden.status == 403);
    CHECK(json_field(json_field(forbidden.body, "error"), "code") == "forbidden");
    const auto ok = call(http, r, path, s->second.body, bearer(with));
    INFO(ok.body);
    CHECK(s->second.answers.count(ok.status) == 1);
  }
  const auto log = engine.log();
  for (const auto& k : {submit_key, read_key, admin_key, no_submit_key, no_read_key, no_admin_key})
    CHECK(log.find(k) == std::string::npos); // never logged
}

TEST_CASE("auth.metrics_open opens /metrics alone, health and readiness are always open") {
  temp_dir dir;
  std::ofstream(dir.file("keys.yaml")) << keys_yaml();
  engine_process engine{dir.path.string(), keyed_config(dir.file("keys.yaml"), ", metrics_open: true")};
  http_client http{engine.base_url()};
  CHECK(http.get("/metrics").status == 200);
  CHECK(http.get("/healthz").status == 200);
  CHECK(wait_ready(http, std::chrono::seconds(20)).status == 200);
  CHECK(http.get("/v1/budget").status == 401);
  CHECK(http.get("/v1/rollout").status == 401);
}

namespace {

std::string sha256_hex(const std::string& text);

std::string rotation_keys(const std::string& ops, const std::string& shop) {
  return "keys:\n"
         "  - {name: ops, key: \"" + ops + "\", scopes: [admin, read]}\n"
         "  - {name: shop, sha256: \"" + sha256_hex(shop) + "\", scopes: [submit, read]}\n"
         "  - {name: env, key_env: CUTOVER_TEST_AUTH_ENV_KEY, scopes: [read]}\n";
}

int rollout_status(http_client& http, const std::string& key) {
  return http.send("GET", "/v1/rollout", bearer(key)).status;
}

} // namespace

#include <openssl/sha.h>

namespace {
std::string sha256_hex(const std::string& text) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}
} // namespace

TEST_CASE("a reload rotates key and sha256 entries at once, and an invalid keys file changes nothing (422)") {
  ::setenv("CUTOVER_TEST_AUTH_ENV_KEY", "env-key-at-start-0001", 1); // the engine inherits it
  temp_dir dir;
  const auto keys = dir.file("keys.yaml");
  std::ofstream(keys) << rotation_keys("ops-key-first-00001", "shop-key-first-0001");
  engine_process engine{dir.path.string(), keyed_config(keys)};
  http_client http{engine.base_url()};
  REQUIRE(rollout_status(http, "ops-key-first-00001") == 200);
  REQUIRE(rollout_status(http, "shop-key-first-0001") == 200);
  REQUIRE(rollout_status(http, "env-key-at-start-0001") == 200);

  // by the admin route, with the old key: the new keys hold for the next request
  std::ofstream(keys) << rotation_keys("ops-key-second-0001", "shop-key-second-001");
  REQUIRE(http.post("/v1/admin/reload", "", "application/json", bearer("ops-key-first-00001")).status == 200);
  CHECK(rollout_status(http, "ops-key-first-00001") == 401);
  CHECK(rollout_status(http, "shop-key-first-0001") == 401);
  CHECK(rollout_status(http, "ops-key-second-0001") == 200);
  CHECK(rollout_status(http, "shop-key-second-001") == 200);
  CHECK(rollout_status(http, "env-key-at-start-0001") == 200); // the environment is the one the engine started with

  // an entry without scopes: 422 naming it, and the keys in force stay
  std::ofstream(keys) << "keys:\n  - {name: ops, key: \"ops-key-third-00001\"}\n";
  auto refused = http.post("/v1/admin/reload", "", "application/json", bearer("ops-key-second-0001"));
  CHECK(refused.status == 422);
  CHECK(refused.body.find("keys[0] (ops): scopes is required") != std::string::npos);
  CHECK(refused.body.find("ops-key-third-00001") == std::string::npos);
  CHECK(rollout_status(http, "ops-key-second-0001") == 200);
  CHECK(rollout_status(http, "ops-key-third-00001") == 401);

  // by SIGHUP
  std::ofstream(keys) << rotation_keys("ops-key-fourth-0001", "shop-key-fourth-001");
  const auto from = engine.log_size();
  engine.signal(SIGHUP);
  REQUIRE(engine.wait_for_log("event=reloaded", std::chrono::seconds(10), from));
  CHECK(rollout_status(http, "ops-key-second-0001") == 401);
  CHECK(rollout_status(http, "ops-key-fourth-0001") == 200);
  CHECK(rollout_status(http, "shop-key-fourth-001") == 200);
  const auto log = engine.log();
  for (const auto& k : {"ops-key-first-00001", "ops-key-second-0001", "ops-key-third-00001", "ops-key-fourth-0001",
                        "shop-key-first-0001", "env-key-at-start-0001"})
    CHECK(log.find(k) == std::string::npos);
}

TEST_CASE("a reload that would drop the keys of an engine listening off loopback is 422 and the keys stay") {
  temp_dir dir;
  std::ofstream(dir.file("keys.yaml")) << keys_yaml();
  engine_process engine{dir.path.string(), keyed_config(dir.file("keys.yaml")), 0, "0.0.0.0"};
  http_client http{engine.base_url()};
  REQUIRE(http.send("GET", "/v1/budget", bearer(read_key)).status == 200);
  engine.write_config(fast_config(0)); // no auth section
  auto refused = http.post("/v1/admin/reload", "", "application/json", bearer(admin_key));
  CHECK(refused.status == 422);
  CHECK(refused.body.find("auth.keys_file: cannot be removed while listening on 0.0.0.0:") != std::string::npos);
  CHECK(http.get("/v1/budget").status == 401);
  CHECK(http.send("GET", "/v1/budget", bearer(read_key)).status == 200);
}

TEST_CASE("on loopback a reload may drop the keys, and the routes are open again") {
  temp_dir dir;
  std::ofstream(dir.file("keys.yaml")) << keys_yaml();
  engine_process engine{dir.path.string(), keyed_config(dir.file("keys.yaml"))};
  http_client http{engine.base_url()};
  REQUIRE(http.get("/v1/budget").status == 401);
  engine.write_config(fast_config(0));
  REQUIRE(http.post("/v1/admin/reload", "", "application/json", bearer(admin_key)).status == 200);
  CHECK(http.get("/v1/budget").status == 200);
}

TEST_CASE("without keys the engine does not start on a wildcard address, and says why") {
  temp_dir dir;
  CHECK_THROWS_WITH(engine_process(dir.path.string(), fast_config(0), 0, "0.0.0.0"),
                    Catch::Contains("refusing to listen on 0.0.0.0:") && Catch::Contains("auth.keys_file"));
}
