// kill -9 of the engine binary under load, then a restart on the same data folder: every job that got a 202 is
// there and ends final, and a remote job in flight at the kill is polled again by its stored id, never created
// twice at the provider (the candidate speaks Replicate's wire format to the fake provider, which counts creates).

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"
#include "support/fake_provider_process.hpp"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <set>

using namespace cutover::testing;

namespace {

/// A remote job the store knew at the crash.
struct remote_job {
  int attempt = 0;
  std::string remote_id;
  std::string prompt; ///< unique per job: the fake's call log names a create by its prompt
};

/// Remote jobs the store knew at the crash, by job id.
std::map<long long, remote_job> pending_remote_jobs(const std::string& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT a.job_id, a.no, a.remote_id, j.prompt FROM attempts a JOIN jobs j ON j.id = a.job_id"
                          " WHERE a.outcome='running' AND a.remote_id<>''");
  std::map<long long, remote_job> out;
  while (q.executeStep())
    out[q.getColumn(0).getInt64()] = {q.getColumn(1).getInt(), q.getColumn(2).getString(), q.getColumn(3).getString()};
  return out;
}

/// fast_config(50) with the candidate (`gemini`) on the fake's Replicate api instead of a simulated provider.
std::string crash_config(const std::string& fake_url) {
  auto config = fast_config(50);
  const auto from = config.find("  gemini:\n"), to = config.find("    polling:", from);
  return config.replace(from, to - from, R"(  gemini:
    kind: replicate
    mode: async
    base_url: )" + fake_url + R"(/v1
    api_key_env: CUTOVER_TEST_REPLICATE_KEY
    model: acme/flux
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
)");
}

} // namespace

TEST_CASE("after kill -9 under load, every job that got a 202 is present and reaches a final state") {
  // an async candidate whose predictions stay `processing` for 6 polls (about 400 ms), so that many are in flight
  // at the kill
  fake_provider_process::options fo;
  fo.faults = R"({"replicate": {"async_polls_before_done": 6}})";
  fake_provider_process fake{fo};
  ::setenv("CUTOVER_TEST_REPLICATE_KEY", fake.api_key().c_str(), 1); // the engine child inherits it
  temp_dir dir;
  const auto config = crash_config(fake.url());
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
        bodies.push_back(R"({"user_id":"u)" + std::to_string(wave * 100 + i) + R"(","prompt":"p)" +
                         std::to_string(wave * 100 + i) + R"(","tier":"sd"})");
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
  REQUIRE(!remote.empty());  // ... with remote jobs in flight: what the re-poll checks below are about
  const auto calls_at_kill = fake.calls();
  const auto last_seq_at_kill = calls_at_kill.empty() ? 0 : calls_at_kill.back().seq;

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
  // a remote job in flight at the kill was polled again by its stored id, never submitted a second time: the
  // fake saw one create of its prompt in the whole run, and polls of its id after the restart
  std::map<std::string, int> creates; // prompt -> creates
  std::set<std::string> polled_after_restart;
  for (const auto& c : fake.calls()) {
    if (c.method == "POST" && c.path.size() >= 12 && c.path.compare(c.path.size() - 12, 12, "/predictions") == 0)
      ++creates[c.key];
    if (c.method == "GET" && c.seq > last_seq_at_kill)
      polled_after_restart.insert(c.path);
  }
  SQLite::Database after(db, SQLite::OPEN_READONLY);
  for (const auto& [job, r] : remote) {
    INFO("job " << job << " remote " << r.remote_id << " prompt " << r.prompt);
    SQLite::Statement q(after, "SELECT remote_id, outcome FROM attempts WHERE job_id=? AND no=?");
    q.bind(1, static_cast<std::int64_t>(job));
    q.bind(2, r.attempt);
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getString() == r.remote_id);
    CHECK(q.getColumn(1).getString() == "succeeded");
    CHECK(creates[r.prompt] == 1);
    CHECK(polled_after_restart.count("/v1/predictions/" + r.remote_id) == 1);
  }
  CHECK(engine->log().find("event=resumed") != std::string::npos);
}
