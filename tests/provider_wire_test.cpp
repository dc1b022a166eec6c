/// The provider actor (supervisor and worker) driving the real adapters against cutover-fake-provider on loopback.
/// The actors run on CAF's deterministic scheduler in virtual time; each adapter call is awaited inline on the
/// test thread (bounded at 20 s), so the poll schedule is exact while every request really goes over the wire.

#include "actors/provider_supervisor.hpp"
#include "actors/store_actor.hpp"
#include "adapters/providers/real.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "support/fake_provider_process.hpp"
#include "support/virtual_time.hpp"

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <future>
#include <set>

using namespace cutover;
using namespace std::chrono_literals;
using cutover::testing::fake_provider_process;

namespace {

constexpr const char* key_env = "CUTOVER_PROVIDER_WIRE_TEST_KEY";

/// A real adapter whose answers come back inline: the call waits for its HTTP answer before returning.
struct awaited_port : core::provider_port {
  std::shared_ptr<core::provider_port> inner;

  explicit awaited_port(std::shared_ptr<core::provider_port> p) : inner(std::move(p)) {}
  static core::provider_reply await(const std::function<void(callback)>& start) {
    auto promise = std::make_shared<std::promise<core::provider_reply>>();
    auto answer = promise->get_future();
    start([promise](core::provider_reply r) { promise->set_value(std::move(r)); });
    if (answer.wait_for(20s) != std::future_status::ready)
      throw std::runtime_error("the adapter did not answer within 20 s");
    return answer.get();
  }
  bool takes_batches() const override { return inner->takes_batches(); }
  void submit(const std::vector<core::work_item>& items, core::instant now, callback done) override {
    done(await([&](callback cb) { inner->submit(items, now, std::move(cb)); }));
  }
  void poll(const std::string& id, const std::vector<core::work_item>& items, core::instant now,
            callback done) override {
    done(await([&](callback cb) { inner->poll(id, items, now, std::move(cb)); }));
  }
  void cancel(const std::string& id, core::instant now, callback done) override {
    done(await([&](callback cb) { inner->cancel(id, now, std::move(cb)); }));
  }
};

struct wire_rig {
  fake_provider_process fake;
  testing::virtual_time vt;
  testing::temp_dir dir;
  std::shared_ptr<std::vector<core::item_outcome>> outcomes = std::make_shared<std::vector<core::item_outcome>>();
  msg::store_actor store;
  actors::outcome_sink sink;
  msg::provider_actor provider;

  /// A provider of `kind` (replicate or gemini batch) whose remote jobs never finish on their own.
  explicit wire_rig(core::provider_kind kind) {
    fake.set_faults(R"({"async_polls_before_done":100000})");
    REQUIRE(::setenv(key_env, fake.api_key().c_str(), 1) == 0);
    core::provider_config cfg;
    cfg.name = "remote";
    cfg.kind = kind;
    cfg.mode = core::provider_mode::async;
    cfg.api_key_env = key_env;
    cfg.base_url = fake.url() + (kind == core::provider_kind::gemini ? "/v1beta" : "/v1");
    cfg.model = kind == core::provider_kind::gemini ? "gemini-img" : "acme/flux";
    cfg.timeout = 10s;
    cfg.cost_per_image = {1000, 2000, 3000};
    cfg.polling = {core::default_poll_schedule(), 5min};
    auto port = std::make_shared<awaited_port>(providers::make_provider(cfg));
    store = actors::spawn_store(*vt.sys, store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal),
                                actors::store_options{false, vt.anchor(), core::defaults::dead_letter_retention,
                                                      std::chrono::hours(1), nullptr, {}, {}});
    auto seen = outcomes;
    sink = vt.sys->spawn([seen](actors::outcome_sink::pointer) -> actors::outcome_sink::behavior_type {
      return {[seen](msg::outcomes& m) {
        for (auto& o : m.items)
          seen->push_back(o);
      }};
    });
    auto env = std::make_shared<actors::worker_env>(
      actors::worker_env{cfg, port, store, vt.anchor(), nullptr, {}, msg::trip_sink{}, msg::admissibility_reports{}});
    provider = actors::spawn_provider(*vt.sys, env, sink);
    vt.run();
  }

  void submit_batch(int items) {
    msg::provider_batch b;
    for (int i = 1; i <= items; ++i)
      b.items.push_back(core::work_item{core::job_id{static_cast<std::uint64_t>(i)}, 1, core::tier::sd, 1,
                                        "a kite " + std::to_string(i), "u"});
    caf::anon_send(provider, std::move(b));
    vt.run();
  }

  /// The cancel calls the fake received, by path.
  std::multiset<std::string> cancel_paths() {
    std::multiset<std::string> out;
    for (const auto& c : fake.calls())
      if (c.method == "POST" && c.path.find("cancel") != std::string::npos)
        out.insert(c.path);
    return out;
  }

  ~wire_rig() {
    caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    vt.run();
  }
};

} // namespace

TEST_CASE("replicate predictions past the polling deadline are each cancelled exactly once over the wire") {
  wire_rig r{core::provider_kind::replicate};
  r.submit_batch(2); // two items: two predictions
  r.vt.advance(4min);
  CHECK(r.cancel_paths().empty()); // polled, not given up yet
  r.vt.advance(2min);
  REQUIRE(r.outcomes->size() == 2);
  std::multiset<std::string> expected;
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::timeout);
    REQUIRE_FALSE(o.remote_id.empty());
    expected.insert("/v1/predictions/" + o.remote_id + "/cancel");
    // the prediction stopped at the provider
    auto p = r.fake.request("GET", "/v1/predictions/" + o.remote_id, {},
                            {{"Authorization", "Bearer " + r.fake.api_key()}});
    CHECK(p.body.find("\"status\":\"canceled\"") != std::string::npos);
  }
  CHECK(r.cancel_paths() == expected);
  r.vt.advance(10min);
  CHECK(r.cancel_paths() == expected); // and never again
}

TEST_CASE("a gemini batch past the polling deadline is cancelled exactly once over the wire") {
  wire_rig r{core::provider_kind::gemini};
  r.submit_batch(3); // one batch for the three items
  r.vt.advance(6min);
  REQUIRE(r.outcomes->size() == 3);
  const auto remote_id = r.outcomes->front().remote_id;
  REQUIRE(remote_id.rfind("batches/", 0) == 0);
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::timeout);
    CHECK(o.remote_id == remote_id);
  }
  CHECK(r.cancel_paths() == std::multiset<std::string>{"/v1beta/" + remote_id + ":cancel"});
  auto op = r.fake.request("GET", "/v1beta/" + remote_id, {}, {{"x-goog-api-key", r.fake.api_key()}});
  CHECK(op.body.find("BATCH_STATE_CANCELLED") != std::string::npos);
  r.vt.advance(10min);
  CHECK(r.cancel_paths().size() == 1);
}
