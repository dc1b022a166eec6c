// Webhook retries: at once, then with doubling backoff up to max_backoff, until a 2xx or max_age (then dropped);
// at most max_in_flight at once (core/delivery_schedule), in virtual time.
#include "core/delivery_schedule.hpp"

#include <catch2/catch.hpp>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

const core::instant t0{std::chrono::seconds(1767225600)};

core::outbox_entry entry(std::int64_t id, core::instant created) {
  return core::outbox_entry{id, "evt_" + std::to_string(id), "rollout.rollback", "https://x.example/h", "S", "{}",
                            created};
}

core::delivery_policy policy() { return core::delivery_policy{1s, 8s, 1h, 2}; }

} // namespace

TEST_CASE("a new delivery is tried at once, and a 2xx ends it", "[notify]") {
  core::delivery_schedule s{policy()};
  REQUIRE(s.add(entry(1, t0)));
  CHECK_FALSE(s.add(entry(1, t0))); // read twice from the outbox: held once
  auto r = s.take(t0);
  REQUIRE(r.send.size() == 1);
  CHECK(r.send[0].id == 1);
  CHECK(s.in_flight() == 1);
  CHECK(s.take(t0).send.empty()); // in flight: not started twice
  s.delivered(1);
  CHECK(s.held() == 0);
  CHECK(s.in_flight() == 0);
  CHECK_FALSE(s.next_due());
}

TEST_CASE("failed tries wait 1 s, 2 s, 4 s, then max_backoff", "[notify]") {
  core::delivery_schedule s{policy()};
  s.add(entry(1, t0));
  auto now = t0;
  std::vector<core::duration> waits;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(s.take(now).send.size() == 1);
    const auto due = s.failed(1, now);
    waits.push_back(due - now);
    CHECK(s.take(due - 1us).send.empty()); // not before its time
    REQUIRE(s.next_due());
    CHECK(*s.next_due() == due);
    now = due;
  }
  CHECK(waits == std::vector<core::duration>{1s, 2s, 4s, 8s, 8s});
  CHECK(s.failures(1) == 5);
}

TEST_CASE("a delivery still unanswered max_age after its event is dropped as expired", "[notify]") {
  core::delivery_schedule s{core::delivery_policy{1s, 10min, 1h, 4}};
  s.add(entry(1, t0));
  s.add(entry(2, t0 + 30min));
  auto now = t0;
  while (now < t0 + 1h) {
    auto r = s.take(now);
    CHECK(r.expired.empty());
    for (const auto& e : r.send)
      s.failed(e.id, now);
    REQUIRE(s.next_due());
    now = *s.next_due();
  }
  CHECK(now == t0 + 1h); // the timer lands on the expiry, not on a later try
  auto r = s.take(now);
  REQUIRE(r.expired.size() == 1);
  CHECK(r.expired[0].id == 1);
  CHECK(s.held() == 1); // the younger one waits on
}

TEST_CASE("no more than max_in_flight tries run at once, lowest id first", "[notify]") {
  core::delivery_schedule s{policy()};
  for (int i = 1; i <= 3; ++i)
    s.add(entry(i, t0));
  auto r = s.take(t0);
  REQUIRE(r.send.size() == 2);
  CHECK(r.send[0].id == 1);
  CHECK(r.send[1].id == 2);
  s.delivered(1);
  r = s.take(t0);
  REQUIRE(r.send.size() == 1);
  CHECK(r.send[0].id == 3);
}

TEST_CASE("operator targets and jobs' webhooks are two lanes, and one receiver takes at most per_receiver tries",
          "[notify]") {
  core::delivery_schedule s{core::delivery_policy{1s, 8s, 1h, 2, 1}};
  auto job = [](std::int64_t id, std::string url) {
    auto e = entry(id, t0);
    e.url = std::move(url);
    e.job_hook = true;
    return e;
  };
  s.add(job(1, "https://a.example/x"));
  s.add(job(2, "https://A.example/y")); // the same receiver
  s.add(job(3, "https://a.example:8443/x"));
  s.add(job(4, "https://b.example/x"));
  s.add(entry(5, t0)); // an operator target
  auto r = s.take(t0);
  std::vector<std::int64_t> sent;
  for (const auto& e : r.send)
    sent.push_back(e.id);
  CHECK(sent == std::vector<std::int64_t>{1, 3, 5}); // 2 waits for a.example, 4 for the jobs' lane
  CHECK(s.in_flight(true) == 2);
  CHECK(s.in_flight(false) == 1);
  CHECK(s.held(true) == 4);
  CHECK(s.held_for("https://a.example") == 2);
  REQUIRE(s.next_due());
  CHECK(*s.next_due() == t0 + 1h); // they wait for a free try, not for a time: only their expiry is timed
  s.failed(1, t0);
  r = s.take(t0);
  REQUIRE(r.send.size() == 1);
  CHECK(r.send[0].id == 2); // a.example's try ended: its next one starts
  s.delivered(3);
  r = s.take(t0);
  REQUIRE(r.send.size() == 1);
  CHECK(r.send[0].id == 4);
}

TEST_CASE("a receiver is the URL's scheme, host and port, in lower case", "[notify]") {
  CHECK(core::receiver_of("HTTPS://Hooks.Example.com:8443/a/b?c=d") == "https://hooks.example.com:8443");
  CHECK(core::receiver_of("https://x.example?y=1") == "https://x.example");
  CHECK(core::receiver_of("http://x.example") == "http://x.example");
  CHECK(core::receiver_of("https://x.example.evil.org/") != core::receiver_of("https://x.example/"));
}
