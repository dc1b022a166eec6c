// The OpenAI-compatible endpoint (POST /v1/images/generations) over real HTTP on loopback against the real binary:
// Idempotency-Key checked as on /v1/jobs, its fingerprint over the parsed fields and its scope per endpoint, the
// provider named in the answer, b64_json by default, and who a request without `user` is routed as.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace cutover::testing;

namespace {

const std::string path = "/v1/images/generations";

struct live_engine {
  temp_dir dir;
  engine_process engine;
  http_client http{engine.base_url()};
  explicit live_engine(const std::string& extra = "") : engine{dir.path.string(), fast_config() + extra} {}
  long long rows(const std::string& sql) const { return count_rows(dir.file("cutover.db"), sql); }
  long long jobs() const { return rows("SELECT COUNT(*) FROM jobs"); }
};

std::map<std::string, std::string> idem(const std::string& key) { return {{"Idempotency-Key", key}}; }
std::string error_of(const std::string& body, const std::string& name) {
  return json_field(json_field(body, "error"), name);
}

} // namespace

TEST_CASE("openai: an invalid Idempotency-Key is a 400 in OpenAI's error shape and stores nothing") {
  live_engine e;
  for (const std::string& bad : {std::string(256, 'k'), std::string("has space"), std::string("tab\there")}) {
    auto r = e.http.post(path, R"({"prompt":"a kite","user":"u1"})", "application/json", idem(bad));
    CHECK(r.status == 400);
    CHECK(error_of(r.body, "type") == "invalid_request_error");
    CHECK(error_of(r.body, "param") == "Idempotency-Key");
    CHECK(error_of(r.body, "code") == "invalid_header");
  }
  CHECK(e.jobs() == 0);
}

TEST_CASE("openai: the idempotency fingerprint is over the parsed fields, not the bytes") {
  live_engine e;
  auto first = e.http.post(path, R"({"prompt":"a kite","user":"u1","size":"1024x1024","model":"m"})",
                           "application/json", idem("key-1"));
  REQUIRE(first.status == 200);
  // the same request: other field order, other whitespace, the defaults spelled out
  auto again = e.http.post(path,
                           "{ \"model\" : \"m\",\n \"size\":\"1024x1024\", \"n\": 1, \"response_format\":\"b64_json\","
                           " \"user\":\"u1\",\"prompt\":\"a kite\" }",
                           "application/json", idem("key-1"));
  CHECK(again.status == 200);
  CHECK(e.jobs() == 1);
  // another value of any hashed field is another request: the key was used with a different body
  for (const std::string other : {R"({"prompt":"a kite","user":"u1","size":"1024x1024","model":"m2"})",
                                  R"({"prompt":"a kite!","user":"u1","size":"1024x1024","model":"m"})",
                                  R"({"prompt":"a kite","user":"u1","size":"512x512","model":"m"})",
                                  R"({"prompt":"a kite","user":"u2","size":"1024x1024","model":"m"})",
                                  R"({"prompt":"a kite","user":"u1","size":"1024x1024","model":"m","quality":"hd"})",
                                  R"({"prompt":"a kite","user":"u1","size":"1024x1024","model":"m","n":2})"}) {
    auto r = e.http.post(path, other, "application/json", idem("key-1"));
    CHECK(r.status == 422);
    CHECK(error_of(r.body, "code") == "idempotency_key_reused");
  }
  CHECK(e.jobs() == 1);
}

TEST_CASE("openai: the same Idempotency-Key on /v1/jobs and on the OpenAI endpoint names two requests") {
  live_engine e;
  auto job = e.http.post("/v1/jobs", R"({"user_id":"u1","prompt":"a kite","tier":"sd"})", "application/json",
                         idem("shared-key"));
  REQUIRE(job.status == 202);
  auto openai = e.http.post(path, R"({"prompt":"a kite","user":"u1"})", "application/json", idem("shared-key"));
  CHECK(openai.status == 200);
  CHECK(e.jobs() == 2);
  // each endpoint still replays its own
  auto job_again = e.http.post("/v1/jobs", R"({"user_id":"u1","prompt":"a kite","tier":"sd"})", "application/json",
                               idem("shared-key"));
  CHECK(job_again.status == 202);
  CHECK(job_again.headers["Idempotent-Replayed"] == "true");
  auto openai_again = e.http.post(path, R"({"user":"u1","prompt":"a kite"})", "application/json", idem("shared-key"));
  CHECK(openai_again.status == 200);
  CHECK(e.jobs() == 2);
}

TEST_CASE("openai: the answer names the provider that served it, and images are b64_json by default") {
  live_engine e;
  auto r = e.http.post(path, R"({"prompt":"a kite","user":"u1","n":2})");
  REQUIRE(r.status == 200);
  const auto provider = json_field(r.body, "provider");
  REQUIRE_FALSE(provider.empty());
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE provider='" + provider + "'") == 1);
  CHECK(r.body.find("\"b64_json\":\"") != std::string::npos);
  CHECK(r.body.find("\"url\"") == std::string::npos);

  // url: a signed URL of the image store (tests/image_store_http_test.cpp fetches it); another format: a clear 400
  auto url = e.http.post(path, R"({"prompt":"a kite","user":"u1","response_format":"url"})");
  CHECK(url.status == 200);
  CHECK(url.body.find("\"url\":\"/v1/images/") != std::string::npos);
  auto odd = e.http.post(path, R"({"prompt":"a kite","user":"u1","response_format":"png"})");
  CHECK(odd.status == 400);
  CHECK(error_of(odd.body, "param") == "response_format");
  CHECK(e.jobs() == 2);
}

TEST_CASE("openai: without keys, each request without user is a user of its own") {
  live_engine e;
  for (int i = 0; i < 4; ++i)
    REQUIRE(e.http.post(path, R"({"prompt":"a kite"})").status == 200);
  CHECK(e.jobs() == 4);
  CHECK(e.rows("SELECT COUNT(DISTINCT user_id) FROM jobs") == 4);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE user_id='anonymous'") == 0);
  // a request that names its user keeps it
  REQUIRE(e.http.post(path, R"({"prompt":"a kite","user":"dave"})").status == 200);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE user_id='dave'") == 1);
}

TEST_CASE("openai: with keys, a request without user is routed by the key's name") {
  temp_dir keys;
  const std::string keys_file = keys.file("keys.yaml");
  std::ofstream(keys_file) << "keys:\n  - {name: mindmend, key: \"mindmend-key-00000001\", scopes: [submit, read]}\n";
  live_engine e{"auth: {keys_file: " + keys_file + "}\n"};
  const std::map<std::string, std::string> key{{"Authorization", "Bearer mindmend-key-00000001"}};
  for (int i = 0; i < 2; ++i)
    REQUIRE(e.http.post(path, R"({"prompt":"a kite"})", "application/json", key).status == 200);
  REQUIRE(e.http.post(path, R"({"prompt":"a kite","user":"erin"})", "application/json", key).status == 200);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE user_id='mindmend'") == 2);
  CHECK(e.rows("SELECT COUNT(*) FROM jobs WHERE user_id='erin'") == 1);
}
