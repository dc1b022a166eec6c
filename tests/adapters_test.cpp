/// The real provider adapters (adapters/providers) against cutover-fake-provider on loopback, per adapter:
/// success (sync, and async through every remote job state), every error class of providers.md section 4
/// (429 with its wait included), empty data, malformed JSON, a hang past the timeout, failed polls versus failed
/// remote jobs, and the API key: read from the variable named by api_key_env, never in a message.
/// Answers are awaited on a future the adapter's callback fulfils (bounded at 20 s), never by sleeping.

#include "adapters/providers/real.hpp"
#include "support/fake_provider_process.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <set>

namespace {

using namespace cutover;
using namespace std::chrono_literals;
using core::error_class;
using core::provider_reply;
using core::tier;
using cutover::testing::fake_provider_process;
using kind = provider_reply::kind;

constexpr const char* key_env = "CUTOVER_ADAPTERS_TEST_KEY";
const std::string png_base64 = "iVBORw0KGgo"; // the PNG signature, base64-encoded
const std::string png_data_url = "data:image/png;base64," + png_base64;
const std::string replicate_version = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";
const std::array<core::micros, core::tier_count> prices{1000, 2500, 6000}; // sd, hd, 4k

enum class api { openai, replicate, imagen, gemini_batch };

core::provider_config config_for(const fake_provider_process& fake, api a, core::duration timeout) {
  core::provider_config cfg;
  cfg.api_key_env = key_env;
  cfg.timeout = timeout;
  cfg.cost_per_image = prices;
  const bool google = a == api::imagen || a == api::gemini_batch;
  cfg.base_url = fake.url() + (google ? "/v1beta" : "/v1");
  cfg.kind = google ? core::provider_kind::gemini : a == api::openai ? core::provider_kind::openai
                                                                      : core::provider_kind::replicate;
  cfg.mode = a == api::replicate || a == api::gemini_batch ? core::provider_mode::async : core::provider_mode::sync;
  const char* models[] = {"gpt-image-1", "acme/flux", "imagen-4.0-generate-001", "gemini-img"};
  cfg.model = models[static_cast<int>(a)];
  cfg.name = cfg.model;
  return cfg;
}

/// The adapter for `a`, made once `key` (default: the fake's) is in the environment: adapters read it when made.
std::shared_ptr<core::provider_port> adapter(const fake_provider_process& fake, api a, core::duration timeout = 10s,
                                             const std::string& model = {}, const std::string& key = {}) {
  REQUIRE(::setenv(key_env, (key.empty() ? fake.api_key() : key).c_str(), 1) == 0);
  auto cfg = config_for(fake, a, timeout);
  if (!model.empty())
    cfg.model = model;
  return providers::make_provider(cfg);
}

core::work_item item(std::uint64_t id, int n = 1, tier t = tier::hd) {
  core::work_item w;
  w.id = core::job_id{id};
  w.n = n;
  w.tier_ = t;
  w.prompt = "red kite " + std::to_string(id);
  w.user_id = "u1";
  return w;
}

core::instant now() { return std::chrono::time_point_cast<core::duration>(std::chrono::system_clock::now()); }

/// Starts one adapter call and waits for its callback: the answer arriving, bounded at 20 s.
provider_reply answer_of(const std::function<void(core::provider_port::callback)>& start) {
  auto promise = std::make_shared<std::promise<provider_reply>>();
  auto answered = promise->get_future();
  auto calls = std::make_shared<std::atomic<int>>(0);
  start([promise, calls](provider_reply r) {
    if (calls->fetch_add(1) == 0)
      promise->set_value(std::move(r));
  });
  REQUIRE(answered.wait_for(20s) == std::future_status::ready);
  return answered.get();
}
provider_reply submit_and_wait(core::provider_port& port, const std::vector<core::work_item>& items) {
  return answer_of([&](auto done) { port.submit(items, now(), std::move(done)); });
}
provider_reply poll_and_wait(core::provider_port& port, const std::string& remote_id,
                             const std::vector<core::work_item>& items) {
  return answer_of([&](auto done) { port.poll(remote_id, items, now(), std::move(done)); });
}
provider_reply cancel_and_wait(core::provider_port& port, const std::string& remote_id) {
  return answer_of([&](auto done) { port.cancel(remote_id, now(), std::move(done)); });
}

/// Submits to an async adapter and returns the remote id it was accepted as.
std::string accepted_id(core::provider_port& port, const std::vector<core::work_item>& items) {
  auto r = submit_and_wait(port, items);
  REQUIRE(r.k == kind::accepted);
  REQUIRE(r.error == error_class::none);
  REQUIRE_FALSE(r.remote_id.empty());
  return r.remote_id;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

/// One item of `r` that succeeded with `images` PNGs (base64 or data URLs); the worker prices them, not the adapter.
void check_success(const provider_reply::item& i, const core::work_item& asked, std::size_t images,
                   const std::string& prefix) {
  CHECK(i.id == asked.id);
  CHECK(i.error == error_class::none);
  REQUIRE(i.images.size() == images);
  for (const auto& img : i.images)
    CHECK(starts_with(img, prefix));
}

/// A call-wide failure, as every refused submit and every failed poll answers.
void check_failure(const provider_reply& r, error_class expected, core::duration retry_after = 0s) {
  CHECK(r.k == kind::done);
  CHECK(r.error == expected);
  CHECK(r.retry_after == retry_after);
  CHECK(r.items.empty());
}

/// An answer that is no success: the item failed with `expected`, no images.
void check_item_failed(const provider_reply& r, const core::work_item& asked, error_class expected) {
  CHECK(r.k == kind::done);
  CHECK(r.error == error_class::none);
  REQUIRE(r.items.size() == 1);
  CHECK(r.items[0].id == asked.id);
  CHECK(r.items[0].error == expected);
  CHECK(r.items[0].images.empty());
}

struct fault_case {
  std::string faults; ///< the fault JSON posted to the fake
  error_class expected;
  core::duration retry_after{0};
};

/// For each case: the faults are set, one submit is made, and the whole call fails with the case's class.
void check_submit_faults(fake_provider_process& fake, core::provider_port& port,
                         const std::vector<core::work_item>& items, const std::vector<fault_case>& cases) {
  for (const auto& c : cases) {
    INFO("faults " << c.faults);
    fake.set_faults(c.faults);
    check_failure(submit_and_wait(port, items), c.expected, c.retry_after);
  }
}

/// The error answers every api shares: each api's own 429 (Retry-After or RetryInfo), quota, 5xx, broken JSON.
std::vector<fault_case> common_faults() {
  return {{R"({"error_rates":{"401":1}})", error_class::auth},
          {R"({"error_rates":{"429":1},"retry_after_s":7})", error_class::rate_limited, 7s},
          {R"({"quota_rate":1})", error_class::quota},
          {R"({"error_rates":{"404":1}})", error_class::bad_request},
          {R"({"error_rates":{"500":1}})", error_class::server},
          {R"({"error_rates":{"503":1}})", error_class::server},
          {R"({"malformed_rate":1})", error_class::bad_response}};
}
std::vector<fault_case> plus(std::vector<fault_case> cases, const std::vector<fault_case>& more) {
  cases.insert(cases.end(), more.begin(), more.end());
  return cases;
}

/// One sync call of `asked` succeeds with asked.n PNGs, in one call to `path`.
void check_sync_success(api a, const core::work_item& asked, const std::string& path) {
  fake_provider_process fake;
  auto r = submit_and_wait(*adapter(fake, a), {asked});
  CHECK(r.k == kind::done);
  CHECK(r.error == error_class::none);
  REQUIRE(r.items.size() == 1);
  check_success(r.items[0], asked, static_cast<std::size_t>(asked.n), png_base64);
  auto calls = fake.calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].path == path);
  CHECK(calls[0].status == 200);
}

