// Which events are notified, to whom, in what words, and which webhook URLs a job may name (core/notify_rules).
#include "core/notify_rules.hpp"

#include <catch2/catch.hpp>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

const core::instant t0{std::chrono::seconds(1767225600)};

core::notify_config two_targets() {
  core::notify_config n;
  n.targets.push_back({"https://ops.example.com/hook", {"rollout.*", "budget.*", "breaker.*"}, "OPS_SECRET"});
  n.targets.push_back({"https://pager.example.com/x", {"rollout.rollback", "job.dead_lettered"}, "PAGER_SECRET"});
  return n;
}

core::decision_record decision(std::string action, bool repeat = false) {
  core::decision_record d;
  d.at = t0;
  d.action = std::move(action);
  d.reason = "trigger: error_rate";
  d.percent = 0;
  d.state = "rolled_back";
  d.repeat = repeat;
  d.items.push_back({"trigger", "error_rate", "fired", 5min, 40, 0.12, 0.01, 0.05, "12% > 5%"});
  return d;
}

core::job_event finished(std::uint64_t id, core::job_status s) {
  core::job_event e;
  e.id = core::job_id{id};
  e.kind = core::event_kind::finished;
  e.at = t0;
  e.status = s;
  e.provider = "sdxl";
  e.cost = 30'000;
  return e;
}

std::vector<std::string> urls(const core::notice& n) {
  std::vector<std::string> out;
  for (const auto& t : n.to)
    out.push_back(t.url);
  return out;
}

} // namespace

TEST_CASE("event patterns match a type exactly, by group with .* or all with *", "[notify]") {
  CHECK(core::event_matches("rollout.*", "rollout.rollback"));
  CHECK(core::event_matches("rollout.rollback", "rollout.rollback"));
  CHECK(core::event_matches("*", "breaker.open"));
  CHECK_FALSE(core::event_matches("rollout.*", "rollouts.x"));
  CHECK_FALSE(core::event_matches("rollout.*", "rollout."));
  CHECK_FALSE(core::event_matches("rollout.rollback", "rollout.promote"));
  CHECK_FALSE(core::event_matches("job.*", "budget.stopped"));
}

TEST_CASE("a rollback decision goes to every target that wants it, with its trigger's figures", "[notify]") {
  core::write_batch b;
  b.decisions.push_back(decision("rollback"));
  const auto out = core::derive_notices(b, two_targets(), nullptr);
  REQUIRE(out.size() == 1);
  CHECK(out[0].type == "rollout.rollback");
  CHECK(urls(out[0]) == std::vector<std::string>{"https://ops.example.com/hook", "https://pager.example.com/x"});
  CHECK(out[0].to[1].secret_env == "PAGER_SECRET");
  CHECK(out[0].data.find("\"name\":\"error_rate\"") != std::string::npos);
  CHECK(out[0].data.find("\"verdict\":\"fired\"") != std::string::npos);
  CHECK(out[0].data.find("\"reason\":\"trigger: error_rate\"") != std::string::npos);
}

TEST_CASE("a hold repeated with unchanged verdicts is audited but not notified", "[notify]") {
  core::write_batch b;
  b.decisions.push_back(decision("hold", true));
  CHECK(core::derive_notices(b, two_targets(), nullptr).empty());
  b.decisions.push_back(decision("hold", false));
  const auto out = core::derive_notices(b, two_targets(), nullptr);
  REQUIRE(out.size() == 1);
  CHECK(out[0].type == "rollout.hold");
}

TEST_CASE("breaker and budget changes are kept even when no target wants them", "[notify]") {
  core::write_batch b;
  b.notices.push_back(core::breaker_notice("gemini", "open", t0, 20, 12, "failure rate 60% >= 50%"));
  b.notices.push_back(core::budget_notice("", true, t0, 180'000'000, 180'000'000));
  const auto none = core::derive_notices(b, core::notify_config{}, nullptr);
  REQUIRE(none.size() == 2);
  for (const auto& n : none) {
    CHECK(n.keep);
    CHECK(n.to.empty());
  }
  CHECK(none[0].type == "breaker.open");
  CHECK(none[1].type == "budget.stopped");
  CHECK(none[1].data.find("\"provider\":\"all\"") != std::string::npos);
  const auto told = core::derive_notices(b, two_targets(), nullptr);
  REQUIRE(told.size() == 2);
  CHECK(urls(told[0]) == std::vector<std::string>{"https://ops.example.com/hook"});
}

TEST_CASE("a job that ends tells its own webhook_url, signed with job_secret_env, and dead letters the targets",
          "[notify]") {
  auto cfg = two_targets();
  cfg.job_secret_env = "JOB_SECRET";
  core::write_batch b;
  b.events.push_back(finished(7, core::job_status::succeeded));
  b.events.push_back(finished(8, core::job_status::dead_lettered));
  b.events.push_back(finished(9, core::job_status::succeeded)); // no webhook: nobody is told
  auto progress = finished(10, core::job_status::running);
  progress.kind = core::event_kind::attempt_remote;
  b.events.push_back(progress);
  std::vector<std::uint64_t> asked;
  const auto out = core::derive_notices(b, cfg, [&](core::job_id id) {
    asked.push_back(id.value);
    return id.value == 7 ? std::string{"https://shop.example.com/done"} : std::string{};
  });
  CHECK(asked == std::vector<std::uint64_t>{7, 8, 9}); // only jobs that end are looked up
  REQUIRE(out.size() == 2);
  CHECK(out[0].type == "job.succeeded");
  REQUIRE(out[0].to.size() == 1);
  CHECK(out[0].to[0].url == "https://shop.example.com/done");
  CHECK(out[0].to[0].secret_env == "JOB_SECRET");
  CHECK(out[0].data.find("\"job\":\"j7\"") != std::string::npos);
  CHECK(out[0].data.find("\"cost_usd\":0.030000") != std::string::npos);
  CHECK(out[1].type == "job.dead_lettered");
  CHECK(urls(out[1]) == std::vector<std::string>{"https://pager.example.com/x"});
}

