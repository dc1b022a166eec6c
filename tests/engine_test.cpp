// Whole-tree stories on the deterministic scheduler: the real actors, a real SQLite file, simulated providers,
// virtual time. Each story asserts what ends up in the store and when.

#include "support/engine_story.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

std::string story_config(const std::string& gemini_failure, const std::string& photomaker_failure,
                         const std::string& sdxl_failure, const std::string& gemini_latency = "2s") {
  auto sim = [](const std::string& latency, const std::string& failure) {
    return "{latency_p50: " + latency + ", latency_p95: " + latency + ", failure_rate: " + failure + ", quality: 0.9}";
  };
  return R"(providers:
  gemini:
    kind: simulated
    mode: async
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: )" + sim(gemini_latency, gemini_failure) + R"(
  photomaker: {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}, simulated: )" +
         sim("1s", photomaker_failure) + R"(}
  sdxl: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}, simulated: )" +
         sim("1s", sdxl_failure) + R"(}
tiers:
  sd: {batch: {max_items: 50, max_wait: 45s}}
fallback: {gemini: [photomaker, sdxl], photomaker: [sdxl]}
dead_letter: {max_attempts: 3, retention: 2h}
rollout: {name: story, baseline: photomaker, candidate: gemini, percent: 100, phases: [{percent: 100}]}
)";
}

/// Calls per provider around the simulated ports, and crashes to inject.
struct port_counts {
  std::map<std::string, int> submits; ///< calls
  std::map<std::string, int> crashes; ///< submits that throw (crash the provider's worker) first
  std::map<std::string, int> items;   ///< items submitted
};

struct counting_port : core::provider_port {
  std::shared_ptr<core::provider_port> inner;
  std::shared_ptr<port_counts> counts;
  std::string name;
  bool takes_batches() const override { return inner->takes_batches(); }
  void submit(const std::vector<core::work_item>& items, core::instant now, callback done) override {
    if (counts->crashes[name] > 0) {
      counts->crashes[name] -= 1;
      throw std::runtime_error("injected crash in " + name);
    }
    counts->submits[name] += 1;
    counts->items[name] += static_cast<int>(items.size());
    inner->submit(items, now, std::move(done));
  }
  void poll(const std::string& id, const std::vector<core::work_item>& items, core::instant now,
            callback done) override {
    inner->poll(id, items, now, std::move(done));
  }
  void cancel(const std::string& id, core::instant now, callback done) override {
    inner->cancel(id, now, std::move(done));
  }
};

/// An engine whose providers are simulated behind counting ports.
/// The counts exist before the engine that the ports count for.
struct counted {
  std::shared_ptr<port_counts> counts;
};

struct story : counted, testing::engine_story {
  /// `settle`: see testing::story_options.
  story(testing::temp_dir& d, const std::string& config_text, std::map<std::string, int> crash = {},
        bool settle = true)
      : counted{std::make_shared<port_counts>(port_counts{{}, std::move(crash), {}})},
        engine_story(d, config_text, {0s, settle, counting_ports(counts)}) {}

private:
  static testing::port_factory counting_ports(std::shared_ptr<port_counts> c) {
    return [c](const core::provider_config& p) {
      auto port = std::make_shared<counting_port>();
      port->inner = providers::make_simulated_provider(p);
      port->counts = c;
      port->name = p.name;
      return std::shared_ptr<core::provider_port>(port);
    };
  }
};

} // namespace

TEST_CASE("a job that fails at the candidate falls back along the chain and succeeds at the baseline") {
  testing::temp_dir dir;
  story s{dir, story_config("100%", "0%", "0%")};
  const auto t0 = s.vt.now();
  auto ids = s.submit(3);
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 10min, 1s));
  for (auto id : ids) {
    auto j = s.job(id);
    CHECK(j.status == core::job_status::succeeded);
    CHECK(j.provider == "photomaker");
    REQUIRE(j.attempts.size() == 2);
    CHECK(j.attempts[0].provider == "gemini");
    CHECK(j.attempts[0].outcome == core::job_status::failed);
    CHECK(j.attempts[0].error == core::error_class::server);
    CHECK_FALSE(j.attempts[0].remote_id.empty());
    CHECK(j.attempts[1].provider == "photomaker");
    CHECK(j.attempts[1].outcome == core::job_status::succeeded);
    CHECK(j.route_reason == "bucket " + std::to_string(j.bucket) + " <= 100; fallback after gemini: server");
    CHECK(j.cost == 40'000);
    CHECK(j.images.size() == 1);
    // the candidate's batch waited 45 s, its remote job answered at the 5 s poll; then photomaker's window
    CHECK(j.attempts[0].started_at == t0 + 45s);
    CHECK(j.attempts[0].finished_at == t0 + 50s);
    CHECK(j.attempts[1].started_at == t0 + 95s);
    CHECK(j.attempts[1].finished_at == t0 + 96s);
  }
  CHECK(s.counts->submits["gemini"] == 1); // one remote job for the whole batch
}

