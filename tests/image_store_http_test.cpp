// The image store over real HTTP on loopback against the real binary, with real files: results are files named by
// their SHA-256 under images/ab/, on disk once the job is final; signed URLs serve them without a key and refuse
// a tampered or expired signature; ?images=b64 and the OpenAI endpoint give the bytes; a provider's image URL is
// downloaded within images.max_download_bytes; the sweep deletes a file images.retention after its last job.

#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <cpprest/http_listener.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace cutover::testing;
namespace fs = std::filesystem;

namespace {

std::string hex(const unsigned char* d, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 15];
  }
  return out;
}

std::string sha256_of(const std::string& bytes) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d);
  return hex(d, sizeof d);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string decode_b64(const std::string& b64) {
  std::string out(b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  REQUIRE(n >= 0);
  std::size_t pad = 0; // EVP_DecodeBlock counts the padding as zero bytes
  for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it)
    ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

/// The value of `"name":"..."` after position `from` in `body`; empty when none.
std::string string_after(const std::string& body, const std::string& name, std::size_t from = 0) {
  const auto key = "\"" + name + "\":\"";
  const auto at = body.find(key, from);
  if (at == std::string::npos)
    return {};
  const auto start = at + key.size();
  return body.substr(start, body.find('"', start) - start);
}

std::string path_of(const std::string& url) { // "/v1/images/..." of an absolute or relative URL
  const auto at = url.find("/v1/images/");
  return at == std::string::npos ? std::string{} : url.substr(at);
}

std::string digest_of(const std::string& url) {
  const auto p = path_of(url);
  return p.substr(std::string{"/v1/images/"}.size(), 64);
}

struct image_engine {
  temp_dir dir;
  engine_process engine;
  http_client http{engine.base_url()};
  explicit image_engine(const std::string& extra = "") : engine{dir.path.string(), fast_config(0) + extra} {}
  fs::path image_file(const std::string& digest) const {
    return dir.path / "images" / digest.substr(0, 2) / (digest + ".png");
  }
  std::string secret() const {
    auto s = read_file(dir.path / "image-url.secret");
    while (!s.empty() && s.back() == '\n')
      s.pop_back();
    return s;
  }
  std::string signed_path(const std::string& digest, long long exp) const {
    const auto text = digest + ":" + std::to_string(exp);
    const auto key = secret();
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
         text.size(), mac, &len);
    return "/v1/images/" + digest + "?exp=" + std::to_string(exp) + "&sig=" + hex(mac, len);
  }
  /// Submits a job and returns its body once final.
  std::string finished_job(const std::string& prompt, const std::string& query = "", const std::string& user = "u1") {
    auto made = http.post("/v1/jobs", R"({"user_id":")" + user + R"(","prompt":")" + prompt + R"(","tier":"sd"})");
    REQUIRE(made.status == 202);
    const auto id = json_field(made.body, "id");
    auto got = http.get("/v1/jobs/" + id + "?wait=20" + query);
    REQUIRE(got.status == 200);
    return got.body;
  }
};

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

