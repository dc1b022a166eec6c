// Tenants over real HTTP on loopback against the real binary: a key tied to a tenant sees only that tenant's jobs,
// feedback, dead letters and idempotency keys (another tenant's job is 404, not 403), on /v1/jobs and on the
// OpenAI endpoint alike; every route of the whole engine (budget, stats, rollout, decisions, metrics, reload) is
// 403 to a tenant's key; the tenant is stored with the job and survives a restart; a reload may move a key to
// another tenant.

#include "adapters/http/server.hpp"
#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <map>

using namespace cutover;
using namespace cutover::testing;

namespace {

const std::string key_a = "tenant-a-key-000001", key_b = "tenant-b-key-000001", key_ops = "operator-key-000001";
const std::string all_scopes = "scopes: [submit, read, admin]";

std::string keys_yaml(const std::string& tenant_of_a = "a") {
  return "keys:\n"
         "  - {name: shop-a, key: \"" + key_a + "\", " + all_scopes + ", tenant: " + tenant_of_a + "}\n"
         "  - {name: shop-b, key: \"" + key_b + "\", " + all_scopes + ", tenant: b}\n"
         "  - {name: ops, key: \"" + key_ops + "\", " + all_scopes + "}\n";
}

std::map<std::string, std::string> as(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }
std::map<std::string, std::string> as(const std::string& key, const std::string& idempotency_key) {
  return {{"Authorization", "Bearer " + key}, {"Idempotency-Key", idempotency_key}};
}

const std::string job_body = R"({"user_id":"u1","prompt":"a kite","tier":"sd"})";

/// The config of an engine whose keys file (written now, into `dir`) holds the keys above.
std::string keyed_config(const temp_dir& dir, const std::string& failure_rate = "0%") {
  std::ofstream(dir.file("keys.yaml")) << keys_yaml();
  return fast_config(0, failure_rate) + "auth: {keys_file: " + dir.file("keys.yaml") + "}\n";
}

struct tenant_engine {
  temp_dir dir;
  engine_process engine;
  http_client http{engine.base_url()};
  explicit tenant_engine(const std::string& failure_rate = "0%")
    : engine{dir.path.string(), keyed_config(dir, failure_rate)} {}

  http_answer get(const std::string& path, const std::string& key) { return http.send("GET", path, as(key)); }
  http_answer post(const std::string& path, const std::string& body, const std::string& key) {
    return http.post(path, body, "application/json", as(key));
  }
  /// A job of the tenant of `key`, once final; its id.
  std::string final_job(const std::string& key) {
    auto made = post("/v1/jobs", job_body, key);
    REQUIRE(made.status == 202);
    const auto id = json_field(made.body, "id");
    REQUIRE(!json_field(get("/v1/jobs/" + id + "?wait=20", key).body, "status").empty());
    return id;
  }
  long long rows(const std::string& sql) const { return count_rows(dir.file("cutover.db"), sql); }
};

std::string error_code_of(const http_answer& a) { return json_field(json_field(a.body, "error"), "code"); }

bool lists(const http_answer& a, const std::string& id) {
  return a.body.find("\"id\":\"" + id + "\"") != std::string::npos;
}

std::vector<http::route> declared_routes() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  http::server srv{sys, {}, {}, {}, {}, {}, http::server_options{}};
  return srv.routes().routes();
}

} // namespace

