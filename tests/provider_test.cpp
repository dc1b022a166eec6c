#include "actors/provider_supervisor.hpp"
#include "actors/store_actor.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "support/virtual_time.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <set>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// A provider API scripted by the test: records when it was called, can throw (a crash inside the actor),
/// and finishes async jobs after a given number of polls.
struct scripted_port : core::provider_port {
  bool async = false;
  int throw_first = 0;          ///< this many submits throw before one succeeds
  int polls_until_done = -1;    ///< -1: never finishes
  bool polls_fail = false;      ///< every poll fails (no answer from the status call), the remote job unknown
  core::duration latency{0};    ///< a sync answer arrives this much later (on the actor clock)
  int images_per_item = 1;      ///< images each item succeeds with, whatever its n
  std::vector<core::instant> submits, polls;
  std::vector<std::pair<std::string, core::instant>> cancels; ///< remote id, when
  std::deque<core::provider_reply> failing_submits; ///< the next submits answer these failures, in order

  bool takes_batches() const override { return async; }
  void submit(const std::vector<core::work_item>& items, core::instant now, callback done) override {
    submits.push_back(now);
    if (throw_first > 0) {
      --throw_first;
      throw std::runtime_error("scripted crash");
    }
    if (!failing_submits.empty()) {
      auto failure = failing_submits.front();
      failing_submits.pop_front();
      done(std::move(failure));
      return;
    }
    core::provider_reply r;
    if (async) {
      r.k = core::provider_reply::kind::accepted;
      r.remote_id = "remote-1";
    } else {
      r.items = results(items);
      r.delay = latency;
    }
    done(std::move(r));
  }
  void poll(const std::string&, const std::vector<core::work_item>& items, core::instant now,
            callback done) override {
    polls.push_back(now);
    core::provider_reply r;
    if (polls_fail) {
      r.error = core::error_class::timeout;
      r.poll_failed = true;
    } else if (polls_until_done < 0 || static_cast<int>(polls.size()) < polls_until_done)
      r.k = core::provider_reply::kind::pending;
    else
      r.items = results(items);
    done(std::move(r));
  }
  void cancel(const std::string& remote_id, core::instant now, callback done) override {
    cancels.emplace_back(remote_id, now);
    done(core::provider_reply{});
  }
  std::vector<core::provider_reply::item> results(const std::vector<core::work_item>& items) const {
    std::vector<core::provider_reply::item> out;
    for (const auto& i : items)
      out.push_back({i.id, core::error_class::none, "",
                     std::vector<std::string>(static_cast<std::size_t>(images_per_item), "iVBORw0KGgo="), 0.9});
    return out;
  }
};

/// The SQLite store whose writes of remote ids can be made to fail (a full disk, a locked file): the store actor
/// then keeps them and tries again, as it does for any failed commit, or stops once it gives up.
struct flaky_store : core::store_db {
  std::shared_ptr<core::store_db> inner;
  std::function<core::instant()> clock;
  int fail_remote_writes = 0;                                ///< this many writes of a remote id fail, then they pass
  std::vector<std::pair<bool, core::instant>> remote_writes; ///< (stored, when) per write carrying a remote id

  void commit(const core::write_batch& b) override {
    const bool remote = std::any_of(b.events.begin(), b.events.end(),
                                    [](const auto& e) { return e.kind == core::event_kind::attempt_remote; });
    if (remote && fail_remote_writes > 0) {
      --fail_remote_writes;
      remote_writes.emplace_back(false, clock());
      throw std::runtime_error("disk I/O error (scripted)");
    }
    inner->commit(b);
    if (remote)
      remote_writes.emplace_back(true, clock());
  }
  core::job_store& jobs() override { return inner->jobs(); }
  core::budget_store& budget() override { return inner->budget(); }
  core::audit_store& audit() override { return inner->audit(); }
};