TEST_CASE("images: a finished job's image is an fsynced file named by its SHA-256, served by its signed URL without a key") {
  image_engine e;
  const auto job = e.finished_job("a red kite");
  REQUIRE(json_field(job, "status") == "succeeded");
  CHECK(job.find("b64_json") == std::string::npos); // a URL, not megabytes of base64
  const auto url = string_after(job, "url");
  REQUIRE(!url.empty());
  const auto digest = digest_of(url);
  REQUIRE(digest.size() == 64);
  // on disk, sharded, named by the hash of its bytes, by the time the job is final
  const auto file = e.image_file(digest);
  REQUIRE(fs::exists(file));
  const auto bytes = read_file(file);
  CHECK(bytes.rfind("\x89PNG", 0) == 0);
  CHECK(sha256_of(bytes) == digest);
  CHECK_FALSE(fs::exists(e.dir.path / "images" / digest.substr(0, 2) / digest.substr(2, 2))); // one folder level
  for (const auto& entry : fs::directory_iterator(file.parent_path())) // no temporary file left behind
    CHECK(entry.path().extension() == ".png");
  // the URL itself, no header
  auto served = e.http.get(path_of(url));
  CHECK(served.status == 200);
  CHECK(served.headers["Content-Type"] == "image/png");
  CHECK(served.body == bytes);
  // the secret is a 0600 file in the data directory
  const auto perms = fs::status(e.dir.path / "image-url.secret").permissions();
  CHECK((perms & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
}

TEST_CASE("images: an image answer may be cached privately no longer than its URL stays valid") {
  image_engine e{"images: {url_ttl: 60s}\n"};
  const auto url = string_after(e.finished_job("a blue kite"), "url");
  REQUIRE(!url.empty());
  auto max_age_of = [](const std::string& cache_control) {
    INFO(cache_control);
    REQUIRE(cache_control.find("private") != std::string::npos);
    const auto at = cache_control.find("max-age=");
    REQUIRE(at != std::string::npos);
    return std::stoll(cache_control.substr(at + 8));
  };
  // a URL given now is valid for url_ttl (60 s): a cache keeps the answer no longer than that
  auto served = e.http.get(path_of(url));
  REQUIRE(served.status == 200);
  const auto given = max_age_of(served.headers["Cache-Control"]);
  CHECK(given <= 60);
  CHECK(given >= 50);
  // a URL with 10 s left: at most 10 s
  auto soon = e.http.get(e.signed_path(digest_of(url), unix_now() + 10));
  REQUIRE(soon.status == 200);
  const auto left = max_age_of(soon.headers["Cache-Control"]);
  CHECK(left <= 10);
  CHECK(left >= 0);
}

TEST_CASE("images: a tampered or expired signature is 403, an unknown image with a valid one 404") {
  image_engine e;
  const auto job = e.finished_job("a blue kite");
  const auto url = path_of(string_after(job, "url"));
  REQUIRE(!url.empty());
  const auto digest = digest_of(url);
  CHECK(e.http.get(url).status == 200);
  // the scheme as documented: HMAC-SHA256(secret, "<sha256>:<exp>"), checked here with the secret file
  CHECK(e.http.get(e.signed_path(digest, unix_now() + 600)).status == 200);

  auto tampered = url;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  auto r = e.http.get(tampered);
  CHECK(r.status == 403);
  CHECK(json_field(json_field(r.body, "error"), "code") == "invalid_signature");
  // a later expiry with the old signature
  const auto exp_at = url.find("exp=") + 4;
  auto later = url;
  later.insert(exp_at, "9");
  CHECK(e.http.get(later).status == 403);
  CHECK(e.http.get("/v1/images/" + digest).status == 403); // no signature at all

  auto expired = e.http.get(e.signed_path(digest, unix_now() - 5));
  CHECK(expired.status == 403);
  CHECK(json_field(json_field(expired.body, "error"), "code") == "url_expired");

  const std::string unknown(64, 'a');
  auto missing = e.http.get(e.signed_path(unknown, unix_now() + 600));
  CHECK(missing.status == 404);
  // and without a valid signature an unknown image is a 403, not a 404: a URL says nothing without its signature
  CHECK(e.http.get("/v1/images/" + unknown + "?exp=99999999999&sig=00").status == 403);
}

TEST_CASE("images: ?images=b64 and the OpenAI default give the file bytes, response_format url a signed URL") {
  image_engine e;
  const auto job = e.finished_job("a green kite", "&images=b64");
  const auto b64 = string_after(job, "b64_json");
  REQUIRE(!b64.empty());
  const auto bytes = decode_b64(b64);
  const auto digest = sha256_of(bytes);
  CHECK(fs::exists(e.image_file(digest)));
  CHECK(e.http.get("/v1/jobs/" + json_field(job, "id") + "?images=png").status == 400);

  auto openai = e.http.post("/v1/images/generations", R"({"prompt":"a green kite","user":"u1"})");
  REQUIRE(openai.status == 200);
  CHECK(decode_b64(string_after(openai.body, "b64_json")) == bytes); // the same prompt: the same simulated image
  auto as_url = e.http.post("/v1/images/generations", R"({"prompt":"a green kite","user":"u1","response_format":"url"})");
  REQUIRE(as_url.status == 200);
  const auto url = string_after(as_url.body, "url");
  CHECK(digest_of(url) == digest);
  auto fetched = e.http.get(path_of(url));
  CHECK(fetched.status == 200);
  CHECK(fetched.body == bytes);
}

TEST_CASE("images: with server.public_url the URLs are absolute") {
  temp_dir dir;
  auto cfg = fast_config(0);
  const auto at = cfg.find("max_body_bytes: 4096");
  REQUIRE(at != std::string::npos);
  cfg.insert(at, "public_url: \"https://img.example.com/gw\", ");
  engine_process engine{dir.path.string(), cfg};
  http_client http{engine.base_url()};
  auto made = http.post("/v1/jobs", R"({"user_id":"u1","prompt":"a kite","tier":"sd"})");
  REQUIRE(made.status == 202);
  auto job = http.get("/v1/jobs/" + json_field(made.body, "id") + "?wait=20");
  CHECK(string_after(job.body, "url").rfind("https://img.example.com/gw/v1/images/", 0) == 0);
}

TEST_CASE("images: the sweep deletes a file images.retention after its last job, and its URL then answers 404") {
  image_engine e("images: {retention: 2s}\n");
  const auto url = path_of(string_after(e.finished_job("a kite to forget"), "url"));
  REQUIRE(!url.empty());
  const auto file = e.image_file(digest_of(url));
  REQUIRE(fs::exists(file));
  REQUIRE(e.engine.wait_for_log("event=images_swept count=1", std::chrono::seconds(30)));
  CHECK_FALSE(fs::exists(file));
  CHECK(e.http.get(url).status == 404);
}

namespace {

/// An OpenAI-shaped provider on loopback that answers image URLs (as dall-e does with response_format url) and
/// serves the files: `small.png` (a PNG) and `big.png` (past the engine's download bound).
struct url_provider {
  web::http::experimental::listener::http_listener listener;
  std::string base;
  std::string small_png;
  explicit url_provider(int port)
    : listener("http://127.0.0.1:" + std::to_string(port)), base("http://127.0.0.1:" + std::to_string(port)) {
    small_png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(200, 'p');
    listener.support([this](web::http::http_request req) {
      const auto path = req.relative_uri().path();
      if (req.method() == web::http::methods::POST) {
        req.extract_string().then([this, req](std::string body) mutable {
          const auto name = body.find("too big") != std::string::npos ? "big.png" : "small.png";
          web::http::http_response r(200);
          r.set_body("{\"created\":1,\"data\":[{\"url\":\"" + base + "/files/" + name + "\"}]}", "application/json");
          req.reply(r);
        });
        return;
      }
      web::http::http_response r(200);
      r.headers().set_content_type("image/png");
      r.set_body(path.find("big") != std::string::npos ? std::string(64 * 1024, 'b') : small_png);
      req.reply(r);
    });
    listener.open().wait();
  }
  ~url_provider() { listener.close().wait(); }
};

std::string url_provider_config(int port) {
  return R"(server: {listen: 127.0.0.1:8080}
store: {path: data/cutover.db, synchronous: normal}
providers:
  dalle:
    kind: openai
    mode: sync
    base_url: http://127.0.0.1:)" + std::to_string(port) + R"(
    api_key_env: IMAGE_TEST_OPENAI_KEY
    model: dall-e-2
    cost_per_image: {sd: 0.02, hd: 0.02, 4k: 0.02}
    retry: {max_attempts: 1}
  unused: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.02, 4k: 0.02}}
tiers: {sd: {batch: {max_items: 10, max_wait: 10ms}}}
rollout:
  name: r
  baseline: dalle
  candidate: unused
  percent: 0
  phases: [{percent: 100}]
images: {max_download_bytes: 4096, download_timeout: 10s}
)";
}

} // namespace