TEST_CASE("a provider whose worker crashes twice is restarted and its batch completes while the other provider flows on") {
  testing::temp_dir dir;
  auto config = story_config("0%", "0%", "0%");
  config.replace(config.find("percent: 100, phases: [{percent: 100}]"), 38, "percent: 50, phases: [{percent: 50, min_duration: 30d}, {percent: 100}]");
  story s{dir, config, {{"gemini", 2}}};
  const auto t0 = s.vt.now();
  auto ids = s.submit(40);
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 10min, 1s));
  int at_gemini = 0, at_photomaker = 0;
  for (auto id : ids) {
    auto j = s.job(id);
    INFO("job " << core::to_string(id) << " at " << j.provider);
    CHECK(j.status == core::job_status::succeeded);
    REQUIRE(j.attempts.size() == 1); // the crash cost no attempt: the same one ran again
    if (j.provider == "photomaker") {
      ++at_photomaker;
      // untouched by the other provider's crashes: its window at 45 s, its 1 s call
      CHECK(j.attempts[0].started_at == t0 + 45s);
      CHECK(j.attempts[0].finished_at == t0 + 46s);
    } else {
      ++at_gemini;
      CHECK(j.provider == "gemini");
      CHECK(j.attempts[0].finished_at >= t0 + 45s);
    }
  }
  CHECK(at_gemini > 0);
  CHECK(at_photomaker > 0);
  CHECK(s.counts->crashes["gemini"] == 0);  // both crashes happened
  CHECK(s.counts->submits["gemini"] == 1);  // then one remote job for the batch
  CHECK(s.engine.metrics->get_counter("cutover_worker_restarts_total", {{"provider", "gemini"}}, "").value() == 2);
  CHECK(s.engine.metrics->get_counter("cutover_worker_restarts_total", {{"provider", "photomaker"}}, "").value() == 0);
}

TEST_CASE("a job that fails everywhere is dead-lettered after dead_letter.max_attempts with every attempt kept") {
  testing::temp_dir dir;
  story s{dir, story_config("100%", "100%", "100%")};
  auto ids = s.submit(2);
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 10min, 1s));
  for (auto id : ids) {
    auto j = s.job(id);
    CHECK(j.status == core::job_status::dead_lettered);
    REQUIRE(j.attempts.size() == 3);
    CHECK(j.attempts[0].provider == "gemini");
    CHECK(j.attempts[1].provider == "photomaker");
    CHECK(j.attempts[2].provider == "sdxl");
    CHECK(j.error == "dead_letter.max_attempts (3) reached; last sdxl: server");
    CHECK(j.images.empty());
    CHECK(j.cost == 0);
  }
}

TEST_CASE("an async job whose provider never finishes times out at the polling deadline and falls back") {
  testing::temp_dir dir;
  story s{dir, story_config("0%", "0%", "0%", "50m")}; // past the default polling deadline of 30 min
  const auto t0 = s.vt.now();
  auto ids = s.submit(1);
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 2h, 10s));
  auto j = s.job(ids[0]);
  CHECK(j.status == core::job_status::succeeded);
  REQUIRE(j.attempts.size() == 2);
  CHECK(j.attempts[0].error == core::error_class::timeout);
  CHECK(j.attempts[0].finished_at == t0 + 45s + 30min);
  CHECK(j.attempts[1].provider == "photomaker");
}