/// Polls one remote job of an async adapter through a 500, a 503, a malformed answer and a hang (with a 500 ms
/// timeout): each is poll_failed with its class. Then polls it without faults to its end, and returns that answer.
provider_reply check_failed_polls(fake_provider_process& fake, api a, const std::vector<core::work_item>& items) {
  auto port = adapter(fake, a);
  auto impatient = adapter(fake, a, 500ms);
  const auto id = accepted_id(*port, items);
  for (const auto& c : std::vector<fault_case>{{R"({"error_rates":{"500":1}})", error_class::server},
                                               {R"({"error_rates":{"503":1}})", error_class::server},
                                               {R"({"malformed_rate":1})", error_class::bad_response},
                                               {R"({"hang_rate":1})", error_class::timeout}}) {
    INFO("faults " << c.faults);
    fake.set_faults(c.faults);
    auto r = poll_and_wait(c.expected == error_class::timeout ? *impatient : *port, id, items);
    check_failure(r, c.expected);
    CHECK(r.poll_failed);
  }
  fake.set_faults("{}"); // the fake ran the malformed poll (one step on), not the others: one more poll ends it
  return poll_and_wait(*port, id, items);
}

/// Headers carrying the fake's key, for requests made behind an adapter's back.
std::map<std::string, std::string> google_key(const fake_provider_process& fake) {
  return {{"x-goog-api-key", fake.api_key()}};
}
std::map<std::string, std::string> bearer_key(const fake_provider_process& fake) {
  return {{"Authorization", "Bearer " + fake.api_key()}};
}

} // namespace

