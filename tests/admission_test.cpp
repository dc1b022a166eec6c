// Intake refuses a job whose whole chain is blocked, on the real actor tree in virtual time: the ledger's budget
// lines and the providers' rate limits and breakers feed the one admissibility view the ledger keeps, and the
// refusal names the instant the earliest provider of the chain takes work again. A refused job takes no id and
// leaves nothing in the store; a job whose primary is blocked but whose fallback is open is still accepted; an
// idempotent repeat of an accepted job is still answered with it.

#include "actors/engine.hpp"
#include "adapters/config/loader.hpp"
#include "adapters/providers/simulated.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "core/ledger.hpp"
#include "support/virtual_time.hpp"

#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

const std::string sim = "simulated: {latency_p50: 1s, latency_p95: 1s, failure_rate: 0%, quality: 0.9}";
const std::string rest = R"(tiers:
  sd: {batch: {max_items: 1, max_wait: 1s}}
fallback: {gemini: [photomaker, sdxl], photomaker: [sdxl]}
rollout: {name: admission, baseline: photomaker, candidate: gemini, percent: 100, phases: [{percent: 100}],
          overrides: {segments: {internal: candidate}}}
)";

/// Everyone on the candidate (chain gemini -> photomaker -> sdxl); each provider takes one call per hour.
const std::string one_call_per_hour = R"(providers:
  gemini: {kind: simulated, mode: sync, cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}, limits: {max_per_hour: 1}, )" +
                                      sim + R"(}
  photomaker: {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}, limits: {max_per_hour: 1}, )" +
                                      sim + R"(}
  sdxl: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}, limits: {max_per_hour: 1}, )" +
                                      sim + "}\n" + rest;

/// Tiny daily budgets: gemini's is below its cheapest image (stopped from the start), photomaker's and sdxl's fit
/// one sd image each.
const std::string tiny_budgets = R"(providers:
  gemini: {kind: simulated, mode: sync, cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}, )" + sim + R"(}
  photomaker: {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}, )" + sim + R"(}
  sdxl: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}, )" + sim + R"(}
budget: {stop_at: 100%, providers: {gemini: 0.01, photomaker: 0.05, sdxl: 0.03}}
)" + rest;

struct tree {
  testing::temp_dir& dir;
  testing::virtual_time vt;
  actors::engine engine;
  std::unique_ptr<core::store_db> reader;

  tree(testing::temp_dir& d, const std::string& text) : dir(d) {
    auto loaded = config_adapter::load_config_text(text, "admission.yaml");
    for (const auto& e : loaded.errors)
      FAIL(config_adapter::to_string(e));
    engine = actors::start_engine(*vt.sys, loaded.config,
                                  store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal),
                                  [](const core::provider_config& p) { return providers::make_simulated_provider(p); },
                                  vt.anchor());
    vt.run();
    reader = store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal);
  }
  ~tree() {
    engine.stop();
    vt.run();
  }
  msg::submit_reply submit(const std::string& user, const std::string& key = {}, const std::string& segment = {}) {
    caf::scoped_actor self{*vt.sys};
    core::job_spec spec;
    spec.user_id = user;
    spec.segment = segment;
    spec.prompt = "a kite";
    self->send(engine.intake, msg::submit_job{spec, key, key.empty() ? std::string{} : "hash-" + user});
    vt.run();
    msg::submit_reply out;
    self->receive([&](const msg::submit_reply& r) { out = r; });
    return out;
  }
  core::job_record job(core::job_id id) {
    auto j = reader->jobs().find(id);
    REQUIRE(j);
    return *j;
  }
  /// Submits a job that must be accepted and runs it to its final state.
  core::job_record run_one(const std::string& user, const std::string& key = {}, const std::string& segment = {}) {
    auto r = submit(user, key, segment);
    REQUIRE(r.error == msg::submit_error::none);
    REQUIRE(vt.advance_until([&] { return core::is_final(job(r.id).status); }, 5min, 1s));
    return job(r.id);
  }
  bool stored(std::uint64_t id) { return reader->jobs().find(core::job_id{id}).has_value(); }
};

} // namespace

TEST_CASE("once the hourly limit of every provider of the chain is used up, intake refuses with the instant the first frees") {
  testing::temp_dir dir;
  tree t{dir, one_call_per_hour};
  CHECK(t.run_one("u1").status == core::job_status::succeeded); // gemini's call of the hour
  CHECK(t.run_one("u2").status == core::job_status::succeeded); // gemini refuses: photomaker's
  const auto last = t.run_one("u3"); // both refuse: sdxl's, and the call that fills sdxl's hour says so at once
  CHECK(last.status == core::job_status::succeeded);
  // no job is accepted only to die: the next one is refused at the door
  const auto refused = t.submit("u4");
  CHECK(refused.error == msg::submit_error::no_provider_admissible);
  CHECK(refused.message.find("hourly_limit") != std::string::npos);
  // gemini's call ages out of its sliding hour first (60 to 61 minutes after it was made)
  CHECK(refused.retry_after_s > 55 * 60);
  CHECK(refused.retry_after_s <= 61 * 60);
  // the refused job took no id and left nothing in the store
  CHECK_FALSE(t.stored(last.id.value + 1));
  // a second before the announced time it is still refused; at it, a provider takes work again
  t.vt.advance(std::chrono::seconds(refused.retry_after_s - 1));
  CHECK(t.submit("u6").error == msg::submit_error::no_provider_admissible);
  t.vt.advance(1s);
  const auto next = t.submit("u7");
  CHECK(next.error == msg::submit_error::none);
  CHECK(next.id.value == last.id.value + 1);
}

