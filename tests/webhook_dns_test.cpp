// Job webhooks whose host is a name: resolved at submission (a name that leads inside is refused) and again at
// delivery (a name re-pointed inside since the job was accepted is not called). The whole tree on the
// deterministic scheduler with a real SQLite file, the real webhook client with a scripted resolver (no test
// depends on this machine's DNS), and a real receiver on loopback.

#include "adapters/notify/webhook_client.hpp"
#include "support/db_probe.hpp"
#include "support/engine_story.hpp"
#include "support/webhook_receiver.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// Answers each name from its table (unknown names resolve to nothing); remembers what it was asked.
struct scripted_resolver : core::name_resolver {
  std::map<std::string, std::vector<std::string>> table;
  std::vector<std::string> asked;
  void resolve(const std::string& host, std::function<void(answer)> done) override {
    asked.push_back(host);
    auto it = table.find(host);
    if (it == table.end())
      done(answer{{}, "Name or service not known"});
    else
      done(answer{it->second, {}});
  }
};

std::string config(bool allow_private) {
  ::setenv("CUTOVER_TEST_JOB_HOOK_SECRET", "job-hook-secret", 1);
  return std::string{R"(providers:
  photomaker: {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08},
               simulated: {latency_p50: 1s, latency_p95: 1s, failure_rate: 0%, quality: 0.9}}
  sdxl: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}}
tiers:
  sd: {batch: {max_items: 50, max_wait: 0s}}
rollout: {name: hooks, baseline: photomaker, candidate: sdxl, percent: 0, phases: [{percent: 100}]}
notify:
  job_secret_env: CUTOVER_TEST_JOB_HOOK_SECRET
  backoff: 1s
  allow_private: )"} +
         (allow_private ? "true" : "false") + "\n";
}

msg::submit_reply submit(testing::engine_story& s, const std::string& webhook) {
  caf::scoped_actor self{*s.vt.sys};
  core::job_spec spec;
  spec.user_id = "ann";
  spec.prompt = "a kite";
  spec.webhook_url = webhook;
  self->send(s.engine.intake, msg::submit_job{spec, {}, {}});
  s.vt.run();
  msg::submit_reply out;
  self->receive([&](msg::submit_reply& r) { out = std::move(r); });
  return out;
}

} // namespace

TEST_CASE("a job whose webhook host resolves to a loopback or private address is refused at submission, not stored",
          "[notify]") {
  testing::temp_dir dir;
  auto resolver = std::make_shared<scripted_resolver>();
  resolver->table = {{"inside.example", {"10.1.2.3"}},
                     {"mixed.example", {"93.184.216.34", "::ffff:127.0.0.1"}},
                     {"hooks.example", {"93.184.216.34"}}};
  testing::story_options o;
  o.engine.resolver = resolver;
  testing::engine_story s{dir, config(false), o};
  struct refusal {
    std::string url;
    std::string says;
  };
  for (const auto& r : {refusal{"http://inside.example/hook", "10.1.2.3"},
                        refusal{"https://mixed.example:8443/hook", "::ffff:127.0.0.1"},
                        refusal{"http://nowhere.example/hook", "resolves to no address"}}) {
    INFO(r.url);
    const auto reply = submit(s, r.url);
    CHECK(reply.error == msg::submit_error::invalid_webhook_url);
    CHECK(reply.message.find(r.says) != std::string::npos);
  }
  CHECK(resolver->asked == std::vector<std::string>{"inside.example", "mixed.example", "nowhere.example"});
  CHECK(testing::count_rows(dir.file("jobs.db"), "SELECT COUNT(*) FROM jobs") == 0);

  const auto ok = submit(s, "https://hooks.example/hook");
  CHECK(ok.error == msg::submit_error::none);
  CHECK(testing::count_rows(dir.file("jobs.db"), "SELECT COUNT(*) FROM jobs") == 1);
}

TEST_CASE("with notify.allow_private a webhook host is not resolved at submission", "[notify]") {
  testing::temp_dir dir;
  auto resolver = std::make_shared<scripted_resolver>();
  resolver->table = {{"inside.example", {"10.1.2.3"}}};
  testing::story_options o;
  o.engine.resolver = resolver;
  testing::engine_story s{dir, config(true), o};
  CHECK(submit(s, "http://inside.example/hook").error == msg::submit_error::none);
  CHECK(resolver->asked.empty());
}

TEST_CASE("a job webhook whose name was public at submission and resolves to loopback at delivery is not called, "
          "and the drop is counted",
          "[notify]") {
  testing::webhook_receiver receiver{"job-hook-secret"};
  const auto loopback = receiver.url("/jobs"); // http://127.0.0.1:<port>/jobs
  const auto port = loopback.substr(loopback.rfind(':') + 1, loopback.find('/', 8) - loopback.rfind(':') - 1);
  testing::temp_dir dir;
  auto resolver = std::make_shared<scripted_resolver>();
  resolver->table = {{"hooks.example", {"93.184.216.34"}}};
  testing::story_options o;
  o.engine.resolver = resolver;
  o.engine.webhooks = notify_adapter::make_webhook_client(5s, resolver);
  o.engine.metrics = std::make_shared<core::metrics_registry>();
  testing::engine_story s{dir, config(false), o};

  const auto accepted = submit(s, "http://hooks.example:" + port + "/jobs");
  REQUIRE(accepted.error == msg::submit_error::none);
  resolver->table["hooks.example"] = {"127.0.0.1"}; // re-pointed at the engine's own host
  auto& refused = o.engine.metrics->get_counter("cutover_notifications_refused_total", {}, "");
  REQUIRE(s.vt.advance_until([&] { return core::is_final(s.job(accepted.id).status); }, 1min));
  s.vt.advance(2s); // the end's commit, its outbox entry, and the notifier's try
  CHECK(refused.value() == 1);
  CHECK(resolver->asked == std::vector<std::string>{"hooks.example", "hooks.example"}); // submission, delivery
  CHECK(testing::count_rows(dir.file("jobs.db"), "SELECT COUNT(*) FROM outbox") == 0); // dropped, not retried
  CHECK(o.engine.metrics->get_counter("cutover_notifications_failed_total", {}, "").value() == 0);
  s.vt.advance(1h);
  CHECK(refused.value() == 1);
  CHECK(receiver.deliveries().empty());
}

TEST_CASE("a plain-http webhook is sent to the address that was checked, with the URL's own Host", "[notify]") {
  const auto v4 = notify_adapter::pin_to_address("http://hooks.example:8080/jobs?x=1", "93.184.216.34");
  CHECK(v4.base == "http://93.184.216.34:8080");
  CHECK(v4.host_header == "hooks.example:8080");
  const auto v6 = notify_adapter::pin_to_address("HTTP://hooks.example/jobs", "2606:2800:220:1::1");
  CHECK(v6.base == "http://[2606:2800:220:1::1]:80");
  CHECK(v6.host_header == "hooks.example");
  // https keeps the name: the certificate is checked against it
  CHECK(notify_adapter::pin_to_address("https://hooks.example/jobs", "93.184.216.34").base.empty());
}
