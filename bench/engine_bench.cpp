/// cutover-bench inprocess: durable jobs per second through the real actor tree — intake -> store (group commit)
/// -> router -> batcher -> provider (simulated, zero latency) -> router -> store — with no HTTP in front.
/// Prints the rate of durable acceptances and of jobs completed end to end (final state on disk).

#include "actors/engine.hpp"
#include "adapters/config/loader.hpp"
#include "adapters/providers/simulated.hpp"
#include "adapters/store/sqlite_connection.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "app/process_tuning.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

using namespace cutover;
using clock_type = std::chrono::steady_clock;

namespace {

const char* bench_config = R"(server: {listen: 127.0.0.1:8080}
providers:
  candidate: {kind: simulated, mode: sync, cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}}
  baseline:  {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}}
tiers:
  sd: {batch: {max_items: 50, max_wait: 5ms}}
  hd: {batch: {max_items: 50, max_wait: 5ms}}
  4k: {batch: {max_items: 20, max_wait: 5ms}}
fallback: {candidate: [baseline]}
rollout: {name: bench, baseline: baseline, candidate: candidate, percent: 50, phases: [{percent: 100}]}
)";

struct progress {
  std::atomic<long> accepted{0}, refused{0};
};

/// Submits `total` jobs keeping `window` requests in flight.
void driver(caf::event_based_actor* self, msg::intake_actor intake, long total, int window, progress* p) {
  auto next = std::make_shared<long>(0);
  auto send_one = std::make_shared<std::function<void()>>();
  *send_one = [=] {
    if (*next >= total)
      return;
    auto i = (*next)++;
    core::job_spec spec;
    spec.user_id = "user-" + std::to_string(i);
    spec.prompt = "bench prompt " + std::to_string(i % 100);
    spec.tier_ = i % 4 == 0 ? core::tier::hd : core::tier::sd;
    self->request(intake, caf::infinite, msg::submit_job{spec, {}, {}})
      .then(
        [=](const msg::submit_reply& r) {
          (r.error == msg::submit_error::none ? p->accepted : p->refused)++;
          (*send_one)();
        },
        [=](caf::error&) {
          p->refused++;
          (*send_one)();
        });
  };
  for (int k = 0; k < window; ++k)
    (*send_one)();
}

long open_jobs(SQLite::Database& db) {
  SQLite::Statement q(db, std::string{"SELECT COUNT(*) FROM jobs WHERE "} + store_adapter::detail::sql_job_open);
  q.executeStep();
  return q.getColumn(0).getInt64();
}

} // namespace

int main(int argc, char** argv) {
  app::tune_allocator();
  long total = 200000;
  int window = 1024;
  int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  std::string policy = "stealing";
  bool detached_store = true;
  std::string synchronous; // empty: the config's default (full); normal shows what the fsync per commit costs
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--jobs"))
      total = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--window"))
      window = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--policy"))
      policy = argv[i + 1];
    else if (!std::strcmp(argv[i], "--detached-store"))
      detached_store = std::string{argv[i + 1]} == "yes";
    else if (!std::strcmp(argv[i], "--synchronous"))
      synchronous = argv[i + 1];
  }
  std::string config_text = bench_config;
  if (!synchronous.empty())
    config_text += "store: {synchronous: " + synchronous + "}\n"; // the loader checks the value
  auto dir = std::filesystem::temp_directory_path() / ("cutover-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto loaded = config_adapter::load_config_text(config_text, "bench.yaml");
  if (!loaded.config) {
    for (const auto& e : loaded.errors)
      std::cerr << config_adapter::to_string(e) << "\n";
    return 2;
  }
  const auto db_path = (dir / "bench.db").string();
  const auto mode = loaded.config->store.synchronous;
  const char* sync_name = mode == core::sync_mode::full ? "full" : mode == core::sync_mode::off ? "off" : "normal";
  progress p;
  double accept_s = 0, done_s = 0;
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
    cfg.set("scheduler.policy", caf::atom_from_string(policy));
    caf::actor_system sys{cfg};
    actors::clock_anchor anchor{std::chrono::time_point_cast<core::duration>(std::chrono::system_clock::now()),
                                sys.clock().now()};
    auto engine = actors::start_engine(
      sys, loaded.config, store_adapter::open_sqlite_store(db_path, loaded.config->store.synchronous),
      [](const core::provider_config& pc) { return providers::make_simulated_provider(pc); }, anchor,
      actors::engine_options{detached_store, {}, nullptr, nullptr});
    SQLite::Database reader(db_path, SQLite::OPEN_READONLY);
    const auto t0 = clock_type::now();
    sys.spawn(driver, engine.intake, total, window, &p);
    while (p.accepted + p.refused < total)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    accept_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    while (open_jobs(reader) > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    done_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    engine.stop();
  }
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT COUNT(*), SUM(status='succeeded') FROM jobs");
  q.executeStep();
  const long stored = q.getColumn(0).getInt64(), succeeded = q.getColumn(1).getInt64();
  std::filesystem::remove_all(dir);
  std::printf("inprocess jobs=%ld window=%d threads=%d policy=%s store=%s synchronous=%s accepted=%ld refused=%ld "
              "stored=%ld succeeded=%ld\n",
              total, window, threads, policy.c_str(), detached_store ? "detached" : "scheduled", sync_name,
              p.accepted.load(), p.refused.load(), stored, succeeded);
  std::printf("inprocess durable_accepts_per_s=%.0f completed_jobs_per_s=%.0f accept_s=%.3f total_s=%.3f\n",
              total / accept_s, total / done_s, accept_s, done_s);
  return succeeded == total ? 0 : 1;
}
