// The operator console served by the real binary over real HTTP: GET /console answers the page and its scripts
// byte for byte as they are in console/ (built into the binary), with a policy that loads nothing from elsewhere;
// it is open without a key while the API behind it is not.

#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace cutover::testing;

namespace {

std::string source_file(const std::string& name) {
  std::ifstream in(std::string(CUTOVER_SOURCE_DIR) + "/console/" + name, std::ios::binary);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

TEST_CASE("GET /console serves the page and every file of console/ from the binary, with a strict content policy") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(0)};
  http_client http{engine.base_url()};
  const auto page = http.get("/console");
  REQUIRE(page.status == 200);
  CHECK(page.body == source_file("index.html"));
  CHECK(page.headers.at("Content-Type") == "text/html; charset=utf-8");
  CHECK(page.headers.at("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  CHECK(page.headers.at("X-Content-Type-Options") == "nosniff");
  CHECK(http.get("/console/").body == page.body);

  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(CUTOVER_SOURCE_DIR) + "/console"))
    files.push_back(e.path().filename().string());
  REQUIRE(files.size() >= 5);
  for (const auto& f : files) {
    INFO(f);
    const auto a = http.get("/console/" + f);
    CHECK(a.status == 200);
    CHECK(a.body == source_file(f));
    if (f.size() > 3 && f.compare(f.size() - 3, 3, ".js") == 0)
      CHECK(a.headers.at("Content-Type") == "text/javascript; charset=utf-8"); // module scripts need it
  }
  const auto missing = http.get("/console/nothing.js");
  CHECK(missing.status == 404);
  CHECK(json_field(json_field(missing.body, "error"), "code") == "not_found");
  CHECK(http.get("/console/..%2Fconfig.yaml").status == 404);
}

TEST_CASE("the console's page loads nothing from another host") {
  for (const auto& f : {"index.html", "app.js", "api.js", "views.js", "charts.js", "model.js", "format.js"}) {
    INFO(f);
    auto text = source_file(f);
    REQUIRE_FALSE(text.empty());
    // the SVG namespace is a name, not an address anything is loaded from
    const std::string svg_ns = "http://www.w3.org/2000/svg";
    for (auto at = text.find(svg_ns); at != std::string::npos; at = text.find(svg_ns))
      text.erase(at, svg_ns.size());
    CHECK(text.find("http://") == std::string::npos);
    CHECK(text.find("https://") == std::string::npos);
    CHECK(text.find("//cdn") == std::string::npos);
  }
}

TEST_CASE("with keys configured the console's page is open and the API behind it still needs a key") {
  temp_dir dir;
  std::ofstream(dir.file("keys.yaml")) << "keys:\n  - {name: reader, key: \"console-reader-key-01\", scopes: [read]}\n";
  engine_process engine{dir.path.string(), fast_config(0) + "auth: {keys_file: " + dir.file("keys.yaml") + "}\n"};
  http_client http{engine.base_url()};
  CHECK(http.get("/console").status == 200);
  CHECK(http.get("/console/app.js").status == 200);
  CHECK(http.get("/v1/rollout").status == 401);
}