TEST_CASE("a restarted engine re-polls stored remote jobs instead of submitting them again") {
  testing::temp_dir dir;
  std::vector<core::job_id> ids;
  std::string remote;
  {
    story first{dir, story_config("0%", "0%", "0%", "10m")};
    ids = first.submit(5);
    first.vt.advance(50s); // the window flushed at 45 s; the remote job is accepted and its id stored
    CHECK(first.counts->submits["gemini"] == 1);
    auto j = first.job(ids[0]);
    REQUIRE(j.status == core::job_status::running);
    remote = j.attempts.at(0).remote_id;
    REQUIRE_FALSE(remote.empty());
  } // the first engine is gone mid-flight
  story second{dir, story_config("0%", "0%", "0%", "10m")};
  REQUIRE(second.vt.advance_until([&] { return second.all_final(ids); }, 30min, 10s));
  CHECK(second.counts->submits["gemini"] == 0); // nothing submitted again
  for (auto id : ids) {
    auto j = second.job(id);
    CHECK(j.status == core::job_status::succeeded);
    REQUIRE(j.attempts.size() == 1);
    CHECK(j.attempts[0].remote_id == remote);
  }
}

TEST_CASE("jobs accepted but never routed before a restart are routed by the next engine") {
  testing::temp_dir dir;
  std::vector<core::job_id> ids;
  {
    story first{dir, story_config("0%", "0%", "0%")};
    ids = first.submit(4);
    // stopped before the 45 s window flushed: the jobs are stored, queued in a batcher's memory only
  }
  story second{dir, story_config("0%", "0%", "0%")};
  REQUIRE(second.vt.advance_until([&] { return second.all_final(ids); }, 10min, 1s));
  for (auto id : ids)
    CHECK(second.job(id).status == core::job_status::succeeded);
  auto more = second.submit(1);
  CHECK(more[0].value == ids.back().value + 1); // ids continue after the stored ones
}

TEST_CASE("a job accepted while a restarted engine resumes the stored ones is routed once") {
  // the submission comes in after each possible number of steps of the start: before, while and after the
  // router loads the jobs to resume (which then may already hold the new one)
  for (int steps = 0; steps < 40; ++steps) {
    INFO("submitted after " << steps << " steps of the start");
    testing::temp_dir dir;
    std::vector<core::job_id> ids;
    {
      story first{dir, story_config("0%", "0%", "0%")};
      ids = first.submit(2); // stored, never routed: the next engine resumes them
    }
    story second{dir, story_config("0%", "0%", "0%"), {}, false};
    for (int i = 0; i < steps; ++i)
      second.vt.sched->run_once();
    auto more = second.submit(1);
    ids.push_back(more[0]);
    REQUIRE(second.vt.advance_until([&] { return second.all_final(ids); }, 10min, 1s));
    second.vt.advance(10min); // anything routed twice has been called by now
    for (auto id : ids) {
      auto j = second.job(id);
      CHECK(j.status == core::job_status::succeeded);
      CHECK(j.attempts.size() == 1);
    }
    CHECK(second.counts->items["gemini"] == 3); // each job called once
  }
}

TEST_CASE("the user wait of succeeded jobs includes their batch window, is exported by cohort and rebuilt after a restart") {
  testing::temp_dir dir;
  std::vector<core::job_id> ids;
  auto wait_p95 = [](testing::engine_story& s) {
    return core::user_wait_metrics(*s.engine.metrics, "candidate").p95->value();
  };
  auto wait_jobs = [](testing::engine_story& s) {
    return core::user_wait_metrics(*s.engine.metrics, "candidate").jobs->value();
  };
  {
    testing::engine_story first{dir, story_config("0%", "0%", "0%")}; // sd window 45 s, the call 2 s (async)
    ids = first.submit(5);
    REQUIRE(first.vt.advance_until([&] { return first.all_final(ids); }, 10min, 1s));
    first.vt.advance(5s); // the controller's next tick exports what it heard
    CHECK(wait_jobs(first) == 5);
    CHECK(wait_p95(first) >= 47'000'000); // microseconds: 45 s in the window, 2 s at the provider
    CHECK(wait_p95(first) <= 60'000'000);
  }
  testing::engine_story second{dir, story_config("0%", "0%", "0%"), {10min}}; // a later process
  second.vt.advance(5s);
  CHECK(wait_jobs(second) == 5); // rebuilt from the attempts and the jobs' creation on disk
  CHECK(wait_p95(second) >= 47'000'000);
  CHECK(core::user_wait_metrics(*second.engine.metrics, "baseline").jobs->value() == 0);
}