struct rig {
  testing::virtual_time vt;
  testing::temp_dir dir;
  std::shared_ptr<scripted_port> port = std::make_shared<scripted_port>();
  std::shared_ptr<flaky_store> db = std::make_shared<flaky_store>();
  std::shared_ptr<std::vector<core::item_outcome>> outcomes = std::make_shared<std::vector<core::item_outcome>>();
  msg::store_actor store;
  actors::outcome_sink sink;
  msg::provider_actor provider;
  /// When the worker told the rollout a poll was answered ("still running").
  std::shared_ptr<std::vector<core::instant>> answered = std::make_shared<std::vector<core::instant>>();
  msg::trip_sink trips;

  core::metrics_ptr metrics = std::make_shared<core::metrics_registry>();
  core::provider_config cfg; ///< the provider's configuration at start

  /// `tweak` adjusts the provider's configuration before the provider starts.
  /// `seed` writes to the store before the provider starts (what an earlier process left).
  explicit rig(bool async, actors::supervisor_limits limits = {}, core::limits_config provider_limits = {},
               const std::function<void(core::provider_config&)>& tweak = {},
               const std::function<void(core::store_db&, core::instant now)>& seed = {},
               core::commit_retry_limits store_retry = {}) {
    port->async = async;
    db->inner = store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal);
    if (seed)
      seed(*db->inner, vt.now());
    db->clock = [this] { return vt.now(); };
    store = actors::spawn_store(*vt.sys, db,
                                actors::store_options{false, vt.anchor(), core::defaults::dead_letter_retention,
                                                      std::chrono::hours(1), nullptr, store_retry, {}});
    auto seen = outcomes;
    sink = vt.sys->spawn([seen](actors::outcome_sink::pointer) -> actors::outcome_sink::behavior_type {
      return {[seen](msg::outcomes& m) {
        for (auto& o : m.items)
          seen->push_back(o);
      }};
    });
    trips = vt.sys->spawn([answered = answered](msg::trip_sink::pointer) -> msg::trip_sink::behavior_type {
      return {[](const msg::breaker_trip&) {}, [answered](const msg::poll_answered& m) { answered->push_back(m.at); }};
    });
    cfg.name = "gemini";
    cfg.cost_per_image = {30'000, 60'000, 90'000};
    cfg.mode = async ? core::provider_mode::async : core::provider_mode::sync;
    cfg.polling = {core::default_poll_schedule(), 5min};
    cfg.limits = provider_limits;
    if (tweak)
      tweak(cfg);
    auto env = std::make_shared<actors::worker_env>(actors::worker_env{cfg, port, store, vt.anchor(), metrics, {}, trips, msg::admissibility_reports{}});
    provider = actors::spawn_provider(*vt.sys, env, sink, limits);
    vt.run();
  }

  void submit_batch(int items, int n = 1, core::tier t = core::tier::sd) {
    msg::provider_batch b;
    b.tier_ = t;
    for (int i = 1; i <= items; ++i)
      b.items.push_back(core::work_item{core::job_id{static_cast<std::uint64_t>(i)}, 1, t, n, "a kite", "u"});
    caf::anon_send(provider, std::move(b));
    vt.run();
  }

  std::int64_t breaker_gauge() {
    return metrics->get_gauge("cutover_breaker_state", {{"provider", "gemini"}}, "").value();
  }

  ~rig() {
    caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(trips, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    vt.run();
  }
};

std::vector<long> seconds_after(const std::vector<core::instant>& times, core::instant t0) {
  std::vector<long> out;
  for (auto t : times)
    out.push_back(static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(t - t0).count()));
  return out;
}

} // namespace

TEST_CASE("an async job is polled at 5, 10 .. 30, 45 .. 90, 150, 210 s and times out at the deadline") {
  rig r{true};
  const auto t0 = r.vt.now();
  r.submit_batch(2);
  REQUIRE(r.port->submits.size() == 1);
  r.vt.advance(10min);
  CHECK(seconds_after(r.port->polls, t0) ==
        std::vector<long>{5, 10, 15, 20, 25, 30, 45, 60, 75, 90, 150, 210, 270, 300});
  REQUIRE(r.outcomes->size() == 2);
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::timeout);
    CHECK(o.remote_id == "remote-1");
    CHECK(o.finished_at == t0 + 5min);
  }
}

