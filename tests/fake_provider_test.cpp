/// cutover-fake-provider as a child process over real HTTP on loopback: each api's success shape, auth errors,
/// injected faults in the providers' own formats, async jobs through every state, the call log and the stats.

#include <catch2/catch.hpp>

#include <cpprest/http_client.h>
#include <cpprest/json.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <map>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using web::json::value;
using headers_t = std::map<std::string, std::string>;

const headers_t openai_key{{"Authorization", "Bearer test-key"}};
const headers_t replicate_key = openai_key;
const headers_t google_key{{"x-goog-api-key", "test-key"}};
const std::string openai_path = "/v1/images/generations", imagen_path = "/v1beta/models/imagen-4.0-generate-001:predict",
                  batch_path = "/v1beta/models/gemini-img:batchGenerateContent";
const std::string png_base64_prefix = "iVBORw0KGgo"; // the PNG signature, base64-encoded

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> argv{const_cast<char*>(FAKE_PROVIDER_BINARY)};
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

/// The fake as a child process; its one stdout line gives the URL. Killed at the end unless terminated.
class fake_process {
public:
  explicit fake_process(std::vector<std::string> args = {}) {
    int fds[2];
    if (::pipe(fds) != 0)
      throw std::runtime_error("pipe failed");
    auto argv = argv_of(args);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execv(FAKE_PROVIDER_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
    std::string line;
    char c;
    while (::read(out_fd_, &c, 1) == 1 && c != '\n')
      line += c;
    const std::string prefix = "listening ";
    if (line.rfind(prefix, 0) != 0)
      throw std::runtime_error("the fake did not start: \"" + line + "\"");
    url_ = line.substr(prefix.size());
  }
  ~fake_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_fd_);
  }
  const std::string& url() const { return url_; }
  /// SIGTERM; the exit status.
  int terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

private:
  int pid_ = -1, out_fd_ = -1;
  std::string url_;
};

/// Runs the binary to its end (for command-line errors); its exit status.
int run_to_exit(std::vector<std::string> args) {
  auto argv = argv_of(args);
  const int pid = ::fork();
  if (pid == 0) {
    ::close(1);
    ::close(2);
    ::execv(FAKE_PROVIDER_BINARY, argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct reply {
  int status = 0;
  std::string body;
  value json; ///< null when the body is not JSON
  headers_t headers; ///< names in lower case
  std::string header(std::string name) const {
    auto it = headers.find(lower(std::move(name)));
    return it == headers.end() ? std::string{} : it->second;
  }
  static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  }
};

class client {
public:
  explicit client(const std::string& base) : http_(base, config()) {}

  pplx::task<reply> send_async(const std::string& method, const std::string& path, const std::string& body = {},
                               const headers_t& headers = {}) {
    web::http::http_request req(method);
    req.set_request_uri(path);
    if (!body.empty())
      req.set_body(body, "application/json");
    for (const auto& [k, v] : headers)
      req.headers().add(k, v);
    return http_.request(req).then([](web::http::http_response resp) {
      reply r;
      r.status = resp.status_code();
      for (const auto& h : resp.headers())
        r.headers[reply::lower(h.first)] = h.second;
      r.body = resp.extract_string(true).get();
      std::error_code ec;
      r.json = value::parse(r.body, ec);
      if (ec)
        r.json = value::null();
      return r;
    });
  }
  reply send(const std::string& method, const std::string& path, const std::string& body = {},
             const headers_t& headers = {}) {
    return send_async(method, path, body, headers).get();
  }
  reply post(const std::string& path, const std::string& body, const headers_t& headers = {}) {
    return send("POST", path, body, headers);
  }
  reply get(const std::string& path, const headers_t& headers = {}) { return send("GET", path, {}, headers); }
  void faults(const std::string& json) { REQUIRE(post("/_fake/faults", json).status == 204); }

private:
  static web::http::client::http_client_config config() {
    web::http::client::http_client_config c;
    c.set_timeout(std::chrono::seconds(60));
    return c;
  }
  web::http::client::http_client http_;
};

/// A fresh fake and a client to it.
struct fixture {
  fake_process fake;
  client http{fake.url()};
};

std::string str(const value& v, const std::string& name) { return v.at(name).as_string(); }

std::string batch_body(const std::vector<std::string>& keys) {
  std::string requests;
  for (const auto& k : keys)
    requests += (requests.empty() ? "" : ",") + std::string(R"({"request":{"contents":[{"parts":[{"text":"kite )") +
                k + R"("}]}]},"metadata":{"key":")" + k + R"("}})";
  return R"({"batch":{"displayName":"t","inputConfig":{"requests":{"requests":[)" + requests + "]}}}}";
}