TEST_CASE("without job_secret_env no job webhook is looked up or called", "[notify]") {
  core::write_batch b;
  b.events.push_back(finished(7, core::job_status::succeeded));
  bool asked = false;
  const auto out = core::derive_notices(b, core::notify_config{}, [&](core::job_id) {
    asked = true;
    return std::string{"https://shop.example.com/done"};
  });
  CHECK_FALSE(asked);
  CHECK(out.empty());
}

TEST_CASE("the body names the event id, type, time and data, with strings escaped", "[notify]") {
  core::notice n;
  n.type = "breaker.open";
  n.at = t0;
  n.data = "{\"reason\":" + core::json_quote("say \"no\"\n") + "}";
  CHECK(core::notice_body("evt_12", n) ==
        R"({"id":"evt_12","type":"breaker.open","at":"2026-01-01T00:00:00.000Z","data":{"reason":"say \"no\"\n"}})");
}

TEST_CASE("a job's webhook_url must be http(s) to a public host unless private hosts are allowed", "[notify]") {
  CHECK(core::webhook_url_problem("https://hooks.example.com/cutover?x=1", false).empty());
  CHECK(core::webhook_url_problem("http://93.184.216.34:8080/x", false).empty());
  CHECK(core::webhook_url_problem("https://[2606:2800:220:1::1]/x", false).empty());
  for (const char* bad : {"http://127.0.0.1:8080/v1/rollout/rollback", "http://localhost/x", "http://LOCALHOST./x",
                          "http://api.localhost/x", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/",
                          "http://169.254.169.254/latest/meta-data", "http://0.0.0.0:8080/", "http://127.1/",
                          "http://2130706433/", "http://0x7f000001/", "http://[::1]:8080/", "http://[fd00::1]/",
                          "http://[fe80::1%25eth0]/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/"}) {
    INFO(bad);
    const auto why = core::webhook_url_problem(bad, false);
    CHECK(why.find("loopback or private") != std::string::npos);
    CHECK(core::webhook_url_problem(bad, true).empty());
  }
  CHECK(core::webhook_url_problem("ftp://example.com/x", true).find("http:// or https://") != std::string::npos);
  CHECK(core::webhook_url_problem("https://user:pw@example.com/", true).find("credentials") != std::string::npos);
  CHECK(core::webhook_url_problem("https:///path", true).find("no host") != std::string::npos);
  CHECK(core::webhook_url_problem("https://exa mple.com/", true).find("spaces") != std::string::npos);
}

TEST_CASE("a webhook host that resolves is allowed only when every address it resolves to is public", "[notify]") {
  using list = std::vector<std::string>;
  CHECK(core::resolved_host_problem("hooks.example.com", list{"93.184.216.34"}).empty());
  CHECK(core::resolved_host_problem("hooks.example.com", list{"93.184.216.34", "2606:2800:220:1::1"}).empty());
  for (const char* inside : {"127.0.0.1", "127.9.9.9", "10.0.0.1", "172.31.255.255", "192.168.0.10", "169.254.169.254",
                             "0.0.0.0", "100.64.0.1", "100.127.255.254", "::1", "::", "fd12:3456::1", "fc00::1",
                             "fe80::1", "fe80::1%eth0", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
                             "64:ff9b::7f00:1", "224.0.0.1"}) {
    INFO(inside);
    const auto alone = core::resolved_host_problem("hooks.example.com", list{inside});
    CHECK(alone.find("loopback or private address") != std::string::npos);
    CHECK(alone.find(inside) != std::string::npos);
    // one internal address among public ones is enough: a client may connect to any of them
    CHECK_FALSE(core::resolved_host_problem("hooks.example.com", list{"93.184.216.34", inside}).empty());
  }
  CHECK(core::resolved_host_problem("nowhere.example", list{}).find("resolves to no address") != std::string::npos);
  CHECK(core::resolved_host_problem("odd.example", list{"not-an-address"}).find("does not parse") != std::string::npos);
  CHECK(core::resolved_host_problem("hooks.example.com", list{"100.128.0.1"}).empty()); // just past CGNAT
}

TEST_CASE("a webhook URL's host is what a resolver is asked, literals need no resolving", "[notify]") {
  CHECK(core::webhook_host("https://Hooks.Example.COM./x?y=1") == "hooks.example.com");
  CHECK(core::webhook_host("http://hooks.example.com:8080") == "hooks.example.com");
  CHECK(core::webhook_host("http://[::1]:8080/x") == "::1");
  CHECK(core::webhook_host("ftp://example.com/").empty());
  CHECK(core::is_address_literal("93.184.216.34"));
  CHECK(core::is_address_literal("2130706433"));
  CHECK(core::is_address_literal("::1"));
  CHECK_FALSE(core::is_address_literal("hooks.example.com"));
  // a name passes the literal check: what it resolves to is judged at submission and at delivery
  CHECK(core::webhook_url_problem("http://internal.example/x", false).empty());
}
