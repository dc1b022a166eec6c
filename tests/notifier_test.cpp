// The notifier and the outbox, in virtual time, on the real store actor over a real SQLite file: a delivery is
// written in the commit of its event, retried with backoff until a 2xx, dropped after notify.max_age, and read
// back from disk by a notifier that starts later (a restart). The receiver is scripted (a remote party).
#include "actors/notifier.hpp"
#include "actors/store_actor.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "core/notify_rules.hpp"
#include "support/db_probe.hpp"
#include "support/failing_store.hpp"
#include "support/virtual_time.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <deque>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// Answers each try with the next scripted status (the last one repeats); keeps what it was sent and when.
struct scripted_receiver : core::webhook_port {
  std::deque<int> script;
  int then = 200;
  std::vector<core::outbox_entry> tries;
  std::vector<core::instant> at;
  void deliver(const core::outbox_entry& e, core::instant now, bool, std::function<void(answer)> done) override {
    tries.push_back(e);
    at.push_back(now);
    int status = then;
    if (!script.empty()) {
      status = script.front();
      script.pop_front();
    }
    done(answer{status, status == 0 ? "connection refused" : ""});
  }
};

core::decision_record rollback_decision(core::instant at) {
  core::decision_record d;
  d.at = at;
  d.action = "rollback";
  d.reason = "trigger: error_rate";
  d.state = "rolled_back";
  return d;
}

struct rig {
  testing::virtual_time vt;
  testing::temp_dir dir;
  std::shared_ptr<testing::failing_store> db;
  core::metrics_ptr metrics = std::make_shared<core::metrics_registry>();
  core::notify_config notify;
  msg::store_actor store;
  msg::notifier_actor notifier;
  std::shared_ptr<scripted_receiver> receiver = std::make_shared<scripted_receiver>();

  rig() {
    notify.targets.push_back({"https://ops.example.com/hook", {"rollout.*"}, "OPS_SECRET"});
    notify.backoff = 1s;
    notify.max_backoff = 1min;
    notify.max_age = 1h;
    db = std::make_shared<testing::failing_store>(
      store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal));
    actors::store_options opts;
    opts.clock = vt.anchor();
    opts.notify = notify;
    store = actors::spawn_store(*vt.sys, db, opts);
    vt.run();
  }
  ~rig() {
    if (notifier)
      caf::anon_send_exit(notifier, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    vt.run();
  }
  void start_notifier() {
    actors::notifier_options opts;
    opts.clock = vt.anchor();
    opts.notify = notify;
    opts.metrics = metrics;
    notifier = actors::spawn_notifier(*vt.sys, store, receiver, opts);
    vt.run();
  }
  void decide(core::decision_record d) {
    auto to = store;
    vt.sys->spawn([to, d](caf::event_based_actor* self) {
      self->request(to, caf::infinite, msg::record_rollout{{}, {d}}).then([self](msg::stored) { self->quit(); });
    });
    vt.run();
  }
  long long rows(const std::string& table) { return testing::count_rows(dir.file("jobs.db"), "SELECT COUNT(*) FROM " + table); }
  std::int64_t count(const std::string& name) { return metrics->get_counter(name, {}, "").value(); }
};

} // namespace

TEST_CASE("a delivery that fails twice is tried again after 1 s and 2 s, and deleted after its 2xx", "[notify]") {
  rig r;
  r.receiver->script = {500, 0};
  r.start_notifier();
  const auto t0 = r.vt.now();
  r.decide(rollback_decision(t0));
  CHECK(r.rows("decisions") == 1);
  CHECK(r.rows("notify_events") == 1);
  REQUIRE(r.receiver->tries.size() == 1); // at once
  CHECK(r.rows("outbox") == 1);
  r.vt.advance(1s);
  REQUIRE(r.receiver->tries.size() == 2);
  r.vt.advance(2s);
  REQUIRE(r.receiver->tries.size() == 3);
  CHECK(r.receiver->at == std::vector<core::instant>{t0, t0 + 1s, t0 + 3s});
  for (const auto& e : r.receiver->tries) { // the same event, the same bytes, every try
    CHECK(e.event_id == r.receiver->tries[0].event_id);
    CHECK(e.body == r.receiver->tries[0].body);
    CHECK(e.type == "rollout.rollback");
    CHECK(e.secret_env == "OPS_SECRET");
  }
  CHECK(r.receiver->tries[0].body.find("\"id\":\"" + r.receiver->tries[0].event_id + "\"") != std::string::npos);
  CHECK(r.rows("outbox") == 0);
  CHECK(r.count("cutover_notifications_delivered_total") == 1);
  CHECK(r.count("cutover_notifications_failed_total") == 2);
  r.vt.advance(1h);
  CHECK(r.receiver->tries.size() == 3); // delivered: never sent again
}

TEST_CASE("a delivery unanswered for notify.max_age is dropped, counted and deleted, in virtual time", "[notify]") {
  rig r;
  r.receiver->then = 503;
  r.start_notifier();
  const auto t0 = r.vt.now();
  r.decide(rollback_decision(t0));
  r.vt.advance(59min);
  CHECK(r.receiver->tries.size() > 5); // 1 s, 2 s, 4 s, ... then every minute
  CHECK(r.rows("outbox") == 1);
  CHECK(r.count("cutover_notifications_expired_total") == 0);
  r.vt.advance(1min);
  CHECK(r.count("cutover_notifications_expired_total") == 1);
  CHECK(r.rows("outbox") == 0);
  CHECK(r.rows("notify_events") == 1); // the event itself stays
  const auto tries = r.receiver->tries.size();
  REQUIRE_FALSE(r.receiver->at.empty());
  CHECK(r.receiver->at.back() < t0 + 1h);
  r.vt.advance(2h);
  CHECK(r.receiver->tries.size() == tries); // no try after it expired
}

TEST_CASE("deliveries left on disk are delivered by a notifier that starts later (a restart)", "[notify]") {
  rig r;
  r.decide(rollback_decision(r.vt.now()));
  r.decide(rollback_decision(r.vt.now() + 1s));
  REQUIRE(r.rows("outbox") == 2);
  r.start_notifier();
  REQUIRE(r.receiver->tries.size() == 2);
  CHECK(r.receiver->tries[0].event_id != r.receiver->tries[1].event_id);
  CHECK(r.rows("outbox") == 0);
}

TEST_CASE("a failed commit writes neither the decision nor its delivery, and its retry writes each once",
          "[notify]") {
  rig r;
  r.db->fail_next = {"disk I/O error"};
  r.start_notifier();
  r.decide(rollback_decision(r.vt.now()));
  CHECK(r.rows("decisions") == 0);
  CHECK(r.rows("outbox") == 0);
  CHECK(r.receiver->tries.empty());
  r.vt.advance(1s); // the store's retry
  CHECK(r.rows("decisions") == 1);
  CHECK(r.rows("notify_events") == 1);
  REQUIRE(r.receiver->tries.size() == 1);
}

TEST_CASE("breaker and budget changes sent to the store become stored events", "[notify]") {
  rig r;
  r.start_notifier();
  auto to = r.store;
  r.vt.sys->spawn([to](caf::event_based_actor* self) {
    self->send(to, msg::record_notice{core::breaker_notice("gemini", "open", core::instant{}, 20, 12, "60%")});
    self->send(to, msg::record_notice{core::budget_notice("gemini", true, core::instant{}, 9, 9)});
  });
  r.vt.run();
  CHECK(r.rows("notify_events") == 2);
  CHECK(r.rows("outbox") == 0); // the only target wants rollout.* alone
  CHECK(r.receiver->tries.empty());
}