// ---- OpenAI Images (sync)

TEST_CASE("openai answers n base64 PNG images") {
  check_sync_success(api::openai, item(1, 3, tier::hd), "/v1/images/generations");
}

TEST_CASE("openai maps each error answer to its error class") {
  fake_provider_process fake;
  auto port = adapter(fake, api::openai);
  check_submit_faults(fake, *port, {item(1)},
                      plus(common_faults(), {{R"({"error_rates":{"403":1}})", error_class::auth},
                                             {R"({"error_rates":{"400":1}})", error_class::bad_request},
                                             {R"({"content_policy_rate":1})", error_class::content_policy},
                                             {R"({"error_rates":{"502":1}})", error_class::server}}));
  auto dalle = adapter(fake, api::openai, 10s, "dall-e-3"); // content_policy_violation
  check_submit_faults(fake, *dalle, {item(2)}, {{R"({"content_policy_rate":1})", error_class::content_policy}});
}

// ---- Imagen on the Gemini API (gemini kind, sync)

TEST_CASE("imagen answers sampleCount PNG images") {
  check_sync_success(api::imagen, item(2, 2, tier::k4), "/v1beta/models/imagen-4.0-generate-001:predict");
}

TEST_CASE("imagen maps each error answer to its error class with 504 as timeout") {
  fake_provider_process fake;
  auto port = adapter(fake, api::imagen);
  check_submit_faults(fake, *port, {item(1)},
                      plus(common_faults(), {{R"({"error_rates":{"403":1}})", error_class::auth},
                                             {R"({"error_rates":{"400":1}})", error_class::bad_request},
                                             {R"({"content_policy_rate":1})", error_class::content_policy},
                                             {R"({"error_rates":{"504":1}})", error_class::timeout}}));
}

// ---- Replicate predictions (async, one prediction per item)

TEST_CASE("replicate accepts a prediction by id then polls it from starting through processing to succeeded with data URL images") {
  fake_provider_process fake;
  fake.set_faults(R"({"async_polls_before_done":2,"async_polls_queued":1})");
  auto port = adapter(fake, api::replicate);
  const std::vector<core::work_item> items{item(3, 2, tier::hd)};
  const auto id = accepted_id(*port, items); // the create answered `starting`
  auto queued = poll_and_wait(*port, id, items);
  CHECK(queued.k == kind::pending);
  CHECK(queued.not_started); // no worker took it yet: a cancel now costs nothing
  for (int i = 0; i < 2; ++i) {
    auto processing = poll_and_wait(*port, id, items);
    CHECK(processing.k == kind::pending);
    CHECK(processing.error == error_class::none);
    CHECK_FALSE(processing.poll_failed);
    CHECK_FALSE(processing.not_started); // it runs: billed if given up
  }
  auto done = poll_and_wait(*port, id, items);
  CHECK(done.k == kind::done);
  CHECK(done.error == error_class::none);
  REQUIRE(done.items.size() == 1);
  check_success(done.items[0], items[0], 2, png_data_url);
  auto calls = fake.calls();
  REQUIRE(calls.size() == 5);
  CHECK(calls[0].method == "POST");
  CHECK(calls[0].path == "/v1/models/acme/flux/predictions");
  CHECK(calls[0].status == 201);
  CHECK(calls[4].path == "/v1/predictions/" + id);
}

