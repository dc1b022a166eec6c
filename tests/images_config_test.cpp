// The `images` and `cache` sections and `server.public_url`: defaults, bounds, the rule between cache.ttl and
// images.retention, and every mistake reported with its line and key path.

#include "adapters/config/loader.hpp"
#include "adapters/images/image_files.hpp"

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
std::vector<std::string> errors_of(const std::string& extra) {
  std::vector<std::string> out;
  for (const auto& e : load_config_text(minimal + extra, "c.yaml").errors)
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

TEST_CASE("without images and cache sections images are kept 30 days beside the store and nothing is cached",
          "[images][config]") {
  auto r = load_config_text(minimal, "c.yaml");
  REQUIRE(r.errors.empty());
  CHECK(r.config->images.dir.empty());
  CHECK(r.config->images.retention == 30 * 24h);
  CHECK(r.config->images.url_ttl == 1h);
  CHECK(r.config->images.max_download_bytes == 32u * 1024 * 1024);
  CHECK_FALSE(r.config->cache.enabled);
  CHECK(r.config->cache.ttl == 30 * 24h);
  CHECK(r.config->server.public_url.empty());
}

TEST_CASE("images, cache and server.public_url load as written", "[images][config]") {
  auto r = load_config_text(minimal + R"(server: {public_url: "https://img.example.com/gw"}
images: {dir: /srv/images, retention: 7d, url_ttl: 10m, max_download_bytes: 1048576, download_timeout: 20s}
cache: {enabled: true, ttl: 2d}
)",
                            "c.yaml");
  REQUIRE(r.errors.empty());
  CHECK(r.config->server.public_url == "https://img.example.com/gw");
  CHECK(r.config->images.dir == "/srv/images");
  CHECK(r.config->images.retention == 7 * 24h);
  CHECK(r.config->images.url_ttl == 10min);
  CHECK(r.config->images.max_download_bytes == 1048576u);
  CHECK(r.config->images.download_timeout == 20s);
  CHECK(r.config->cache.enabled);
  CHECK(r.config->cache.ttl == 2 * 24h);
}

TEST_CASE("mistakes in images, cache and public_url are reported with their line and key path", "[images][config]") {
  const auto errors = errors_of(R"(server: {public_url: "ftp://img.example.com/"}
images:
  retention: 0s
  url_ttl: 30d
  max_download_bytes: 10
  colour: red
cache: {enabled: yes}
)");
  INFO([&] { std::string s; for (const auto& e : errors) s += e + "\n"; return s; }());
  CHECK(has_error(errors, "5: server.public_url: must be an absolute http(s) URL"));
  CHECK(has_error(errors, "7: images.retention: must be between"));
  CHECK(has_error(errors, "8: images.url_ttl: must be between"));
  CHECK(has_error(errors, "9: images.max_download_bytes: must be between"));
  CHECK(has_error(errors, "10: images.colour: unknown key"));
  CHECK(has_error(errors, "11: cache.enabled:"));
  CHECK_FALSE(load_config_text(minimal + "images: {retention: 0s}\n", "c.yaml").config);
}

TEST_CASE("an enabled cache may not outlive the images it names: cache.ttl <= images.retention", "[images][config]") {
  const auto errors = errors_of("images: {retention: 7d}\ncache:\n  enabled: true\n  ttl: 8d\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors.front() == "8: cache.ttl: cache.ttl (8d) must not exceed images.retention (7d): a cached answer would "
                          "name deleted images");
  CHECK(errors_of("images: {retention: 7d}\ncache: {enabled: true, ttl: 7d}\n").empty());
  // a disabled cache names no images: its default ttl does not bind a short retention
  CHECK(errors_of("images: {retention: 2s}\n").empty());
}

TEST_CASE("image files are fsynced unless store.synchronous is off, normal included", "[images][config]") {
  const auto sync_of = [](const std::string& extra) {
    auto loaded = load_config_text(minimal + extra, "c.yaml");
    REQUIRE(loaded.errors.empty());
    return loaded.config->store.synchronous;
  };
  CHECK(images::fsyncs_images(sync_of(""))); // the default, full
  CHECK(images::fsyncs_images(sync_of("store: {synchronous: full}\n")));
  CHECK(images::fsyncs_images(sync_of("store: {synchronous: normal}\n")));
  CHECK_FALSE(images::fsyncs_images(sync_of("store: {synchronous: off}\n")));
}