TEST_CASE("tenants: another tenant's job is 404 to read, rate and replay, and dead letters list only the own") {
  tenant_engine e{"100%"}; // every job is dead-lettered
  const auto ja = e.final_job(key_a), jb = e.final_job(key_b);
  REQUIRE(json_field(e.get("/v1/jobs/" + ja, key_a).body, "status") == "dead_lettered");
  REQUIRE(json_field(e.get("/v1/jobs/" + jb, key_b).body, "status") == "dead_lettered");

  // reading: the own job, never the other's (404 as for an id that does not exist: no 403 to say it does)
  CHECK(json_field(e.get("/v1/jobs/" + ja, key_a).body, "tenant") == "a");
  for (const auto& [key, other] : {std::pair{key_a, jb}, std::pair{key_b, ja}}) {
    INFO(other);
    auto r = e.get("/v1/jobs/" + other, key);
    CHECK(r.status == 404);
    CHECK(error_code_of(r) == "not_found");
    CHECK(e.get("/v1/jobs/" + other + "?wait=1", key).status == 404);
    CHECK(r.body.find("\"tenant\"") == std::string::npos);
    // rating: 404, and no rating is kept
    CHECK(e.post("/v1/jobs/" + other + "/feedback", R"({"quality":0.1})", key).status == 404);
    // replaying: 404, and the job stays dead-lettered
    CHECK(e.post("/v1/dead-letters/" + other + "/replay", "", key).status == 404);
  }
  CHECK(e.rows("SELECT COUNT(*) FROM feedback") == 0);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE status = 'dead_lettered'") == 2);
  CHECK(e.post("/v1/jobs/" + ja + "/feedback", R"({"quality":0.8})", key_a).status == 204);
  CHECK(e.rows("SELECT COUNT(*) FROM feedback") == 1);

  // dead letters: each tenant lists its own; a key without a tenant lists all
  const auto list_a = e.get("/v1/dead-letters", key_a), list_b = e.get("/v1/dead-letters", key_b),
             list_ops = e.get("/v1/dead-letters", key_ops);
  REQUIRE(list_a.status == 200);
  REQUIRE(list_b.status == 200);
  REQUIRE(list_ops.status == 200);
  CHECK(lists(list_a, ja));
  CHECK_FALSE(lists(list_a, jb));
  CHECK(lists(list_b, jb));
  CHECK_FALSE(lists(list_b, ja));
  CHECK(lists(list_ops, ja));
  CHECK(lists(list_ops, jb));
  // a key without a tenant sees every tenant's job
  CHECK(e.get("/v1/jobs/" + jb, key_ops).status == 200);

  // the own dead letter replays
  CHECK(e.post("/v1/dead-letters/" + ja + "/replay", "", key_a).status == 200);
}

TEST_CASE("tenants: the same Idempotency-Key from two tenants makes two jobs, on /v1/jobs and the OpenAI endpoint") {
  tenant_engine e;
  const auto first_a = e.http.post("/v1/jobs", job_body, "application/json", as(key_a, "order-1"));
  const auto first_b = e.http.post("/v1/jobs", job_body, "application/json", as(key_b, "order-1"));
  REQUIRE(first_a.status == 202);
  REQUIRE(first_b.status == 202);
  const auto ja = json_field(first_a.body, "id"), jb = json_field(first_b.body, "id");
  CHECK(ja != jb);
  CHECK(first_b.headers.count("Idempotent-Replayed") == 0);
  // each tenant's repeat answers its own first job
  const auto again_a = e.http.post("/v1/jobs", job_body, "application/json", as(key_a, "order-1"));
  const auto again_b = e.http.post("/v1/jobs", job_body, "application/json", as(key_b, "order-1"));
  CHECK(json_field(again_a.body, "id") == ja);
  CHECK(json_field(again_b.body, "id") == jb);
  CHECK(again_b.headers.count("Idempotent-Replayed") == 1);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs") == 2);

  // the OpenAI endpoint: the same key from both tenants, two jobs; a repeat, none more
  const std::string image = R"({"prompt":"a kite","user":"u1"})";
  const auto path = "/v1/images/generations";
  REQUIRE(e.http.post(path, image, "application/json", as(key_a, "image-1")).status == 200);
  REQUIRE(e.http.post(path, image, "application/json", as(key_b, "image-1")).status == 200);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs") == 4);
  CHECK(e.http.post(path, image, "application/json", as(key_a, "image-1")).status == 200);
  CHECK(e.http.post(path, image, "application/json", as(key_b, "image-1")).status == 200);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs") == 4);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE tenant = 'a'") == 2);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE tenant = 'b'") == 2);
  // the OpenAI job of tenant a is a's alone
  const auto openai_a = "j" + std::to_string(e.rows("SELECT MAX(id) FROM jobs WHERE tenant = 'a'"));
  REQUIRE(openai_a != ja);
  CHECK(e.get("/v1/jobs/" + openai_a, key_a).status == 200);
  CHECK(e.get("/v1/jobs/" + openai_a, key_b).status == 404);
  CHECK(e.get("/v1/jobs/" + ja, key_b).status == 404);
  CHECK(e.get("/v1/jobs/" + jb, key_a).status == 404);
}