TEST_CASE("replicate creates a prediction of a version id on the predictions route") {
  fake_provider_process fake;
  auto port = adapter(fake, api::replicate, 10s, replicate_version);
  accepted_id(*port, {item(4)});
  auto calls = fake.calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].path == "/v1/predictions");
  CHECK(calls[0].status == 201);
}

TEST_CASE("replicate maps each error answer to its error class") {
  fake_provider_process fake;
  auto port = adapter(fake, api::replicate);
  check_submit_faults(fake, *port, {item(1)},
                      plus(common_faults(), {{R"({"error_rates":{"422":1}})", error_class::bad_request},
                                             {R"({"error_rates":{"400":1}})", error_class::bad_request},
                                             {R"({"error_rates":{"504":1}})", error_class::server}}));
}

TEST_CASE("a replicate prediction that ends failed or canceled is a failure and not a failed poll") {
  fake_provider_process fake;
  auto port = adapter(fake, api::replicate);
  const std::vector<core::work_item> items{item(5)};
  for (const auto& [faults, expected] : std::vector<std::pair<std::string, error_class>>{
           {R"({"async_failure_rate":1,"async_polls_before_done":0})", error_class::server},
           {R"({"content_policy_rate":1,"async_polls_before_done":0})", error_class::content_policy}}) {
    INFO("faults " << faults);
    fake.set_faults(faults);
    auto failed = poll_and_wait(*port, accepted_id(*port, items), items); // the prediction ends `failed`
    check_failure(failed, expected);
    CHECK_FALSE(failed.poll_failed);
  }
  fake.set_faults("{}");
  const auto id = accepted_id(*port, items);
  REQUIRE(fake.request("POST", "/v1/predictions/" + id + "/cancel", {}, bearer_key(fake)).status == 200);
  auto canceled = poll_and_wait(*port, id, items);
  check_failure(canceled, error_class::cancelled);
  CHECK_FALSE(canceled.poll_failed);
}

TEST_CASE("replicate cancel posts to the prediction's cancel route and the prediction then polls as cancelled") {
  fake_provider_process fake;
  fake.set_faults(R"({"async_polls_before_done":100})");
  auto port = adapter(fake, api::replicate);
  const std::vector<core::work_item> items{item(7)};
  const auto id = accepted_id(*port, items);
  auto cancelled = cancel_and_wait(*port, id);
  CHECK(cancelled.error == error_class::none);
  auto calls = fake.calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[1].method == "POST");
  CHECK(calls[1].path == "/v1/predictions/" + id + "/cancel");
  CHECK(calls[1].status == 200);
  check_failure(poll_and_wait(*port, id, items), error_class::cancelled);
  check_failure(cancel_and_wait(*port, "no-such-prediction"), error_class::bad_request); // 404
}

TEST_CASE("a replicate poll whose HTTP call fails is poll_failed and the prediction can still be polled to the end") {
  fake_provider_process fake;
  const std::vector<core::work_item> items{item(6)};
  auto done = check_failed_polls(fake, api::replicate, items);
  CHECK(done.error == error_class::none);
  REQUIRE(done.items.size() == 1);
  check_success(done.items[0], items[0], 1, png_data_url);
}

// ---- Gemini batch mode (gemini kind, async, one remote batch per batch)

TEST_CASE("a gemini batch is accepted as batches id then pending while running then done with one result per item") {
  fake_provider_process fake;
  fake.set_faults(R"({"async_polls_before_done":2,"async_polls_queued":1})");
  auto port = adapter(fake, api::gemini_batch);
  CHECK(port->takes_batches());
  const std::vector<core::work_item> items{item(11, 1, tier::sd), item(12, 1, tier::hd), item(13, 1, tier::k4)};
  const auto id = accepted_id(*port, items); // BATCH_STATE_PENDING
  CHECK(starts_with(id, "batches/"));
  auto queued = poll_and_wait(*port, id, items);
  CHECK(queued.k == kind::pending);
  CHECK(queued.not_started); // PENDING: no request processed yet
  for (int i = 0; i < 2; ++i) {
    auto running = poll_and_wait(*port, id, items);
    CHECK(running.k == kind::pending);
    CHECK(running.error == error_class::none);
    CHECK_FALSE(running.poll_failed);
    CHECK_FALSE(running.not_started);
  }
  auto done = poll_and_wait(*port, id, items);
  CHECK(done.k == kind::done);
  CHECK(done.error == error_class::none);
  REQUIRE(done.items.size() == 3);
  for (std::size_t i = 0; i < items.size(); ++i)
    check_success(done.items[i], items[i], 1, png_base64);
  auto calls = fake.calls();
  REQUIRE(calls.size() == 5);
  CHECK(calls[0].path == "/v1beta/models/gemini-img:batchGenerateContent");
  CHECK(calls[4].path == "/v1beta/" + id);
}