TEST_CASE("images: a provider's image URL is downloaded into the store, one past images.max_download_bytes fails the job clearly") {
  ::setenv("IMAGE_TEST_OPENAI_KEY", "test-key", 1); // the engine inherits it
  const int port = free_port();
  url_provider provider{port};
  temp_dir dir;
  engine_process engine{dir.path.string(), url_provider_config(port)};
  http_client http{engine.base_url()};

  auto small = http.post("/v1/jobs", R"({"user_id":"u1","prompt":"a small kite","tier":"sd"})");
  REQUIRE(small.status == 202);
  auto done = http.get("/v1/jobs/" + json_field(small.body, "id") + "?wait=20");
  INFO(done.body << "\n" << engine.log());
  REQUIRE(json_field(done.body, "status") == "succeeded");
  const auto url = string_after(done.body, "url");
  CHECK(url.find(provider.base) == std::string::npos); // not the provider's URL: ours
  const auto digest = digest_of(url);
  CHECK(digest == sha256_of(provider.small_png));
  CHECK(read_file(dir.path / "images" / digest.substr(0, 2) / (digest + ".png")) ==
        provider.small_png);
  CHECK(http.get(path_of(url)).body == provider.small_png);

  auto big = http.post("/v1/jobs", R"({"user_id":"u1","prompt":"a kite too big","tier":"sd"})");
  REQUIRE(big.status == 202);
  auto failed = http.get("/v1/jobs/" + json_field(big.body, "id") + "?wait=20");
  CHECK(json_field(failed.body, "status") == "dead_lettered"); // its only provider failed it: kept for a replay
  CHECK(failed.body.find("\"error_class\":\"bad_response\"") != std::string::npos);
  CHECK(engine.log().find("event=image_store_failed provider=dalle job=" + json_field(big.body, "id") +
                          " error=bad_response message=\"the image at " + provider.base + "/files/big.png is larger "
                          "than images.max_download_bytes") != std::string::npos);
  CHECK(failed.body.find("\"cost_usd\":0.020000") != std::string::npos); // made and billed by the provider
  CHECK(http.get("/healthz").status == 200); // no crash
}

