// A rollback reaches work already routed to the candidate (RTO < 5 min): a whole-tree story on the deterministic
// scheduler, with a real SQLite file and the default config's shape (an async candidate whose jobs run long, batch
// windows of 45 s, rollback.cancel_in_flight_after at its default of 5 m). The candidate's port is the simulated
// provider behind a recording wrapper (it stands in for the remote API: it counts creates and cancels, and answers
// one create with a 429 so that batch waits for a retry when the rollback comes).

#include "support/engine_story.hpp"

#include <catch2/catch.hpp>

#include <mutex>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// The default config's shape: the candidate is async and its remote jobs take 20 minutes; the baseline answers in
/// 6 s; every user is on the candidate until the operator rolls back. No `rollback` section: its default applies.
const char* story_config = R"(providers:
  gemini:
    kind: simulated
    mode: async
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: {latency_p50: 20m, latency_p95: 20m, failure_rate: 0%, quality: 0.93}
    retry: {max_attempts: 3, backoff: 1s, max_backoff: 30s}
    polling: {schedule: [{every: 5s, times: 6}, {every: 15s, times: 4}, {every: 60s}], deadline: 30m}
  photomaker:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}
    simulated: {latency_p50: 6s, latency_p95: 6s, failure_rate: 0%, quality: 0.9}
tiers:
  sd: {batch: {max_items: 50, max_wait: 45s}}
fallback: {gemini: [photomaker]}
dead_letter: {max_attempts: 3, retention: 2h}
rollout:
  name: recall
  baseline: photomaker
  candidate: gemini
  percent: 100
  phases: [{percent: 100}]
  triggers: {error_rate: {above: 50%, for: 1m, min_samples: 100}}
)";

/// The candidate's API as the engine sees it: the simulated provider, with every create and cancel recorded, and
/// create number `rate_limit_create` answered 429 with Retry-After 40 s.
class recording_port final : public core::provider_port {
public:
  explicit recording_port(std::shared_ptr<core::provider_port> inner) : inner_(std::move(inner)) {}
  int rate_limit_create = 2;

  bool takes_batches() const override { return inner_->takes_batches(); }
  void submit(const std::vector<core::work_item>& items, core::instant now, callback done) override {
    std::unique_lock<std::mutex> lock{mu_};
    const int no = ++creates_;
    lock.unlock();
    if (no == rate_limit_create) {
      core::provider_reply r;
      r.error = core::error_class::rate_limited;
      r.retry_after = 40s;
      r.message = "429 Too Many Requests";
      done(std::move(r));
      return;
    }
    inner_->submit(items, now, [this, done](core::provider_reply r) {
      if (r.k == core::provider_reply::kind::accepted) {
        std::lock_guard<std::mutex> g{mu_};
        accepted_.push_back(r.remote_id);
      }
      done(std::move(r));
    });
  }
  void poll(const std::string& remote_id, const std::vector<core::work_item>& items, core::instant now,
            callback done) override {
    inner_->poll(remote_id, items, now, std::move(done));
  }
  void cancel(const std::string& remote_id, core::instant now, callback done) override {
    {
      std::lock_guard<std::mutex> g{mu_};
      cancels_.push_back({remote_id, now});
    }
    inner_->cancel(remote_id, now, std::move(done));
  }

  struct cancel_call {
    std::string remote_id;
    core::instant at;
  };
  int creates() {
    std::lock_guard<std::mutex> g{mu_};
    return creates_;
  }
  std::vector<std::string> accepted() {
    std::lock_guard<std::mutex> g{mu_};
    return accepted_;
  }
  std::vector<cancel_call> cancels() {
    std::lock_guard<std::mutex> g{mu_};
    return cancels_;
  }

private:
  std::shared_ptr<core::provider_port> inner_;
  std::mutex mu_;
  int creates_ = 0;
  std::vector<std::string> accepted_;
  std::vector<cancel_call> cancels_;
};

/// What the story owns before its engine starts: the folder of its SQLite file, and the candidate's port.
struct story_parts {
  testing::temp_dir dir;
  std::shared_ptr<recording_port> candidate;
};

struct story : story_parts, testing::engine_story {
  story() : engine_story(dir, story_config, {std::chrono::seconds(0), true, ports(this)}) {}

  void rollback() { operate("rollback"); }
  /// Jobs with an attempt still running at the candidate.
  int running_at_candidate(const std::vector<core::job_id>& ids) {
    int n = 0;
    for (auto id : ids)
      for (const auto& a : job(id).attempts)
        n += a.provider == "gemini" && a.outcome == core::job_status::running;
    return n;
  }

private:
  static testing::port_factory ports(story_parts* parts) {
    return [parts](const core::provider_config& p) -> std::shared_ptr<core::provider_port> {
      auto sim = providers::make_simulated_provider(p);
      if (p.name != "gemini")
        return sim;
      parts->candidate = std::make_shared<recording_port>(std::move(sim));
      return parts->candidate;
    };
  }
};

