#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <map>
#include <set>

using namespace cutover::testing;

namespace {

/// Remote jobs the store knew at the crash: job id -> (attempt no, remote id).
std::map<long long, std::pair<int, std::string>> pending_remote_jobs(const std::string& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT job_id, no, remote_id FROM attempts WHERE outcome='running' AND remote_id<>''");
  std::map<long long, std::pair<int, std::string>> out;
  while (q.executeStep())
    out[q.getColumn(0).getInt64()] = {q.getColumn(1).getInt(), q.getColumn(2).getString()};
  return out;
}

} // namespace

TEST_CASE("after kill -9 under load, every job that got a 202 is present and reaches a final state") {
  temp_dir dir;
  // async candidate with 300 ms jobs, so that many are in flight at the kill
  auto config = fast_config(50);
  const std::string fast_latency = "latency_p50: 5ms, latency_p95: 20ms";
  config.replace(config.find(fast_latency), fast_latency.size(), "latency_p50: 300ms, latency_p95: 600ms");
  std::set<std::string> accepted;
  std::mutex m;
  std::condition_variable enough;
  std::atomic<bool> stop{false};
  auto engine = std::make_unique<engine_process>(dir.path.string(), config);
  const int port = engine->port();

  std::thread load([&] {
    http_client http{engine->base_url()};
    for (int wave = 0; !stop; ++wave) {
      std::vector<std::string> bodies;
      for (int i = 0; i < 100; ++i)
        bodies.push_back(R"({"user_id":"u)" + std::to_string(wave * 100 + i) + R"(","prompt":"p","tier":"sd"})");
      auto answers = http.post_concurrently("/v1/jobs", bodies);
      std::lock_guard<std::mutex> guard{m};
      for (const auto& a : answers)
        if (a.status == 202)
          accepted.insert(json_field(a.body, "id"));
      enough.notify_all();
    }
  });
  {
    std::unique_lock<std::mutex> guard{m};
    enough.wait(guard, [&] { return accepted.size() >= 2000; });
  }
  engine->kill9(); // while the load goes on
  stop = true;
  load.join();
  const auto db = dir.file("cutover.db");
  const auto open_at_crash = count_rows(db, "SELECT COUNT(*) FROM jobs WHERE status NOT IN "
                                            "('succeeded','failed','dead_lettered','cancelled')");
  const auto remote = pending_remote_jobs(db);
  INFO("accepted " << accepted.size() << ", unfinished at the kill " << open_at_crash << ", remote jobs in flight "
                   << remote.size());
  CHECK(open_at_crash > 0); // the kill really interrupted work

  engine = std::make_unique<engine_process>(dir.path.string(), config, port);
  http_client http{engine->base_url()};
  std::vector<std::string> paths;
  for (const auto& id : accepted)
    paths.push_back("/v1/jobs/" + id + "?wait=30");
  auto jobs = http.get_concurrently(paths);
  std::size_t present = 0, final_ = 0;
  for (const auto& j : jobs) {
    present += j.status == 200;
    auto status = json_field(j.body, "status");
    final_ += status == "succeeded" || status == "failed" || status == "dead_lettered";
  }
  CHECK(present == accepted.size());
  CHECK(final_ == accepted.size());
  // nothing in the store is left unfinished, including jobs whose 202 was lost in the kill
  CHECK(count_rows(db, "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('succeeded','failed','dead_lettered')") == 0);
  // a remote job in flight at the kill was polled again by its stored id, never submitted a second time
  SQLite::Database after(db, SQLite::OPEN_READONLY);
  for (const auto& [job, attempt] : remote) {
    SQLite::Statement q(after, "SELECT remote_id, outcome FROM attempts WHERE job_id=? AND no=?");
    q.bind(1, static_cast<std::int64_t>(job));
    q.bind(2, attempt.first);
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getString() == attempt.second);
    CHECK(q.getColumn(1).getString() == "succeeded");
  }
  CHECK(engine->log().find("event=resumed") != std::string::npos);
}
