// The notifier and the outbox, in virtual time, on the real store actor over a real SQLite file: a delivery is
// written in the commit of its event, retried with backoff until a 2xx, dropped after notify.max_age, and read
// back from disk by a notifier that starts later (a restart). The receiver is scripted (a remote party).
#include "actors/notifier.hpp"
#include "actors/store_actor.hpp"
#include "core/delivery_schedule.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "core/notify_rules.hpp"
#include "support/db_probe.hpp"
#include "support/failing_store.hpp"
#include "support/virtual_time.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <set>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// Answers each try with the next scripted status (the last one repeats); keeps what it was sent and when.
struct scripted_receiver : core::webhook_port {
  std::deque<int> script;
  int then = 200;
  std::set<std::string> down; ///< receivers (scheme://host) that answer 503 to every try, whatever the script says
  std::vector<core::outbox_entry> tries;
  std::vector<core::instant> at;
  void deliver(const core::outbox_entry& e, core::instant now, bool, std::function<void(answer)> done) override {
    tries.push_back(e);
    at.push_back(now);
    int status = then;
    if (down.count(core::receiver_of(e.url))) {
      status = 503;
    } else if (!script.empty()) {
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
  std::size_t memory_cap = 1000, receiver_cap = 100;

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
    opts.memory_cap = memory_cap;
    opts.receiver_cap = receiver_cap;
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
  /// An outbox row as a commit (of an earlier run) left it: to a job's own webhook or to an operator target.
  void left_on_disk(const std::string& url, bool job_hook) {
    SQLite::Database db(dir.file("jobs.db"), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA busy_timeout=5000");
    SQLite::Statement q(db, "INSERT INTO outbox(event_id,type,url,secret_env,body,created_at,job_hook)"
                            " VALUES(0,?,?,'S','{}',?,?)");
    q.bind(1, job_hook ? "job.failed" : "rollout.rollback");
    q.bind(2, url);
    q.bind(3, static_cast<std::int64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(vt.now().time_since_epoch()).count()));
    q.bind(4, job_hook ? 1 : 0);
    q.exec();
  }
  std::size_t tries_to(const std::string& to) const {
    return static_cast<std::size_t>(std::count_if(receiver->tries.begin(), receiver->tries.end(), [&](const auto& e) {
      return core::receiver_of(e.url) == to;
    }));
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

TEST_CASE("an operator's notice is delivered at once while jobs' webhooks that fail fill the memory", "[notify]") {
  rig r;
  r.memory_cap = 3;
  r.receiver->down = {"https://down.example"};
  for (int i = 0; i < 10; ++i)
    r.left_on_disk("https://down.example/hook?job=" + std::to_string(i), true);
  r.left_on_disk("https://ops.example.com/hook", false); // written after them
  r.start_notifier();
  CHECK(r.tries_to("https://ops.example.com") == 1);
  CHECK(r.count("cutover_notifications_delivered_total") == 1);
  CHECK(r.rows("outbox") == 10);
  CHECK(r.tries_to("https://down.example") > 0);
}

TEST_CASE("one job receiver that fails holds at most its share of memory and tries, and the others are delivered",
          "[notify]") {
  rig r;
  r.memory_cap = 5;
  r.receiver_cap = 2;
  r.receiver->down = {"https://down.example"};
  for (int i = 0; i < 8; ++i)
    r.left_on_disk("https://down.example/hook?job=" + std::to_string(i), true);
  r.left_on_disk("https://up.example/hook", true);
  r.left_on_disk("HTTPS://Up.Example/other", true); // the same receiver, other spelling
  r.start_notifier();
  CHECK(r.tries_to("https://up.example") == 2);
  CHECK(r.count("cutover_notifications_delivered_total") == 2);
  CHECK(r.tries_to("https://down.example") == 2); // per_receiver: two tries at once, of the two it holds
  // the receiver comes back: every delivery of it waiting on disk is read again and delivered
  r.receiver->down.clear();
  r.vt.advance(1min);
  CHECK(r.count("cutover_notifications_delivered_total") == 10);
  CHECK(r.rows("outbox") == 0);
}