/// The `@type`-named entry of a Google error's details.
value detail(const reply& r, const std::string& type) {
  for (const auto& d : r.json.at("error").at("details").as_array())
    if (str(d, "@type") == "type.googleapis.com/google.rpc." + type)
      return d;
  FAIL("no " + type + " in " + r.body);
  return value::null();
}

} // namespace

TEST_CASE("openai answers n base64 PNG images with created and usage") {
  fixture f;
  auto r = f.http.post(openai_path, R"({"model":"gpt-image-1","prompt":"red kite","n":3,"size":"1024x1024"})", openai_key);
  REQUIRE(r.status == 200);
  CHECK(r.json.at("created").is_integer());
  REQUIRE(r.json.at("data").size() == 3);
  for (const auto& item : r.json.at("data").as_array())
    CHECK(str(item, "b64_json").rfind(png_base64_prefix, 0) == 0);
  CHECK(r.json.at("usage").at("total_tokens").as_integer() > 0);
}

TEST_CASE("a missing or wrong key gets each api's own auth error") {
  fixture f;
  for (const auto& h : {headers_t{}, headers_t{{"Authorization", "Bearer nope"}}}) {
    auto r = f.http.post(openai_path, R"({"prompt":"x"})", h);
    CHECK(r.status == 401);
    CHECK(str(r.json.at("error"), "code") == "invalid_api_key");
    CHECK(r.json.at("error").at("param").is_null());
  }
  auto rep = f.http.post("/v1/predictions", R"({"version":"v1","input":{"prompt":"x"}})", {{"Authorization", "Bearer no"}});
  CHECK(rep.status == 401);
  CHECK(str(rep.json, "title") == "Unauthenticated");
  CHECK(rep.json.at("status").as_integer() == 401);
  CHECK(rep.header("Content-Type") == "application/problem+json");
  for (const auto& path : {imagen_path, batch_path}) {
    auto g = f.http.post(path, "{}", {{"x-goog-api-key", "wrong"}});
    CHECK(g.status == 400);
    CHECK(str(g.json.at("error"), "status") == "INVALID_ARGUMENT");
    CHECK(str(detail(g, "ErrorInfo"), "reason") == "API_KEY_INVALID");
  }
}

TEST_CASE("a 429 carries Retry-After for openai and replicate and RetryInfo for google") {
  fixture f;
  f.http.faults(R"({"error_rates":{"429":1},"retry_after_s":3})");
  auto o = f.http.post(openai_path, R"({"prompt":"x"})", openai_key);
  CHECK(o.status == 429);
  CHECK(o.header("Retry-After") == "3");
  CHECK(str(o.json.at("error"), "code") == "rate_limit_exceeded");
  auto r = f.http.post("/v1/models/acme/flux/predictions", R"({"input":{"prompt":"x"}})", replicate_key);
  CHECK(r.status == 429);
  CHECK(r.header("Retry-After") == "3");
  CHECK(str(r.json, "detail").find("~3s") != std::string::npos);
  for (const auto& path : {imagen_path, batch_path}) {
    auto g = f.http.post(path, "{}", google_key);
    CHECK(g.status == 429);
    CHECK(str(g.json.at("error"), "status") == "RESOURCE_EXHAUSTED");
    CHECK(str(detail(g, "RetryInfo"), "retryDelay") == "3s");
    CHECK(str(detail(g, "QuotaFailure").at("violations").at(0), "quotaId").find("PerDay") == std::string::npos);
  }
}

TEST_CASE("the quota fault is insufficient_quota for openai 402 for replicate and a PerDay quota for google") {
  fixture f;
  f.http.faults(R"({"quota_rate":1})");
  auto o = f.http.post(openai_path, R"({"prompt":"x"})", openai_key);
  CHECK(o.status == 429);
  CHECK(str(o.json.at("error"), "type") == "insufficient_quota");
  auto r = f.http.post("/v1/predictions", R"({"version":"v","input":{"prompt":"x"}})", replicate_key);
  CHECK(r.status == 402);
  CHECK(str(r.json, "title") == "Insufficient credit");
  auto g = f.http.post(imagen_path, "{}", google_key);
  CHECK(g.status == 429);
  CHECK(str(detail(g, "QuotaFailure").at("violations").at(0), "quotaId").find("PerDay") != std::string::npos);
}