TEST_CASE("a poll answered \"still running\" is told to the rollout as liveness; a failed poll is not") {
  for (bool fail : {false, true}) {
    rig r{true};
    const auto t0 = r.vt.now();
    r.port->polls_until_done = 4; // polls at 5, 10, 15 s answer "still running", the one at 20 s ends the job
    r.port->polls_fail = fail;
    r.submit_batch(1);
    r.vt.advance(30s);
    REQUIRE_FALSE(r.port->polls.empty());
    if (fail)
      CHECK(r.answered->empty());
    else
      CHECK(seconds_after(*r.answered, t0) == std::vector<long>{5, 10, 15});
  }
}

TEST_CASE("an async job past its polling deadline is cancelled at the provider once, at the deadline") {
  rig r{true};
  const auto t0 = r.vt.now();
  r.submit_batch(2);
  r.vt.advance(4min);
  CHECK(r.port->cancels.empty()); // still polling
  r.vt.advance(6min);
  REQUIRE(r.outcomes->size() == 2);
  REQUIRE(r.port->cancels.size() == 1); // one remote job, however many items it carries
  CHECK(r.port->cancels[0].first == "remote-1");
  CHECK(r.port->cancels[0].second == t0 + 5min);
}

TEST_CASE("an async job that finishes before its deadline is never cancelled") {
  rig r{true};
  r.port->polls_until_done = 3;
  r.submit_batch(1);
  r.vt.advance(10min);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::none);
  CHECK(r.port->cancels.empty());
}

namespace {
/// A failure of a whole call; `unanswered`: no HTTP answer arrived (a transport failure).
core::provider_reply failed_call(core::error_class e, bool unanswered, core::duration retry_after = 0s) {
  core::provider_reply r;
  r.error = e;
  r.message = "scripted failure";
  r.unanswered = unanswered;
  r.retry_after = retry_after;
  return r;
}
} // namespace

TEST_CASE("an async create that times out is not retried and its items fail as timeout for the fallback chain") {
  rig r{true};
  r.port->failing_submits = {failed_call(core::error_class::timeout, true)};
  r.submit_batch(2);
  r.vt.advance(10min);
  CHECK(r.port->submits.size() == 1); // a second create could start a second paid remote job
  CHECK(r.port->polls.empty());
  REQUIRE(r.outcomes->size() == 2);
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::timeout);
    CHECK(o.remote_id.empty());
  }
}

TEST_CASE("an async create that got no HTTP answer is not retried and its items fail with their class") {
  rig r{true};
  r.port->failing_submits = {failed_call(core::error_class::server, true)}; // e.g. the connection was cut
  r.submit_batch(1);
  r.vt.advance(10min);
  CHECK(r.port->submits.size() == 1);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::server);
}

TEST_CASE("an async create answered with 429 or a 5xx is retried at the same provider") {
  rig r{true};
  r.port->polls_until_done = 1;
  r.port->failing_submits = {failed_call(core::error_class::rate_limited, false, 2s),
                             failed_call(core::error_class::server, false)};
  const auto t0 = r.vt.now();
  r.submit_batch(1);
  r.vt.advance(10min);
  REQUIRE(r.port->submits.size() == 3);
  CHECK(r.port->submits[1] >= t0 + 2s); // after the provider's Retry-After
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::none);
  CHECK(r.outcomes->front().remote_id == "remote-1");
}

TEST_CASE("a sync call that timed out is still retried at the same provider") {
  rig r{false};
  r.port->failing_submits = {failed_call(core::error_class::timeout, true)};
  r.submit_batch(1);
  r.vt.advance(1min);
  CHECK(r.port->submits.size() == 2);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::none);
}

TEST_CASE("a remote id whose write fails is written again by the store's retry before the first poll") {
  rig r{true};
  r.db->fail_remote_writes = 2;
  r.port->polls_until_done = 1;
  const auto t0 = r.vt.now();
  r.submit_batch(2);
  r.vt.advance(250ms);
  CHECK(r.port->polls.empty()); // not polled while the id is not on disk
  r.vt.advance(10min);
  using write = std::pair<bool, core::instant>;
  // the store keeps the failed events and commits them again after 100 ms, then 200 ms more
  CHECK(r.db->remote_writes == std::vector<write>{{false, t0}, {false, t0 + 100ms}, {true, t0 + 300ms}});
  CHECK(seconds_after(r.port->polls, t0) == std::vector<long>{5}); // the schedule still counts from the submit
  REQUIRE(r.outcomes->size() == 2);
  for (const auto& o : *r.outcomes)
    CHECK(o.error == core::error_class::none);
}

