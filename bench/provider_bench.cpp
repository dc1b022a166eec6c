/// cutover-provider-bench: how many calls per second one provider actor (supervisor + worker) sustains.
///   cutover-provider-bench [--calls N] [--in-flight K] [--url FAKE_BASE_URL --key KEY]
/// Without --url the port answers inline at once (the actor's own ceiling); with --url it is the OpenAI adapter
/// against the fake provider over loopback HTTP. Sync provider: one call per item; K items in flight.

#include "actors/provider_supervisor.hpp"
#include "actors/store_actor.hpp"
#include "adapters/providers/real.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "app/process_tuning.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace cutover;

namespace {

/// Answers every call at once, inline: measures the actor, not a provider.
struct instant_port : core::provider_port {
  bool takes_batches() const override { return false; }
  void submit(const std::vector<core::work_item>& items, core::instant, callback done) override {
    core::provider_reply r;
    for (const auto& i : items)
      r.items.push_back({i.id, core::error_class::none, "", {"iVBORw0KGgo="}, 0.9});
    done(std::move(r));
  }
  void poll(const std::string&, const std::vector<core::work_item>&, core::instant, callback done) override {
    done(core::provider_reply{});
  }
  void cancel(const std::string&, core::instant, callback done) override { done(core::provider_reply{}); }
};

struct driver_state {
  long total = 0, sent = 0, done = 0, errors = 0;
  std::shared_ptr<msg::provider_actor> provider; ///< set before the first batch goes out
  std::atomic<long>* finished = nullptr;
};

msg::provider_batch items(long first, long count) {
  msg::provider_batch b;
  for (long i = first; i < first + count; ++i)
    b.items.push_back(core::work_item{core::job_id{static_cast<std::uint64_t>(i + 1)}, 1, core::tier::sd, 1, "bench",
                                      "user-" + std::to_string(i)});
  return b;
}

} // namespace

int main(int argc, char** argv) {
  app::tune_allocator();
  long calls = 100000;
  int in_flight = 256;
  std::string url, key = "test-key";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--calls"))
      calls = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--in-flight"))
      in_flight = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--url"))
      url = argv[i + 1];
    else if (!std::strcmp(argv[i], "--key"))
      key = argv[i + 1];
  }
  auto dir = std::filesystem::temp_directory_path() / ("cutover-provider-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::atomic<long> finished{0};
  double seconds = 0;
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", std::size_t{2});
    caf::actor_system sys{cfg};
    actors::clock_anchor clock{std::chrono::time_point_cast<core::duration>(std::chrono::system_clock::now()),
                               sys.clock().now()};
    auto store = actors::spawn_store(sys, store_adapter::open_sqlite_store((dir / "b.db").string(), core::sync_mode::normal),
                                     actors::store_options{true, clock, core::defaults::dead_letter_retention,
                                                           std::chrono::hours(1), nullptr, {}, {}});
    core::provider_config p;
    p.name = "candidate";
    p.cost_per_image = {40000, 80000, 120000};
    std::shared_ptr<core::provider_port> port;
    if (url.empty()) {
      port = std::make_shared<instant_port>();
    } else {
      ::setenv("BENCH_PROVIDER_KEY", key.c_str(), 1);
      p.kind = core::provider_kind::openai;
      p.base_url = url + "/v1";
      p.api_key_env = "BENCH_PROVIDER_KEY";
      p.model = "gpt-image-1";
      port = providers::make_provider(p);
    }
    auto env = std::make_shared<actors::worker_env>(actors::worker_env{p, port, store, clock, nullptr, {}, msg::trip_sink{}, msg::admissibility_reports{}});
    auto provider_handle = std::make_shared<msg::provider_actor>();
    auto driver = sys.spawn([&](actors::outcome_sink::stateful_pointer<driver_state> self)
                              -> actors::outcome_sink::behavior_type {
      self->state.total = calls;
      self->state.sent = std::min<long>(in_flight, calls);
      self->state.finished = &finished;
      self->state.provider = provider_handle;
      return {[self](msg::outcomes& m) {
        auto& st = self->state;
        for (const auto& o : m.items)
          st.errors += o.error != core::error_class::none;
        st.done += static_cast<long>(m.items.size());
        st.finished->store(st.done);
        // keep the same number in flight
        const auto more = std::min<long>(static_cast<long>(m.items.size()), st.total - st.sent);
        if (more > 0) {
          self->send(*st.provider, items(st.sent, more));
          st.sent += more;
        }
      }};
    });
    *provider_handle = actors::spawn_provider(sys, env, driver);
    auto provider = *provider_handle;
    const auto t0 = std::chrono::steady_clock::now();
    caf::anon_send(provider, items(0, std::min<long>(in_flight, calls)));
    while (finished < calls)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }
  std::filesystem::remove_all(dir);
  std::printf("provider calls=%ld in_flight=%d port=%s seconds=%.3f calls_per_s=%.0f\n", calls, in_flight,
              url.empty() ? "inline" : "openai-fake", seconds, static_cast<double>(calls) / seconds);
  return 0;
}