core::instant t(core::duration d) { return testing::virtual_epoch + d; }

} // namespace

TEST_CASE("after a rollback waiting candidate work is on the baseline at once and nothing runs there 5 minutes on") {
  story s;
  // running: a remote job of 20 minutes, created when its window flushes at 45 s
  auto running = s.submit(4, "running");
  s.advance_to(50s);
  REQUIRE(s.candidate->accepted().size() == 1);
  REQUIRE(s.running_at_candidate(running) == 4);
  // retrying: its window flushes at 95 s, the create is answered 429 with Retry-After 40 s (retry due at 135 s)
  auto retrying = s.submit(3, "retrying");
  s.advance_to(100s);
  REQUIRE(s.candidate->creates() == 2);
  // windowed: in the candidate's window from 100 s (it would flush at 145 s)
  auto windowed = s.submit(2, "windowed");
  s.advance_to(120s);
  for (auto id : windowed)
    REQUIRE(s.job(id).provider == "gemini");

  s.rollback(); // at 120 s
  s.advance_to(121s); // the routes are written with the next group commit
  // waiting work is on the baseline at once: in the baseline's window opened at 120 s, it leaves at 165 s
  for (auto id : windowed) {
    auto j = s.job(id);
    CHECK(j.provider == "photomaker");
    CHECK(j.attempts.empty());
  }
  for (auto id : retrying) {
    auto j = s.job(id);
    CHECK(j.provider == "photomaker");
    REQUIRE(j.attempts.size() == 1);
    CHECK(j.attempts[0].provider == "gemini");
    CHECK(j.attempts[0].error == core::error_class::cancelled);
    CHECK(j.attempts[0].finished_at == t(120s));
    CHECK(j.attempts[0].cost == 0); // its one create was refused: nothing ran
  }
  // the running remote job may finish: it still runs up to 5 minutes after the rollback
  s.advance_to(419s);
  CHECK(s.running_at_candidate(running) == 4);
  CHECK(s.candidate->cancels().empty());
  s.advance_to(421s);
  CHECK(s.running_at_candidate(running) == 0);
  CHECK(s.running_at_candidate(retrying) == 0);
  const auto cancels = s.candidate->cancels();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].remote_id == s.candidate->accepted()[0]);
  CHECK(cancels[0].at == t(420s));
  CHECK(s.candidate->creates() == 2); // the retry of the refused create never happened

  std::vector<core::job_id> all;
  for (const auto* group : {&running, &retrying, &windowed})
    all.insert(all.end(), group->begin(), group->end());
  REQUIRE(s.vt.advance_until([&] { return s.all_final(all); }, 10min, 1s));
  REQUIRE(!all.empty());
  for (auto id : all) {
    auto j = s.job(id);
    CHECK(j.status == core::job_status::succeeded);
    REQUIRE(!j.attempts.empty());
    CHECK(j.attempts.back().provider == "photomaker");
  }
  for (auto id : windowed) {
    auto j = s.job(id);
    REQUIRE(j.attempts.size() == 1);
    CHECK(j.attempts[0].started_at == t(165s)); // 45 s after the rollback, not after the candidate's window
    CHECK(j.cost == 40'000);
  }
  for (auto id : retrying) {
    auto j = s.job(id);
    REQUIRE(j.attempts.size() == 2);
    CHECK(j.attempts[1].started_at == t(165s));
    CHECK(j.cost == 40'000);
  }
  for (auto id : running) {
    auto j = s.job(id);
    REQUIRE(j.attempts.size() == 2);
    CHECK(j.attempts[0].error == core::error_class::cancelled);
    CHECK(j.attempts[0].finished_at == t(420s));
    CHECK(j.attempts[0].cost == 30'000); // cancelled after it started: charged at its reservation
    CHECK(j.attempts[1].started_at == t(465s));
    CHECK(j.cost == 70'000);
  }
  s.vt.advance(2s); // the ledger's rows are written with the next commit
  const auto gemini = s.budget_row("gemini");
  CHECK(gemini.consumed == 4 * 30'000);
  CHECK(gemini.reserved == 0);
  const auto photomaker = s.budget_row("photomaker");
  CHECK(photomaker.consumed == 9 * 40'000);
  CHECK(photomaker.reserved == 0);
}

TEST_CASE("an attempt handed back at a rollback does not count against max_attempts, also after a restart") {
  // the candidate refuses its first create (429, retry in 40 s): the job waits at the candidate when the operator
  // rolls back, and is handed back (attempt 1, cancelled). The baseline and the next fallback fail; the last
  // fallback serves it — within dead_letter.max_attempts (3) only if the handed-back attempt is not counted.
  const std::string config = R"(providers:
  gemini:
    kind: simulated
    mode: async
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: {latency_p50: 20m, latency_p95: 20m, failure_rate: 0%, quality: 0.93}
  photomaker: {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08},
               simulated: {latency_p50: 2s, latency_p95: 2s, failure_rate: 100%, quality: 0.9},
               retry: {max_attempts: 1}}
  sdxl: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05},
         simulated: {latency_p50: 2s, latency_p95: 2s, failure_rate: 100%, quality: 0.9}, retry: {max_attempts: 1}}
  flux: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05},
         simulated: {latency_p50: 2s, latency_p95: 2s, failure_rate: 0%, quality: 0.9}}
tiers:
  sd: {batch: {max_items: 50, max_wait: 45s}}
fallback: {gemini: [photomaker, sdxl, flux], photomaker: [sdxl, flux]}
dead_letter: {max_attempts: 3, retention: 2h}
rollout: {name: recall, baseline: photomaker, candidate: gemini, percent: 100, phases: [{percent: 100}]}
)";
  testing::temp_dir dir;
  std::vector<core::job_id> ids;
  core::duration stopped_at{};
  {
    std::shared_ptr<recording_port> candidate;
    testing::engine_story first{dir, config, {0s, true, [&candidate](const core::provider_config& p)
                                                -> std::shared_ptr<core::provider_port> {
                                                  auto sim = providers::make_simulated_provider(p);
                                                  if (p.name != "gemini")
                                                    return sim;
                                                  candidate = std::make_shared<recording_port>(std::move(sim));
                                                  candidate->rate_limit_create = 1;
                                                  return candidate;
                                                }}};
    ids = first.submit(1);
    first.advance_to(60s); // flushed at 45 s, refused, its retry due at 85 s
    REQUIRE(candidate->creates() == 1);
    first.operate("rollback"); // handed back at 60 s; in the baseline's window until 105 s, failed at 107 s
    first.advance_to(120s);    // now in sdxl's window: the engine stops before it flushes
    auto j = first.job(ids[0]);
    REQUIRE(j.attempts.size() == 2);
    REQUIRE(j.attempts[0].error == core::error_class::cancelled);
    REQUIRE(j.attempts[1].provider == "photomaker");
    REQUIRE(j.provider == "sdxl");
    stopped_at = first.at();
  }
  testing::engine_story second{dir, config, {stopped_at}};
  REQUIRE(second.vt.advance_until([&] { return second.all_final(ids); }, 10min, 1s));
  auto j = second.job(ids[0]);
  INFO(j.error);
  CHECK(j.status == core::job_status::succeeded);
  REQUIRE(j.attempts.size() == 4);
  CHECK(j.attempts[2].provider == "sdxl");
  CHECK(j.attempts[3].provider == "flux");
}