TEST_CASE("a remote id that cannot be written because the store gave up is still polled to its end") {
  core::commit_retry_limits give_up_at_once;
  give_up_at_once.max_failures = 1;
  rig r{true, {}, {}, {}, {}, give_up_at_once};
  r.db->fail_remote_writes = 1000;
  r.port->polls_until_done = 2;
  const auto t0 = r.vt.now();
  r.submit_batch(1);
  r.vt.advance(10min);
  // the store stopped at the failure (the engine would stop with it); the worker tried 5 times, 1 s apart
  REQUIRE(r.db->remote_writes.size() == 1);
  CHECK(r.db->remote_writes.back() == std::pair<bool, core::instant>{false, t0});
  CHECK(seconds_after(r.port->polls, t0) == std::vector<long>{5, 10}); // the remote job runs, paid for: follow it
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::none);
}

TEST_CASE("an async job that finishes is reported once, at the poll that saw it finish") {
  rig r{true};
  r.port->polls_until_done = 8; // the 8th poll, at 60 s, sees it done
  const auto t0 = r.vt.now();
  r.submit_batch(3);
  r.vt.advance(10min);
  CHECK(seconds_after(r.port->polls, t0) == std::vector<long>{5, 10, 15, 20, 25, 30, 45, 60});
  REQUIRE(r.outcomes->size() == 3);
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::none);
    CHECK(o.finished_at == t0 + 60s);
    CHECK(o.cost == 30'000);
  }
}

TEST_CASE("a provider worker that throws is restarted and its batch completes") {
  rig r{false};
  r.port->throw_first = 1;
  r.submit_batch(4);
  r.vt.run();
  // the first call crashed the worker; the supervisor restarted it and re-sent the whole batch
  CHECK(r.port->submits.size() == 1 + 4);
  REQUIRE(r.outcomes->size() == 4);
  std::set<std::uint64_t> ids;
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::none);
    ids.insert(o.id.value);
  }
  CHECK(ids == std::set<std::uint64_t>{1, 2, 3, 4});
  // the supervisor is still there and serves the next batch with its new worker
  r.submit_batch(1);
  CHECK(r.outcomes->size() == 5);
}

TEST_CASE("a crash loop beyond the restart intensity escalates to the supervisor's supervisor") {
  rig r{false, actors::supervisor_limits{3, 60s}};
  r.port->throw_first = 1000;
  caf::scoped_actor watcher{*r.vt.sys};
  watcher->monitor(r.provider);
  r.submit_batch(1);
  r.vt.run();
  CHECK(r.port->submits.size() == 4); // the first run and 3 restarts
  bool escalated = false;
  watcher->receive([&](caf::down_msg& dm) { escalated = dm.source == r.provider.address() && dm.reason; },
                   caf::after(std::chrono::seconds(0)) >> [] {});
  CHECK(escalated);
  CHECK(r.outcomes->empty());
}

TEST_CASE("crashes spread out in time stay within the restart intensity") {
  rig r{false, actors::supervisor_limits{2, 60s}};
  for (int round = 0; round < 4; ++round) {
    r.port->throw_first = 1;
    r.submit_batch(1);
    r.vt.advance(61s);
  }
  CHECK(r.outcomes->size() == 4);
}

TEST_CASE("a provider never has more than max_concurrent calls in flight and waiting items go when a slot frees") {
  core::limits_config limits;
  limits.max_concurrent = 3;
  limits.on_limit = core::on_limit_action::wait;
  rig r{false, {}, limits};
  r.port->latency = 1s;
  const auto t0 = r.vt.now();
  r.submit_batch(10);
  r.vt.advance(10s);
  REQUIRE(r.outcomes->size() == 10);
  for (const auto& o : *r.outcomes)
    CHECK(o.error == core::error_class::none);
  // each call lasts 1 s: at any instant, the calls started in the last second are the ones in flight
  int most = 0;
  for (auto t : r.port->submits) {
    int in_flight = 0;
    for (auto u : r.port->submits)
      in_flight += u <= t && t < u + 1s;
    most = std::max(most, in_flight);
  }
  CHECK(most == 3);
  CHECK(seconds_after(r.port->submits, t0) == std::vector<long>{0, 0, 0, 1, 1, 1, 2, 2, 2, 3});
}