TEST_CASE("a gemini batch sends n keyed requests for an item of n images and gathers the n images back") {
  fake_provider_process fake;
  fake.set_faults(R"({"async_polls_before_done":0})");
  auto port = adapter(fake, api::gemini_batch);
  const std::vector<core::work_item> items{item(14, 4, tier::hd), item(15, 1, tier::sd), item(16, 2, tier::k4)};
  const auto id = accepted_id(*port, items);
  CHECK(fake.stats().at("batch_items_created").as_integer() == 7);
  // the keys the fake was given, in order
  const auto op = web::json::value::parse(fake.request("GET", "/v1beta/" + id, {}, google_key(fake)).body);
  std::vector<std::string> keys;
  for (const auto& e : op.at("response").at("inlinedResponses").at("inlinedResponses").as_array())
    keys.push_back(e.at("metadata").at("key").as_string());
  CHECK(keys == std::vector<std::string>{"j14#1", "j14#2", "j14#3", "j14#4", "j15", "j16#1", "j16#2"});
  auto done = poll_and_wait(*port, id, items);
  REQUIRE(done.error == error_class::none);
  REQUIRE(done.items.size() == 3);
  for (std::size_t i = 0; i < items.size(); ++i)
    check_success(done.items[i], items[i], static_cast<std::size_t>(items[i].n), png_base64);
}

TEST_CASE("a gemini batch item whose split requests partly fail keeps the images that came") {
  fake_provider_process fake;
  fake.set_faults(R"({"seed":5,"item_error_rate":0.5,"async_polls_before_done":0})");
  auto port = adapter(fake, api::gemini_batch);
  std::vector<core::work_item> items;
  for (std::uint64_t id = 1; id <= 6; ++id)
    items.push_back(item(100 + id, 3));
  const auto id = accepted_id(*port, items);
  auto done = poll_and_wait(*port, id, items);
  REQUIRE(done.error == error_class::none);
  // what the fake answered: good requests per job
  const auto op = web::json::value::parse(fake.request("GET", "/v1beta/" + id, {}, google_key(fake)).body);
  std::map<std::string, std::size_t> good;
  for (const auto& e : op.at("response").at("inlinedResponses").at("inlinedResponses").as_array()) {
    const auto key = e.at("metadata").at("key").as_string();
    good[key.substr(0, key.find('#'))] += e.has_field("error") ? 0 : 1;
  }
  REQUIRE(done.items.size() == 6);
  int partial = 0;
  for (const auto& i : done.items) {
    INFO("item " << core::to_string(i.id));
    const auto expected = good.at(core::to_string(i.id));
    CHECK(i.images.size() == expected);
    CHECK(i.error == (expected == 0 ? error_class::server : error_class::none));
    partial += expected > 0 && expected < 3;
  }
  CHECK(partial > 0); // seed 5 gives some items part of their images
}