TEST_CASE("once the breaker of every provider of the chain is open, intake refuses until the first half-opens") {
  testing::temp_dir dir;
  std::string text = "providers:\n";
  for (const char* name : {"gemini", "photomaker", "sdxl"})
    text += std::string{"  "} + name +
            ": {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}, retry: {max_attempts: 1},"
            " breaker: {failure_rate: 50%, min_requests: 1, window: 60s, open_for: 10m, half_open_probes: 1},"
            " simulated: {latency_p50: 1s, latency_p95: 1s, failure_rate: 100%, quality: 0.9}}\n";
  tree t{dir, text + rest};
  const auto t0 = t.vt.now();
  const auto first = t.run_one("u1"); // each provider fails once: each breaker opens
  CHECK(first.status == core::job_status::dead_lettered);
  const auto refused = t.submit("u2");
  CHECK(refused.error == msg::submit_error::no_provider_admissible);
  CHECK(refused.message.find("breaker") != std::string::npos);
  CHECK_FALSE(t.stored(first.id.value + 1));
  // gemini's opened first (its call's end, a second or two after t0), so it half-opens first, 10 minutes later
  const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(t.vt.now() - t0).count();
  CHECK(refused.retry_after_s >= 600 - elapsed);
  CHECK(refused.retry_after_s <= 600);
  t.vt.advance(std::chrono::seconds(refused.retry_after_s));
  CHECK(t.submit("u3").error == msg::submit_error::none); // a probe may go
}

TEST_CASE("a job whose primary is stopped by its budget but whose fallback has room is accepted and served there") {
  testing::temp_dir dir;
  tree t{dir, tiny_budgets};
  // the internal segment always goes to the candidate first, whatever the percent: its chain is gemini,
  // photomaker, sdxl. gemini's line takes nothing; photomaker's takes one sd image
  const auto j = t.run_one("u1", {}, "internal");
  CHECK(j.status == core::job_status::succeeded);
  CHECK(j.provider == "photomaker");
  CHECK(j.route_reason.find("budget: gemini") != std::string::npos); // it did start at the candidate
}

TEST_CASE("once the budget of every provider of the chain is used, intake refuses until the next budget day, stores nothing, and still answers a repeat") {
  testing::temp_dir dir;
  tree t{dir, tiny_budgets};
  const auto first = t.run_one("u1", "key-1"); // photomaker's one image
  REQUIRE(first.status == core::job_status::succeeded);
  const auto second = t.run_one("u2"); // sdxl's one image
  REQUIRE(second.status == core::job_status::succeeded);
  CHECK(second.provider == "sdxl");

  const auto refused = t.submit("u3");
  CHECK(refused.error == msg::submit_error::no_provider_admissible);
  CHECK(refused.message.find("gemini: budget") != std::string::npos);
  const auto now = t.vt.now();
  const auto next_day = core::budget_day_start(core::budget_day_index(now, {}) + 1, {});
  const auto expected = std::chrono::duration_cast<std::chrono::seconds>(next_day - now).count();
  CHECK(refused.retry_after_s >= expected);
  CHECK(refused.retry_after_s <= expected + 1);
  CHECK_FALSE(t.stored(second.id.value + 1));

  // a repeat of the first job is answered with it, as before
  const auto repeat = t.submit("u1", "key-1");
  CHECK(repeat.error == msg::submit_error::none);
  CHECK(repeat.replayed);
  CHECK(repeat.id == first.id);
  CHECK(repeat.status == core::job_status::succeeded);
  CHECK_FALSE(t.stored(second.id.value + 1));

  // the next budget day: the lines take work again
  t.vt.advance(std::chrono::seconds(refused.retry_after_s));
  CHECK(t.submit("u4").error == msg::submit_error::none);
}

TEST_CASE("the budget gauges follow every settle and start the next budget day at zero") {
  testing::temp_dir dir;
  tree t{dir, tiny_budgets};
  auto gauge = [&](const std::string& provider) {
    const auto text = t.engine.metrics->render();
    const std::string key = "cutover_budget_consumed_usd{provider=\"" + provider + "\"} ";
    const auto at = text.find(key);
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + key.size(), text.find('\n', at) - at - key.size()));
  };
  REQUIRE(t.run_one("u1").provider == "photomaker");
  CHECK(gauge("photomaker") == Approx(0.04));
  CHECK(gauge("all") == Approx(0.04));
  REQUIRE(t.run_one("u2").provider == "sdxl");
  CHECK(gauge("sdxl") == Approx(0.02));
  CHECK(gauge("photomaker") == Approx(0.04)); // a row that did not change keeps its figure
  CHECK(gauge("all") == Approx(0.06));
  // the next budget day: every row starts again at zero
  const auto now = t.vt.now();
  t.vt.advance(core::budget_day_start(core::budget_day_index(now, {}) + 1, {}) - now + 1s);
  REQUIRE(t.run_one("u3").provider == "photomaker");
  CHECK(gauge("photomaker") == Approx(0.04));
  CHECK(gauge("sdxl") == Approx(0));
  CHECK(gauge("all") == Approx(0.04));
}