TEST_CASE("a replayed dead letter goes round the chain again with its earlier attempts kept and not counted") {
  testing::temp_dir dir;
  story s{dir, story_config("100%", "100%", "100%")};
  auto ids = s.submit(2);
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 10min, 1s));
  REQUIRE(s.job(ids[0]).status == core::job_status::dead_lettered);
  CHECK(s.replay(ids[0]).error == msg::replay_error::none);
  auto j = s.job(ids[0]);
  CHECK(j.status == core::job_status::queued);
  CHECK(j.error.empty());
  CHECK(j.attempt_base == 3);
  CHECK(j.route_reason.rfind("replay: bucket", 0) == 0);
  CHECK(s.replay(ids[0]).error == msg::replay_error::not_dead_lettered); // already going round
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 10min, 1s));
  j = s.job(ids[0]);
  CHECK(j.status == core::job_status::dead_lettered);
  REQUIRE(j.attempts.size() == 6);
  CHECK(j.attempts[3].no == 4);
  CHECK(j.attempts[3].provider == "gemini");
  CHECK(j.attempts[5].provider == "sdxl");
  CHECK(j.error == "dead_letter.max_attempts (3) reached; last sdxl: server");
  CHECK(s.job(ids[1]).attempts.size() == 3); // the other was not touched
  CHECK(s.replay(core::job_id{999}).error == msg::replay_error::not_found);
}

TEST_CASE("only dead letters can be replayed") {
  testing::temp_dir dir;
  story s{dir, story_config("0%", "0%", "0%")};
  auto ids = s.submit(1);
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 10min, 1s));
  auto r = s.replay(ids[0]);
  CHECK(r.error == msg::replay_error::not_dead_lettered);
}

TEST_CASE("dead letters older than dead_letter.retention are swept on the actor clock") {
  testing::temp_dir dir;
  story s{dir, story_config("100%", "100%", "100%")}; // retention 2h, swept hourly
  auto ids = s.submit(3);
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 10min, 1s));
  CHECK(s.reader->jobs().dead_letters(10, "").size() == 3);
  s.vt.advance(2h + 30min); // the sweeps at 1 h and 2 h find them younger than 2 h
  CHECK(s.reader->jobs().dead_letters(10, "").size() == 3);
  s.vt.advance(1h); // the sweep at 3 h removes them
  CHECK(s.reader->jobs().dead_letters(10, "").empty());
  CHECK_FALSE(s.reader->jobs().find(ids[0]).has_value());
}

TEST_CASE("queue depth counts items in batch windows, and the fallback ratio falls to 0 five minutes after the last") {
  testing::temp_dir dir;
  story s{dir, story_config("100%", "0%", "0%")};
  auto& m = *s.engine.metrics;
  auto depth = [&m](const std::string& provider, const char* stage) {
    return m.get_gauge("cutover_queue_depth_items", {{"provider", provider}, {"stage", stage}}).value();
  };
  auto ratio = [&m] { return m.get_gauge("cutover_fallback_ratio", {}).value(); };
  auto ids = s.submit(3);
  // admitted and waiting in gemini's 45 s sd window: accepted, not yet submitted
  CHECK(depth("gemini", "window") == 3);
  CHECK(depth("gemini", "admission") == 0);
  REQUIRE(s.vt.advance_until([&] { return s.all_final(ids); }, 10min, 1s));
  for (const auto& p : {"gemini", "photomaker", "sdxl"})
    for (const char* stage : {"admission", "window", "waiting"}) {
      INFO(p << " " << stage);
      CHECK(depth(p, stage) == 0);
    }
  // each job fell back once and finished once: 1.0, shown in parts per million
  CHECK(ratio() == 1'000'000);
  CHECK(m.get_counter("cutover_fallbacks_total", {{"from", "gemini"}, {"to", "photomaker"}, {"reason", "server"}})
          .value() == 3);
  // the user wait is counted for the provider that served it and the cohort the job was routed to
  const auto waits = m.get_histogram("cutover_job_user_wait_seconds",
                                     {{"provider", "photomaker"}, {"tier", "sd"}, {"cohort", "candidate"}})
                       .read();
  CHECK(waits.count == 3);
  CHECK(m.get_histogram("cutover_provider_call_duration_seconds", {{"provider", "gemini"}}).read().count == 3);
  // an idle engine: the router's own timer lets the window age, no new event needed
  s.vt.advance(4min);
  CHECK(ratio() == 1'000'000);
  s.vt.advance(2min);
  CHECK(ratio() == 0);
}