TEST_CASE("an item over a provider's limit falls back at once when on_limit is fallback") {
  core::limits_config limits;
  limits.max_concurrent = 2;
  rig r{false, {}, limits};
  r.port->latency = 1s;
  r.submit_batch(5);
  r.vt.advance(5s);
  REQUIRE(r.outcomes->size() == 5);
  int over = 0;
  for (const auto& o : *r.outcomes)
    over += o.error == core::error_class::over_limit;
  CHECK(over == 3);
  CHECK(r.port->submits.size() == 2);
}

TEST_CASE("a provider's hourly cap holds across the window edge when items wait") {
  core::limits_config limits;
  limits.max_per_hour = 2;
  limits.on_limit = core::on_limit_action::wait;
  rig r{false, {}, limits};
  const auto t0 = r.vt.now();
  r.submit_batch(5);
  r.vt.advance(3h);
  REQUIRE(r.outcomes->size() == 5);
  const auto at = seconds_after(r.port->submits, t0);
  REQUIRE(at.size() == 5);
  // never more than 2 calls in any 60 minutes
  for (std::size_t i = 0; i + 2 < at.size(); ++i)
    CHECK(at[i + 2] - at[i] >= 3600);
  CHECK(at[0] == 0);
  CHECK(at[1] == 0);
}