TEST_CASE("tenants: every route of the whole engine is 403 to a tenant's key, and open to a key without one") {
  const auto routes = declared_routes();
  std::size_t global = 0, own = 0;
  tenant_engine e;
  for (const auto& r : routes) {
    if (r.scope == http::scope::none)
      continue;
    const auto name = r.method + " " + r.pattern;
    INFO(name);
    std::string path = r.pattern;
    if (const auto at = path.find("{id}"); at != std::string::npos)
      path.replace(at, 4, "j1");
    const auto call = [&](const std::string& key) {
      return r.method == "POST" ? e.post(path, "{}", key) : e.http.send(r.method, path, as(key));
    };
    if (r.tenancy == http::tenancy::global) {
      ++global;
      for (const auto& key : {key_a, key_b}) {
        auto refused = call(key);
        CHECK(refused.status == 403);
        CHECK(error_code_of(refused) == "forbidden");
        CHECK(refused.body.find("needs a key without a tenant") != std::string::npos);
      }
      const auto ops = call(key_ops).status;
      CHECK(ops != 401);
      CHECK(ops != 403);
    } else {
      ++own;
      const auto status = call(key_a).status; // past the key: the handler answers (e.g. 400 or 404)
      CHECK(status != 401);
      CHECK(status != 403);
    }
  }
  // the routes of the whole engine and those of a tenant, as docs/configuration.md lists them
  CHECK(global >= 10);
  // jobs (submit, read, list, cancel, feedback), dead letters (list, replay), OpenAI images, a user's erasure
  CHECK(own == 9);
  for (const auto& path : {"/v1/budget", "/v1/stats/daily", "/v1/rollout", "/v1/rollout/decisions", "/metrics"})
    CHECK(e.get(path, key_a).status == 403);
}

TEST_CASE("tenants: the tenant is stored with the job and holds across a restart") {
  temp_dir dir;
  const auto config = keyed_config(dir);
  std::string ja;
  {
    engine_process engine{dir.path.string(), config};
    http_client http{engine.base_url()};
    auto made = http.post("/v1/jobs", job_body, "application/json", as(key_a));
    REQUIRE(made.status == 202);
    ja = json_field(made.body, "id");
    REQUIRE(json_field(http.send("GET", "/v1/jobs/" + ja + "?wait=20", as(key_a)).body, "status") == "succeeded");
    REQUIRE(engine.terminate() == 0);
  }
  CHECK(count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM jobs WHERE tenant = 'a'") == 1);
  engine_process engine{dir.path.string(), config};
  http_client http{engine.base_url()};
  CHECK(http.send("GET", "/v1/jobs/" + ja, as(key_b)).status == 404);
  const auto own = http.send("GET", "/v1/jobs/" + ja, as(key_a));
  CHECK(own.status == 200);
  CHECK(json_field(own.body, "tenant") == "a");
}

TEST_CASE("tenants: a reload that ties a key to another tenant takes that tenant's view at once") {
  tenant_engine e;
  const auto ja = e.final_job(key_a);
  REQUIRE(e.get("/v1/jobs/" + ja, key_a).status == 200);
  std::ofstream(e.dir.file("keys.yaml")) << keys_yaml("c"); // shop-a's key now belongs to tenant c
  REQUIRE(e.post("/v1/admin/reload", "", key_ops).status == 200);
  CHECK(e.get("/v1/jobs/" + ja, key_a).status == 404);
  auto made = e.post("/v1/jobs", job_body, key_a);
  REQUIRE(made.status == 202);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE tenant = 'c'") == 1);
  CHECK(e.get("/v1/jobs/" + json_field(made.body, "id"), key_a).status == 200);
  CHECK(e.get("/v1/jobs/" + ja, key_ops).status == 200);
}