TEST_CASE("empty data is a success without image data in every api") {
  fixture f;
  f.http.faults(R"({"empty_data_rate":1,"async_polls_before_done":0})");
  auto o = f.http.post(openai_path, R"({"prompt":"x","n":2})", openai_key);
  CHECK(o.status == 200);
  CHECK(o.json.at("data").size() == 0);
  auto i = f.http.post(imagen_path, R"({"instances":[{"prompt":"x"}],"parameters":{"sampleCount":2}})", google_key);
  CHECK(i.status == 200);
  CHECK(i.json.at("predictions").size() == 0);
  auto p = f.http.post("/v1/predictions", R"({"version":"v","input":{"prompt":"x"}})", replicate_key);
  auto done = f.http.get("/v1/predictions/" + str(p.json, "id"), replicate_key);
  CHECK(str(done.json, "status") == "succeeded");
  CHECK(done.json.at("output").size() == 0);
  auto b = f.http.post(batch_path, batch_body({"a"}), google_key);
  auto op = f.http.get("/v1beta/" + str(b.json, "name"), google_key);
  const auto& part = op.json.at("response").at("inlinedResponses").at("inlinedResponses").at(0).at("response")
                         .at("candidates").at(0).at("content").at("parts").at(0);
  CHECK_FALSE(part.has_field("inlineData"));
}

TEST_CASE("a malformed answer is a success status with a body that is not JSON") {
  fixture f;
  f.http.faults(R"({"malformed_rate":1})");
  auto o = f.http.post(openai_path, R"({"prompt":"x"})", openai_key);
  auto r = f.http.post("/v1/predictions", R"({"version":"v","input":{"prompt":"x"}})", replicate_key);
  auto i = f.http.post(imagen_path, R"({"instances":[{"prompt":"x"}]})", google_key);
  auto b = f.http.post(batch_path, batch_body({"a"}), google_key);
  for (const auto* a : {&o, &r, &i, &b}) {
    CHECK(a->status / 100 == 2);
    CHECK_FALSE(a->body.empty());
    CHECK(a->json.is_null());
  }
}

TEST_CASE("content policy answers follow each provider") {
  fixture f;
  f.http.faults(R"({"content_policy_rate":1,"async_polls_before_done":0})");
  auto dalle = f.http.post(openai_path, R"({"model":"dall-e-3","prompt":"x"})", openai_key);
  CHECK(dalle.status == 400);
  CHECK(str(dalle.json.at("error"), "code") == "content_policy_violation");
  auto gpt = f.http.post(openai_path, R"({"model":"gpt-image-1","prompt":"x"})", openai_key);
  CHECK(str(gpt.json.at("error"), "code") == "moderation_blocked");
  auto i = f.http.post(imagen_path, R"({"instances":[{"prompt":"x"}]})", google_key);
  CHECK(i.status == 400);
  CHECK(str(i.json.at("error"), "message").find("Responsible AI") != std::string::npos);
  auto p = f.http.post("/v1/predictions", R"({"version":"v","input":{"prompt":"x"}})", replicate_key);
  auto done = f.http.get("/v1/predictions/" + str(p.json, "id"), replicate_key);
  CHECK(str(done.json, "status") == "failed");
  CHECK(str(done.json, "error").find("NSFW") != std::string::npos);
}

TEST_CASE("imagen answers sampleCount PNG predictions") {
  fixture f;
  auto r = f.http.post(imagen_path, R"({"instances":[{"prompt":"red kite"}],"parameters":{"sampleCount":2}})", google_key);
  REQUIRE(r.status == 200);
  REQUIRE(r.json.at("predictions").size() == 2);
  for (const auto& p : r.json.at("predictions").as_array()) {
    CHECK(str(p, "mimeType") == "image/png");
    CHECK(str(p, "bytesBase64Encoded").rfind(png_base64_prefix, 0) == 0);
  }
}

