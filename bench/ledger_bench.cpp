/// cutover-ledger-bench: budget admissions per second in-process — the core ledger alone (reserve + settle), and
/// through the ledger actor (admit requests of 50 items, as the router sends them, then settle messages).
///   cutover-ledger-bench [--admissions N]

#include "actors/ledger_actor.hpp"
#include "actors/store_actor.hpp"
#include "adapters/config/loader.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "app/process_tuning.hpp"
#include "core/ledger.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace cutover;
using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  app::tune_allocator();
  long n = 1'000'000;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--admissions"))
      n = std::atol(argv[i + 1]);
  auto loaded = config_adapter::load_config_text(R"(providers:
  candidate: {kind: simulated, cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}}
  baseline: {kind: simulated, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}}
budget: {daily_usd: 1000000, stop_at: 90%, providers: {candidate: 1000000}}
rollout: {name: bench, baseline: baseline, candidate: candidate}
)", "bench.yaml");
  const auto& cfg = *loaded.config;
  const core::instant t{std::chrono::seconds(1767225600)};

  // 1. the core ledger alone
  core::ledger book{cfg.budget, t};
  auto t0 = clock_type::now();
  long admitted = 0;
  for (long i = 0; i < n; ++i) {
    const core::reservation_key key{static_cast<std::uint64_t>(i), 1};
    admitted += book.reserve(key, "candidate", 30000, t).admitted();
    book.settle(key, 30000, t);
  }
  const double core_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("ledger core admissions=%ld admitted=%ld seconds=%.3f admissions_per_s=%.0f (reserve+settle)\n", n,
              admitted, core_s, static_cast<double>(n) / core_s);

  // 2. through the ledger actor, 50 items per admit request, one settle message per batch
  auto dir = std::filesystem::temp_directory_path() / ("cutover-ledger-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::atomic<long> done{0};
  double actor_s = 0;
  {
    caf::actor_system_config sc;
    sc.set("scheduler.max-threads", std::size_t{2});
    caf::actor_system sys{sc};
    actors::clock_anchor clock{t, sys.clock().now()};
    auto store = actors::spawn_store(sys, store_adapter::open_sqlite_store((dir / "b.db").string(), core::sync_mode::normal),
                                     actors::store_options{true, clock, core::defaults::dead_letter_retention,
                                                           std::chrono::hours(1), nullptr, {}, {}});
    auto ledger = actors::spawn_ledger(sys, loaded.config, store, clock);
    constexpr long batch = 50, in_flight = 8;
    t0 = clock_type::now();
    sys.spawn([&, ledger](caf::event_based_actor* self) {
      auto next = std::make_shared<long>(0);
      auto step = std::make_shared<std::function<void()>>();
      *step = [=, &done] {
        if (*next >= n)
          return;
        msg::admit req;
        msg::settle settle;
        for (long i = 0; i < batch; ++i, ++*next) {
          const core::reservation_key key{static_cast<std::uint64_t>(*next), 1};
          req.requests.push_back({key, "candidate", 30000});
          settle.items.push_back({key, 30000, false});
        }
        self->request(ledger, caf::infinite, std::move(req)).then([=, &done](msg::admit_result& r) {
          self->send(ledger, std::move(settle));
          done += static_cast<long>(r.verdicts.size());
          (*step)();
        });
      };
      for (long k = 0; k < in_flight; ++k)
        (*step)();
    });
    while (done < n)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    actor_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }
  std::filesystem::remove_all(dir);
  std::printf("ledger actor admissions=%ld seconds=%.3f admissions_per_s=%.0f (50 per admit request, then settled)\n",
              n, actor_s, static_cast<double>(n) / actor_s);
}
