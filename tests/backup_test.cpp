// `cutover backup` against a serving engine, over real processes and real files: the copy taken under load
// holds every job acknowledged before the backup began, and a second engine starts on it.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

using namespace cutover::testing;

namespace {

/// Runs the cutover binary with `args`; its exit status and everything it printed.
std::pair<int, std::string> run_cutover(const std::string& args) {
  const std::string cmd = std::string{CUTOVER_BINARY} + " " + args + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string job(int i) {
  return R"({"user_id":"user-)" + std::to_string(i) + R"(","prompt":"a harbour )" + std::to_string(i) + R"(","tier":"sd"})";
}

} // namespace

TEST_CASE("a backup taken while jobs pour in holds every job acknowledged before it began") {
  temp_dir dir, restored;
  engine_process engine{dir.path.string(), fast_config(50)};
  using clock = std::chrono::steady_clock;
  std::mutex mu;
  std::vector<std::pair<std::string, clock::time_point>> acked; // id, when its 202 arrived
  std::atomic<bool> stop{false};
  std::thread load{[&] {
    http_client http{engine.base_url()};
    for (int wave = 0; !stop; ++wave) {
      std::vector<std::string> bodies;
      for (int i = 0; i < 100; ++i)
        bodies.push_back(job(wave * 100 + i));
      const auto answers = http.post_concurrently("/v1/jobs", bodies);
      const auto now = clock::now();
      std::lock_guard<std::mutex> g{mu};
      for (const auto& a : answers)
        if (a.status == 202)
          acked.emplace_back(json_field(a.body, "id"), now);
    }
  }};
  auto acked_count = [&] {
    std::lock_guard<std::mutex> g{mu};
    return acked.size();
  };
  while (acked_count() < 1000) // the load is on
    std::this_thread::yield();
  const auto copy = restored.file("cutover.db");
  const auto began = clock::now();
  const auto at_begin = acked_count();
  const auto [status, out] = run_cutover("backup --data " + dir.path.string() + " --to " + copy);
  // the load went on through the copy: jobs acknowledged after it began (a fast copy may end before the next
  // wave's answers, so this waits for them instead of counting at the copy's end)
  while (acked_count() <= at_begin)
    std::this_thread::yield();
  stop = true;
  load.join();
  INFO(out);
  REQUIRE(status == 0);
  CHECK(out.rfind("ok " + copy + " bytes=", 0) == 0);

  std::vector<std::string> before;
  for (const auto& [id, at] : acked)
    if (at < began)
      before.push_back(id);
  REQUIRE(before.size() >= 1000);
  // the copy alone: every acknowledged job is a row
  const auto rows = count_rows(copy, "SELECT COUNT(*) FROM jobs");
  CHECK(rows >= static_cast<long long>(before.size()));
  // and an engine starts on it and knows each of them
  engine_process second{restored.path.string(), fast_config(50)};
  http_client http{second.base_url()};
  std::vector<std::string> paths;
  for (const auto& id : before)
    paths.push_back("/v1/jobs/" + id);
  int missing = 0;
  for (const auto& a : http.get_concurrently(paths))
    missing += a.status != 200;
  CHECK(missing == 0);
}

TEST_CASE("cutover backup never overwrites a file, and needs --to") {
  temp_dir dir, other;
  {
    engine_process engine{dir.path.string(), fast_config(50)};
    http_client http{engine.base_url()};
    REQUIRE(http.post("/v1/jobs", job(1)).status == 202);
    const auto copy = other.file("copy.db");
    REQUIRE(run_cutover("backup --data " + dir.path.string() + " --to " + copy).first == 0);
    const auto [status, out] = run_cutover("backup --data " + dir.path.string() + " --to " + copy);
    CHECK(status == 1);
    CHECK(out.find("exists already") != std::string::npos);
    CHECK(count_rows(copy, "SELECT COUNT(*) FROM jobs") == 1); // the first copy is untouched
  }
  const auto [status, out] = run_cutover("backup --data " + dir.path.string());
  CHECK(status == 2);
  CHECK(out.find("--to FILE is required") != std::string::npos);
  const auto [missing, why] = run_cutover("backup --data " + other.path.string() + "/nothing --to " +
                                          other.file("x.db"));
  CHECK(missing == 1);
  CHECK(why.find("no store at") != std::string::npos);
}

TEST_CASE("cutover backup --config F finds the store at the file's store.path, and refuses an invalid file") {
  temp_dir dir, other;
  engine_process engine{dir.path.string(), fast_config(50)};
  http_client http{engine.base_url()};
  REQUIRE(http.post("/v1/jobs", job(1)).status == 202);
  REQUIRE(http.post("/v1/jobs", job(2)).status == 202);
  // the engine runs with --data; an operator's config names the same store by store.path instead
  auto config = fast_config(50);
  const auto store_at = config.find("store: {path: data/cutover.db");
  REQUIRE(store_at != std::string::npos);
  config.replace(store_at, 29, "store: {path: " + dir.file("cutover.db"));
  const auto config_file = other.file("ops.yaml");
  std::ofstream(config_file) << config;
  const auto copy = other.file("copy.db");
  const auto [status, out] = run_cutover("backup --config " + config_file + " --to " + copy);
  INFO(out);
  REQUIRE(status == 0);
  CHECK(out.rfind("ok " + copy + " bytes=", 0) == 0);
  CHECK(out.find(" jobs=2") != std::string::npos);
  CHECK(count_rows(copy, "SELECT COUNT(*) FROM jobs") == 2);

  // an invalid configuration: its error with file and line, exit 2, no copy written
  std::ofstream(other.file("bad.yaml")) << "tiers:\n  sd: {batch: {max_items: 0}}\n";
  const auto bad_copy = other.file("bad-copy.db");
  const auto [bad, why] = run_cutover("backup --config " + other.file("bad.yaml") + " --to " + bad_copy);
  CHECK(bad == 2);
  CHECK(why.find("bad.yaml:") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(bad_copy));
  // an unreadable one: exit 1
  CHECK(run_cutover("backup --config " + other.file("missing.yaml") + " --to " + bad_copy).first == 1);
}