TEST_CASE("a replicate prediction goes from starting through processing to succeeded") {
  fixture f;
  f.http.faults(R"({"async_polls_before_done":2})");
  auto created = f.http.post("/v1/models/acme/flux/predictions", R"({"input":{"prompt":"red kite","num_outputs":2}})",
                             replicate_key);
  REQUIRE(created.status == 201);
  CHECK(str(created.json, "status") == "starting");
  CHECK(created.json.at("output").is_null());
  CHECK(created.json.at("error").is_null());
  CHECK(str(created.json.at("input"), "prompt") == "red kite");
  const auto get_url = str(created.json.at("urls"), "get");
  CHECK(get_url == f.fake.url() + "/v1/predictions/" + str(created.json, "id"));
  CHECK(created.json.at("urls").has_field("cancel"));
  const auto path = get_url.substr(f.fake.url().size());
  CHECK(str(f.http.get(path, replicate_key).json, "status") == "processing");
  CHECK(str(f.http.get(path, replicate_key).json, "status") == "processing");
  auto done = f.http.get(path, replicate_key);
  CHECK(done.status == 200);
  CHECK(str(done.json, "status") == "succeeded");
  REQUIRE(done.json.at("output").size() == 2);
  CHECK(done.json.at("output").at(0).as_string().rfind("data:image/png;base64," + png_base64_prefix, 0) == 0);
  CHECK(str(f.http.get(path, replicate_key).json, "status") == "succeeded");
}

TEST_CASE("a replicate prediction can be canceled and can fail") {
  fixture f;
  auto created = f.http.post("/v1/predictions", R"({"version":"abc","input":{"prompt":"x"}})", replicate_key);
  const auto id = str(created.json, "id");
  auto canceled = f.http.post("/v1/predictions/" + id + "/cancel", "", replicate_key);
  CHECK(canceled.status == 200);
  CHECK(str(canceled.json, "status") == "canceled");
  CHECK(str(f.http.get("/v1/predictions/" + id, replicate_key).json, "status") == "canceled");
  CHECK(f.http.get("/v1/predictions/nope", replicate_key).status == 404);
  f.http.faults(R"({"async_failure_rate":1,"async_polls_before_done":0})");
  auto doomed = f.http.post("/v1/predictions", R"({"version":"abc","input":{"prompt":"x"}})", replicate_key);
  auto failed = f.http.get("/v1/predictions/" + str(doomed.json, "id"), replicate_key);
  CHECK(str(failed.json, "status") == "failed");
  CHECK(failed.json.at("error").is_string());
}

TEST_CASE("a gemini batch goes from pending through running to succeeded with results in both places") {
  fixture f;
  f.http.faults(R"({"async_polls_before_done":2})");
  auto created = f.http.post(batch_path, batch_body({"j1", "j2", "j3"}), google_key);
  REQUIRE(created.status == 200);
  const auto name = str(created.json, "name");
  CHECK(name.rfind("batches/", 0) == 0);
  CHECK(str(created.json.at("metadata"), "state") == "BATCH_STATE_PENDING");
  CHECK_FALSE(created.json.has_field("done"));
  for (int i = 0; i < 2; ++i) {
    auto running = f.http.get("/v1beta/" + name, google_key);
    CHECK(str(running.json.at("metadata"), "state") == "BATCH_STATE_RUNNING");
    CHECK_FALSE(running.json.has_field("done"));
  }
  auto done = f.http.get("/v1beta/" + name, google_key);
  REQUIRE(done.status == 200);
  CHECK(str(done.json.at("metadata"), "state") == "BATCH_STATE_SUCCEEDED");
  CHECK(done.json.at("done").as_bool());
  const auto& from_meta = done.json.at("metadata").at("output").at("inlinedResponses").at("inlinedResponses");
  const auto& from_response = done.json.at("response").at("inlinedResponses").at("inlinedResponses");
  REQUIRE(from_meta.size() == 3);
  CHECK(from_meta.serialize() == from_response.serialize());
  const std::vector<std::string> keys{"j1", "j2", "j3"};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CHECK(str(from_meta.at(i).at("metadata"), "key") == keys[i]);
    const auto& data = from_meta.at(i).at("response").at("candidates").at(0).at("content").at("parts").at(0).at("inlineData");
    CHECK(str(data, "mimeType") == "image/png");
    CHECK(str(data, "data").rfind(png_base64_prefix, 0) == 0);
  }
}

TEST_CASE("a gemini batch can be cancelled and unknown batches are NOT_FOUND") {
  fixture f;
  auto created = f.http.post(batch_path, batch_body({"a"}), google_key);
  const auto name = str(created.json, "name");
  CHECK(f.http.post("/v1beta/" + name + ":cancel", "", google_key).status == 200);
  auto op = f.http.get("/v1beta/" + name, google_key);
  CHECK(str(op.json.at("metadata"), "state") == "BATCH_STATE_CANCELLED");
  CHECK(op.json.at("done").as_bool());
  auto missing = f.http.get("/v1beta/batches/nope", google_key);
  CHECK(missing.status == 404);
  CHECK(str(missing.json.at("error"), "status") == "NOT_FOUND");
}