TEST_CASE("the breaker gauge reads half-open exactly open_for after the trip with no traffic") {
  rig r{false, {}, {}, [](core::provider_config& p) {
          p.retry.max_attempts = 1;
          p.breaker = core::breaker_config{500'000, 2, 60s, 30s, 1};
        }};
  constexpr std::int64_t closed = 0, open = 1, half_open = 2;
  CHECK(r.breaker_gauge() == closed);
  r.port->failing_submits = {failed_call(core::error_class::server, false), failed_call(core::error_class::server, false)};
  r.submit_batch(2); // 2 of 2 calls fail: it trips now
  CHECK(r.breaker_gauge() == open);
  r.vt.advance(30s - 1ms);
  CHECK(r.breaker_gauge() == open);
  r.vt.advance(1ms);
  CHECK(r.breaker_gauge() == half_open);
  CHECK(r.port->submits.size() == 2); // no call made it change
  // a failed probe opens it again, and it half-opens again on time
  r.port->failing_submits = {failed_call(core::error_class::server, false)};
  r.submit_batch(1);
  CHECK(r.breaker_gauge() == open);
  r.vt.advance(30s);
  CHECK(r.breaker_gauge() == half_open);
}

TEST_CASE("an outcome is priced from the provider's current config after a reload changed the price") {
  rig r{true};
  r.port->polls_until_done = 3; // done at 15 s
  r.port->images_per_item = 2;
  r.submit_batch(1, 2, core::tier::hd);
  r.vt.advance(7s);
  auto reloaded = std::make_shared<core::config>();
  reloaded->providers.push_back(r.cfg);
  reloaded->providers.back().cost_per_image = {11'000, 22'000, 33'000};
  caf::anon_send(r.provider, msg::config_snapshot{reloaded});
  r.vt.advance(1min);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::none);
  CHECK(r.outcomes->front().cost == 2 * 22'000); // not the 60'000 per image of the start
}

TEST_CASE("a provider returning more images than n is charged for n and only n are kept") {
  rig r{false};
  r.port->images_per_item = 5;
  r.submit_batch(2, 3, core::tier::k4);
  REQUIRE(r.outcomes->size() == 2);
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::none);
    CHECK(o.images.size() == 3);
    CHECK(o.cost == 3 * 90'000); // what the ledger reserved for n = 3, never 5 x 90'000
  }
  r.port->images_per_item = 1; // fewer than n: charged for what came
  r.submit_batch(1, 3, core::tier::k4);
  REQUIRE(r.outcomes->size() == 3);
  CHECK(r.outcomes->back().cost == 90'000);
}

TEST_CASE("a worker restarted after a crash keeps its provider's breaker window and hourly count") {
  core::limits_config limits;
  limits.max_per_hour = 3; // on_limit: fallback
  rig r{false, {}, limits, [](core::provider_config& p) {
          p.retry.max_attempts = 1;
          p.breaker = core::breaker_config{500'000, 2, 60s, 30s, 1};
        }};
  constexpr std::int64_t closed = 0, open = 1;
  r.port->failing_submits = {failed_call(core::error_class::server, false), failed_call(core::error_class::server, false)};
  r.submit_batch(1); // call 1 fails: 1 of the 2 calls the breaker needs
  CHECK(r.breaker_gauge() == closed);
  r.port->throw_first = 1;
  r.submit_batch(1); // call 2 crashes the worker; the new worker makes it again, and it fails
  CHECK(r.metrics->get_counter("cutover_worker_restarts_total", {{"provider", "gemini"}}, "").value() == 1);
  CHECK(r.breaker_gauge() == open); // 2 failures of 2 in the window the crashed worker had started
  // the hour counted the first call, the crashed one and its repeat: a fourth call is over the cap of 3
  r.vt.advance(31s); // past open_for: the breaker lets a probe through, the cap must still refuse it
  r.submit_batch(1);
  REQUIRE(r.outcomes->size() == 3);
  CHECK(r.outcomes->back().error == core::error_class::over_limit);
  CHECK(r.port->submits.size() == 3);
}

TEST_CASE("after a process restart the hour and day windows count the calls made before it") {
  core::limits_config limits;
  limits.max_per_hour = 4;
  limits.max_per_day = 4; // on_limit: fallback
  // virtual time starts at midnight: the earlier process made 2 calls late yesterday (in the hour, not in the
  // day) and 1 call now; one more attempt now was refused by an open breaker, made no call and does not count
  auto seed = [](core::store_db& db, core::instant now) {
    std::vector<core::job_record> jobs;
    std::vector<core::job_event> events;
    const core::instant at[] = {now - 50min, now - 10min, now, now};
    for (std::uint64_t i = 0; i < 4; ++i) {
      core::job_record j;
      j.id = core::job_id{100 + i};
      j.spec.user_id = "u";
      j.spec.prompt = "p";
      j.created_at = j.updated_at = at[i];
      jobs.push_back(j);
      core::job_event e;
      e.id = j.id;
      e.kind = core::event_kind::attempt_started;
      e.at = at[i];
      e.status = core::job_status::submitted;
      e.attempt.no = 1;
      e.attempt.provider = "gemini";
      e.attempt.started_at = at[i];
      events.push_back(e);
      if (i == 3) {
        core::job_event f = e;
        f.kind = core::event_kind::attempt_finished;
        f.status = core::job_status::failed;
        f.attempt.outcome = core::job_status::failed;
        f.attempt.error = core::error_class::breaker_open;
        f.attempt.finished_at = at[i];
        events.push_back(f);
      }
    }
    db.write(jobs, events);
  };
  rig r{false, {}, limits, {}, seed};
  auto last_error = [&] { return r.outcomes->back().error; };
  // the hour holds 3 calls of its 4: one more is admitted, the next is over the hourly cap
  r.submit_batch(1);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(last_error() == core::error_class::none);
  r.submit_batch(1);
  REQUIRE(r.outcomes->size() == 2);
  CHECK(last_error() == core::error_class::over_limit);
  // an hour later the hour is empty; the day holds 2 of its 4 (the call at midnight and ours): 2 more, then no
  r.vt.advance(1h);
  r.submit_batch(1);
  r.submit_batch(1);
  r.submit_batch(1);
  REQUIRE(r.outcomes->size() == 5);
  CHECK((*r.outcomes)[2].error == core::error_class::none);
  CHECK((*r.outcomes)[3].error == core::error_class::none);
  CHECK((*r.outcomes)[4].error == core::error_class::over_limit);
  CHECK(r.port->submits.size() == 3);
}