TEST_CASE("gemini batch results are matched to items by key including a per item error") {
  fake_provider_process fake;
  fake.set_faults(R"({"seed":3,"item_error_rate":0.5,"async_polls_before_done":0})");
  auto port = adapter(fake, api::gemini_batch);
  std::vector<core::work_item> items{item(21), item(22), item(23), item(24), item(25), item(26)};
  const auto id = accepted_id(*port, items);
  std::reverse(items.begin(), items.end()); // results come in input order: only the keys can match them up
  auto done = poll_and_wait(*port, id, items);
  REQUIRE(done.error == error_class::none);
  // what the fake answered per key
  const auto op = web::json::value::parse(fake.request("GET", "/v1beta/" + id, {}, google_key(fake)).body);
  std::map<std::string, bool> failed_by_key;
  for (const auto& e : op.at("response").at("inlinedResponses").at("inlinedResponses").as_array())
    failed_by_key[e.at("metadata").at("key").as_string()] = e.has_field("error");
  const auto failures = std::count_if(failed_by_key.begin(), failed_by_key.end(), [](auto& kv) { return kv.second; });
  REQUIRE(failures > 0); // seed 3 mixes failed and good items
  REQUIRE(failures < 6);
  REQUIRE(done.items.size() == 6);
  std::set<std::uint64_t> answered;
  for (const auto& i : done.items) {
    INFO("item j" << i.id.value);
    answered.insert(i.id.value);
    if (failed_by_key.at(core::to_string(i.id))) {
      CHECK(i.error == error_class::server);
      CHECK(i.images.empty());
    } else {
      CHECK(i.error == error_class::none);
      CHECK(i.images.size() == 1);
    }
  }
  CHECK(answered == std::set<std::uint64_t>{21, 22, 23, 24, 25, 26});
}

TEST_CASE("gemini batch maps each error answer to its error class with 504 as timeout") {
  fake_provider_process fake;
  auto port = adapter(fake, api::gemini_batch);
  check_submit_faults(fake, *port, {item(1), item(2)},
                      plus(common_faults(), {{R"({"error_rates":{"403":1}})", error_class::auth},
                                             {R"({"error_rates":{"400":1}})", error_class::bad_request},
                                             {R"({"error_rates":{"504":1}})", error_class::timeout}}));
}

TEST_CASE("a gemini batch that ends FAILED, CANCELLED or EXPIRED is a failure and not a failed poll") {
  fake_provider_process fake;
  auto port = adapter(fake, api::gemini_batch);
  const std::vector<core::work_item> items{item(31), item(32)};
  fake.set_faults(R"({"async_failure_rate":1,"async_polls_before_done":0})");
  auto failed = poll_and_wait(*port, accepted_id(*port, items), items);
  check_failure(failed, error_class::server);
  CHECK_FALSE(failed.poll_failed);
  fake.set_faults("{}");
  const auto id = accepted_id(*port, items);
  REQUIRE(fake.request("POST", "/v1beta/" + id + ":cancel", {}, google_key(fake)).status == 200);
  auto cancelled = poll_and_wait(*port, id, items);
  check_failure(cancelled, error_class::cancelled);
  CHECK_FALSE(cancelled.poll_failed);
  fake.set_faults(R"({"async_expire_rate":1,"async_polls_before_done":0})");
  auto expired = poll_and_wait(*port, accepted_id(*port, items), items);
  check_failure(expired, error_class::timeout); // it never ran: our items go on along the chain
  CHECK_FALSE(expired.poll_failed);
}

TEST_CASE("gemini batch cancel posts batches id cancel and the batch then polls as cancelled") {
  fake_provider_process fake;
  fake.set_faults(R"({"async_polls_before_done":100})");
  auto port = adapter(fake, api::gemini_batch);
  const std::vector<core::work_item> items{item(33), item(34)};
  const auto id = accepted_id(*port, items);
  auto cancelled = cancel_and_wait(*port, id);
  CHECK(cancelled.error == error_class::none);
  auto calls = fake.calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[1].method == "POST");
  CHECK(calls[1].path == "/v1beta/" + id + ":cancel");
  CHECK(calls[1].status == 200);
  check_failure(poll_and_wait(*port, id, items), error_class::cancelled);
}

TEST_CASE("sync adapters have no remote job to cancel and make no call") {
  fake_provider_process fake;
  for (const auto a : {api::openai, api::imagen}) {
    INFO("api " << static_cast<int>(a));
    auto r = cancel_and_wait(*adapter(fake, a), "anything");
    CHECK(r.error == error_class::none);
    CHECK_FALSE(r.message.empty());
  }
  CHECK(fake.call_count() == 0);
}

TEST_CASE("gemini batch items blocked for safety are content_policy") {
  fake_provider_process fake;
  fake.set_faults(R"({"content_policy_rate":1,"async_polls_before_done":0})");
  auto port = adapter(fake, api::gemini_batch);
  const std::vector<core::work_item> items{item(41), item(42)};
  auto done = poll_and_wait(*port, accepted_id(*port, items), items);
  CHECK(done.error == error_class::none);
  REQUIRE(done.items.size() == 2);
  for (const auto& i : done.items) {
    CHECK(i.error == error_class::content_policy);
    CHECK(i.images.empty());
  }
}