TEST_CASE("calls are recorded with their api and status") {
  fixture f;
  f.http.post(openai_path, R"({"prompt":"x"})", openai_key);
  f.http.post(openai_path, R"({"prompt":"x"})");
  f.http.post(imagen_path, R"({"instances":[{"prompt":"x"}]})", google_key);
  auto created = f.http.post("/v1/predictions", R"({"version":"v","input":{"prompt":"x"}})", replicate_key);
  f.http.get("/v1/predictions/" + str(created.json, "id"), replicate_key);
  f.http.post(batch_path, batch_body({"a"}), google_key);
  auto calls = f.http.get("/_fake/calls").json;
  REQUIRE(calls.size() == 6);
  const std::vector<std::pair<std::string, int>> expected{{"openai", 200},    {"openai", 401},    {"imagen", 200},
                                                          {"replicate", 201}, {"replicate", 200}, {"gemini_batch", 200}};
  long long last_ms = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& c = calls.at(i);
    CHECK(c.at("seq").as_integer() == static_cast<int>(i + 1));
    CHECK(str(c, "api") == expected[i].first);
    CHECK(c.at("status").as_integer() == expected[i].second);
    CHECK(c.at("at_ms").as_number().to_int64() >= last_ms);
    last_ms = c.at("at_ms").as_number().to_int64();
  }
  CHECK(str(calls.at(4), "method") == "GET");
  CHECK(str(calls.at(4), "path") == "/v1/predictions/" + str(created.json, "id"));
  CHECK(f.http.get("/_fake/calls?since=5").json.size() == 1);
}

TEST_CASE("stats count created remote jobs but not refused creates and reset clears them") {
  fixture f;
  f.http.post("/v1/predictions", R"({"version":"v","input":{"prompt":"x"}})", replicate_key);
  f.http.post("/v1/models/a/b/predictions", R"({"input":{"prompt":"x"}})", replicate_key);
  f.http.post(batch_path, batch_body({"a", "b"}), google_key);
  f.http.faults(R"({"error_rates":{"500":1}})");
  CHECK(f.http.post(batch_path, batch_body({"c"}), google_key).status == 500);
  auto stats = f.http.get("/_fake/stats").json;
  CHECK(stats.at("jobs_created").at("replicate").as_integer() == 2);
  CHECK(stats.at("jobs_created").at("gemini_batch").as_integer() == 1);
  CHECK(stats.at("jobs_created").at("total").as_integer() == 3);
  CHECK(stats.at("batch_items_created").as_integer() == 2);
  CHECK(stats.at("by_api").at("gemini_batch").at("by_status").at("500").as_integer() == 1);
  CHECK(stats.at("by_api").at("replicate").at("by_status").at("201").as_integer() == 2);
  CHECK(f.http.post("/_fake/reset", "").status == 204);
  auto after = f.http.get("/_fake/stats").json;
  CHECK(after.at("jobs_created").at("total").as_integer() == 0);
  CHECK(f.http.get("/_fake/calls").json.size() == 0);
}

TEST_CASE("the same seed draws the same faults for the same requests") {
  fixture f;
  auto statuses = [&] {
    f.http.faults(R"({"seed":7,"error_rates":{"500":0.5}})");
    std::vector<int> out;
    for (int i = 0; i < 16; ++i)
      out.push_back(f.http.post(openai_path, R"({"prompt":"x"})", openai_key).status);
    return out;
  };
  auto first = statuses();
  CHECK(first == statuses());
  CHECK(std::count(first.begin(), first.end(), 500) > 0);
  CHECK(std::count(first.begin(), first.end(), 200) > 0);
}

TEST_CASE("faults for one api override the default and leave the others alone") {
  fixture f;
  f.http.faults(R"({"default":{"error_rates":{"503":1}},"imagen":{"error_rates":{"503":0}}})");
  auto o = f.http.post(openai_path, R"({"prompt":"x"})", openai_key);
  CHECK(o.status == 503);
  CHECK(str(o.json.at("error"), "type") == "server_error");
  CHECK(f.http.post(imagen_path, R"({"instances":[{"prompt":"x"}]})", google_key).status == 200);
  auto g = f.http.post(batch_path, batch_body({"a"}), google_key);
  CHECK(str(g.json.at("error"), "status") == "UNAVAILABLE");
}