TEST_CASE("images: DELETE /v1/users/{id}/jobs removes that user's image files, and another user's file stays") {
  image_engine e;
  const auto gone_job = e.finished_job("erase this kite", "", "erase-me");
  const auto kept_job = e.finished_job("keep this boat", "", "keep-me");
  const auto gone = e.image_file(digest_of(string_after(gone_job, "url")));
  const auto kept = e.image_file(digest_of(string_after(kept_job, "url")));
  REQUIRE(gone != kept); // they share nothing
  REQUIRE(fs::exists(gone));
  REQUIRE(fs::exists(kept));
  const auto r = e.http.send("DELETE", "/v1/users/erase-me/jobs");
  REQUIRE(r.status == 200);
  CHECK(json_field(r.body, "erased") == "1");
  CHECK_FALSE(fs::exists(gone));
  CHECK(fs::exists(kept));
  CHECK(e.http.get(path_of(string_after(kept_job, "url"))).status == 200);
}

TEST_CASE("images: with images.dir the files land in that folder, and none under the data dir") {
  temp_dir elsewhere;
  const auto folder = elsewhere.path / "results";
  image_engine e("images:\n  dir: " + folder.string() + "\n");
  const auto job = e.finished_job("a kite kept elsewhere");
  REQUIRE(json_field(job, "status") == "succeeded");
  const auto url = string_after(job, "url");
  const auto digest = digest_of(url);
  REQUIRE(digest.size() == 64);
  const auto file = folder / digest.substr(0, 2) / (digest + ".png");
  CHECK(fs::exists(file));
  CHECK(sha256_of(read_file(file)) == digest);
  CHECK_FALSE(fs::exists(e.image_file(digest)));
  std::size_t under_data = 0; // no image file anywhere under the data dir
  for (const auto& entry : fs::recursive_directory_iterator(e.dir.path))
    under_data += entry.path().extension() == ".png" ? 1 : 0;
  CHECK(under_data == 0);
  CHECK(e.http.get(path_of(url)).status == 200); // served from there
}