TEST_CASE("a gemini batch poll whose HTTP call fails is poll_failed and the batch can still be polled to the end") {
  fake_provider_process fake;
  const std::vector<core::work_item> items{item(51)};
  auto done = check_failed_polls(fake, api::gemini_batch, items);
  CHECK(done.error == error_class::none);
  REQUIRE(done.items.size() == 1);
  check_success(done.items[0], items[0], 1, png_base64);
}

// ---- Every adapter

TEST_CASE("a 200 without image data is bad_response and never a success in every adapter") {
  fake_provider_process fake;
  fake.set_faults(R"({"empty_data_rate":1,"async_polls_before_done":0})");
  for (const auto a : {api::openai, api::imagen}) {
    INFO("api " << static_cast<int>(a));
    const auto asked = item(61, 2);
    check_item_failed(submit_and_wait(*adapter(fake, a), {asked}), asked, error_class::bad_response);
  }
  auto replicate = adapter(fake, api::replicate);
  const std::vector<core::work_item> one{item(62, 2)};
  auto succeeded_empty = poll_and_wait(*replicate, accepted_id(*replicate, one), one); // `succeeded`, output []
  check_item_failed(succeeded_empty, one[0], error_class::bad_response);
  CHECK_FALSE(succeeded_empty.poll_failed);
  auto batch = adapter(fake, api::gemini_batch);
  const std::vector<core::work_item> two{item(63), item(64)};
  auto done = poll_and_wait(*batch, accepted_id(*batch, two), two); // SUCCEEDED, items without inlineData
  CHECK(done.error == error_class::none);
  REQUIRE(done.items.size() == 2);
  for (const auto& i : done.items) {
    CHECK(i.error == error_class::bad_response);
    CHECK(i.images.empty());
  }
}

TEST_CASE("every adapter gives up on a call hung past its timeout as an unanswered timeout") {
  fake_provider_process fake;
  fake.set_faults(R"({"hang_rate":1})");
  for (const auto a : {api::openai, api::replicate, api::imagen, api::gemini_batch}) {
    INFO("api " << static_cast<int>(a));
    const auto before = fake.calls().size();
    const auto started = std::chrono::steady_clock::now();
    auto r = submit_and_wait(*adapter(fake, a, 500ms), {item(71)});
    check_failure(r, error_class::timeout);
    CHECK(r.unanswered); // the provider may have acted on it: an async create is not repeated
    CHECK(std::chrono::steady_clock::now() - started >= 450ms);
    auto calls = fake.calls(before);
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].fault == "hang");
    CHECK(calls[0].status == 0); // still held by the fake: the adapter gave up on its own
  }
}

TEST_CASE("every adapter reads the key from the variable named by api_key_env and a wrong key is auth") {
  fake_provider_process::options opts;
  opts.api_key = "sk-env-only-7f3a";
  fake_provider_process fake(opts);
  const std::string wrong = "sk-wrong-secret-4711";
  for (const auto a : {api::openai, api::replicate, api::imagen, api::gemini_batch}) {
    INFO("api " << static_cast<int>(a));
    auto good = submit_and_wait(*adapter(fake, a), {item(81)});
    CHECK(good.error == error_class::none);
    auto refused = submit_and_wait(*adapter(fake, a, 10s, {}, wrong), {item(82)});
    check_failure(refused, error_class::auth);
    CHECK(refused.message.find(wrong) == std::string::npos);
  }
}

TEST_CASE("every adapter answers auth without any HTTP call when the key variable is unset") {
  fake_provider_process fake;
  for (const auto a : {api::openai, api::replicate, api::imagen, api::gemini_batch}) {
    INFO("api " << static_cast<int>(a));
    REQUIRE(::unsetenv(key_env) == 0);
    auto port = providers::make_provider(config_for(fake, a, 10s));
    auto r = submit_and_wait(*port, {item(91)});
    check_failure(r, error_class::auth);
    CHECK(r.message.find(key_env) != std::string::npos); // names the variable, the only thing it can name
  }
  CHECK(fake.call_count() == 0);
}