TEST_CASE("invalid fault settings are refused with the key path") {
  fixture f;
  auto r = f.http.post("/_fake/faults", R"({"openai":{"error_rates":{"500":2}}})");
  CHECK(r.status == 400);
  CHECK(str(r.json, "error").find("openai.error_rates.500") != std::string::npos);
  CHECK(f.http.post("/_fake/faults", R"({"hang_rat":1})").status == 400);
  CHECK(run_to_exit({"--faults", "{\"latency_ms\":-1}"}) == 2);
  CHECK(run_to_exit({"--port", "nope"}) == 2);
}

TEST_CASE("latency delays one answer without holding up the others") {
  fixture f;
  f.http.faults(R"({"openai":{"latency_ms":1500}})");
  const auto start = std::chrono::steady_clock::now();
  auto slow = f.http.send_async("POST", openai_path, R"({"prompt":"x"})", openai_key);
  CHECK(f.http.post(imagen_path, R"({"instances":[{"prompt":"x"}]})", google_key).status == 200);
  CHECK_FALSE(slow.is_done());
  CHECK(slow.get().status == 200);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(1500));
}

TEST_CASE("a hung request is let go after hang_ms and at shutdown which exits 0") {
  fixture f;
  f.http.faults(R"({"hang_rate":1,"hang_ms":300})");
  auto released = f.http.post(openai_path, R"({"prompt":"x"})", openai_key);
  CHECK(released.status == 503);
  f.http.faults(R"({"hang_rate":1})");
  auto hung = f.http.send_async("POST", imagen_path, R"({"instances":[{"prompt":"x"}]})", google_key);
  // Wait (over HTTP, no sleep) until the fake has taken the call in.
  value calls;
  do
    calls = f.http.get("/_fake/calls?since=1").json;
  while (calls.size() == 0);
  CHECK(calls.at(0).at("status").as_integer() == 0);
  CHECK(str(calls.at(0), "fault") == "hang");
  CHECK_FALSE(hung.is_done());
  CHECK(f.fake.terminate() == 0);
  auto r = hung.get();
  CHECK(r.status == 503);
  CHECK(str(r.json.at("error"), "status") == "UNAVAILABLE");
}

TEST_CASE("gemini batch items can fail one by one and a whole batch can fail") {
  fixture f;
  f.http.faults(R"({"item_error_rate":1,"async_polls_before_done":0})");
  auto items = f.http.get("/v1beta/" + str(f.http.post(batch_path, batch_body({"a", "b"}), google_key).json, "name"),
                          google_key);
  CHECK(str(items.json.at("metadata"), "state") == "BATCH_STATE_SUCCEEDED");
  CHECK(str(items.json.at("metadata").at("batchStats"), "failedRequestCount") == "2");
  const auto& first = items.json.at("response").at("inlinedResponses").at("inlinedResponses").at(0);
  CHECK(str(first.at("metadata"), "key") == "a");
  CHECK(str(first.at("error"), "status") == "INTERNAL");
  f.http.faults(R"({"async_failure_rate":1,"async_polls_before_done":0})");
  auto whole = f.http.get("/v1beta/" + str(f.http.post(batch_path, batch_body({"c"}), google_key).json, "name"),
                          google_key);
  CHECK(str(whole.json.at("metadata"), "state") == "BATCH_STATE_FAILED");
  CHECK(whole.json.at("done").as_bool());
  CHECK(whole.json.at("error").at("code").as_integer() == 13);
  CHECK_FALSE(whole.json.has_field("response"));
}

TEST_CASE("replicate answers a finished prediction at once to Prefer wait when no poll is needed") {
  fixture f;
  f.http.faults(R"({"async_polls_before_done":0})");
  auto headers = replicate_key;
  headers["Prefer"] = "wait=5";
  auto r = f.http.post("/v1/models/acme/flux/predictions", R"({"input":{"prompt":"x"}})", headers);
  CHECK(r.status == 201);
  CHECK(str(r.json, "status") == "succeeded");
  CHECK(r.json.at("output").size() == 1);
}

TEST_CASE("the OpenAI fake answers 400 invalid_request_error to a model it does not serve") {
  fixture f;
  auto r = f.http.post(openai_path, R"({"model":"no-such-model","prompt":"x"})", openai_key);
  CHECK(r.status == 400);
  CHECK(str(r.json.at("error"), "type") == "invalid_request_error");
  CHECK(str(r.json.at("error"), "param") == "model");
  CHECK(f.http.post(openai_path, R"({"model":"gpt-image-1","prompt":"x"})", openai_key).status == 200);
}