TEST_CASE("after a restart the cancel clock of work still at the candidate runs from the rollback, not the restart") {
  testing::temp_dir dir;
  auto recording = [](std::shared_ptr<recording_port>& out) {
    return [&out](const core::provider_config& p) -> std::shared_ptr<core::provider_port> {
      auto sim = providers::make_simulated_provider(p);
      if (p.name != "gemini")
        return sim;
      out = std::make_shared<recording_port>(std::move(sim));
      out->rate_limit_create = 0; // no refusal in this story
      return out;
    };
  };
  std::vector<core::job_id> ids;
  {
    std::shared_ptr<recording_port> candidate;
    testing::engine_story first{dir, story_config, {0s, true, recording(candidate)}};
    ids = first.submit(2);
    first.advance_to(50s); // one remote job of 20 minutes, created at 45 s
    REQUIRE(candidate->accepted().size() == 1);
    first.operate("rollback"); // at 50 s: the remote job may run until 350 s
    first.advance_to(240s);
    REQUIRE(candidate->cancels().empty());
  } // stopped at 240 s
  std::shared_ptr<recording_port> candidate;
  testing::engine_story second{dir, story_config, {240s, true, recording(candidate)}};
  second.advance_to(349s);
  CHECK(candidate->cancels().empty());
  second.advance_to(351s);
  const auto cancels = candidate->cancels();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].at == t(350s)); // not 240 + 300 = 540 s
  REQUIRE(second.vt.advance_until([&] { return second.all_final(ids); }, 10min, 1s));
  for (auto id : ids)
    CHECK(second.job(id).status == core::job_status::succeeded);
}
