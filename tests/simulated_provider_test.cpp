/// The simulated provider: latency, failures, seeding, real PNG images, timeouts, async polling, quality.
/// Time is injected: every call gets an `instant` chosen here, and the port answers synchronously.

#include "adapters/providers/png.hpp"
#include "adapters/providers/simulated.hpp"

#include <catch2/catch.hpp>

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

using namespace cutover;
using namespace std::chrono_literals;
using core::error_class;
using core::provider_reply;

namespace {

const core::instant t0 = core::instant{} + 1'800'000'000s; // some day in 2027

core::provider_config config_of(core::duration p50, core::duration p95, core::ppm failure_rate = 0,
                                core::provider_mode mode = core::provider_mode::sync) {
  core::provider_config c;
  c.name = "sim";
  c.mode = mode;
  c.timeout = 1h;
  c.cost_per_image = {10'000, 20'000, 30'000};
  c.simulated.latency_p50 = p50;
  c.simulated.latency_p95 = p95;
  c.simulated.failure_rate = failure_rate;
  c.simulated.quality = 0.9;
  c.simulated.seed = 7;
  return c;
}

core::work_item item_of(std::uint64_t id, std::string prompt = "a red fox", int n = 1,
                        core::tier t = core::tier::sd) {
  core::work_item w;
  w.id = core::job_id{id};
  w.tier_ = t;
  w.n = n;
  w.prompt = std::move(prompt);
  w.user_id = "u1";
  return w;
}

/// The one reply of a call; the simulated port answers before returning.
template <class Call>
provider_reply answer_of(Call call) {
  provider_reply out;
  int calls = 0;
  call([&](provider_reply r) {
    out = std::move(r);
    ++calls;
  });
  REQUIRE(calls == 1);
  return out;
}

provider_reply submit(core::provider_port& p, const std::vector<core::work_item>& items, core::instant now) {
  return answer_of([&](core::provider_port::callback done) { p.submit(items, now, std::move(done)); });
}

provider_reply poll(core::provider_port& p, const std::string& id, const std::vector<core::work_item>& items,
                    core::instant now) {
  return answer_of([&](core::provider_port::callback done) { p.poll(id, items, now, std::move(done)); });
}

double seconds(core::duration d) { return std::chrono::duration<double>(d).count(); }

/// The q-quantile (0..1) of `values` by nearest rank.
double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[rank];
}

std::string base64_decode(const std::string& text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  REQUIRE(text.size() % 4 == 0);
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=')
      break;
    auto v = alphabet.find(c);
    REQUIRE(v != std::string::npos);
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return out;
}

std::uint32_t crc32_of(const std::string& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : data) {
    crc ^= ch;
    for (int k = 0; k < 8; ++k)
      crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  return ~crc;
}

std::uint32_t u32_at(const std::string& s, std::size_t at) {
  REQUIRE(at + 4 <= s.size());
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<std::uint8_t>(s[at + i]);
  return v;
}

/// Checks a base64 PNG completely (signature, chunk CRCs, IHDR size, IDAT inflates to 64 rows of 9 bytes)
/// and returns its palette colour as 0xRRGGBB.
std::uint32_t check_png(const std::string& b64) {
  const std::string png = base64_decode(b64);
  REQUIRE(png.size() > 8);
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  std::vector<std::string> types;
  std::string idat, plte;
  std::size_t at = 8;
  while (at < png.size()) {
    const std::uint32_t len = u32_at(png, at);
    REQUIRE(at + 12 + len <= png.size());
    const std::string body = png.substr(at + 4, 4 + len);
    CHECK(u32_at(png, at + 8 + len) == crc32_of(body));
    const std::string type = body.substr(0, 4), data = body.substr(4);
    types.push_back(type);
    if (type == "IHDR") {
      REQUIRE(len == 13);
      CHECK(u32_at(data, 0) == 64);
      CHECK(u32_at(data, 4) == 64);
    } else if (type == "PLTE") {
      plte = data;
    } else if (type == "IDAT") {
      idat += data;
    }
    at += 12 + len;
  }
  CHECK(at == png.size());
  REQUIRE(types.size() >= 3);
  CHECK(types.front() == "IHDR");
  CHECK(types.back() == "IEND");
  REQUIRE(plte.size() == 3);
  std::string raw(1024, '\0');
  uLongf raw_size = static_cast<uLongf>(raw.size());
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size, reinterpret_cast<const Bytef*>(idat.data()),
                     static_cast<uLong>(idat.size())) == Z_OK);
  CHECK(raw_size == 64u * 9u);
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(plte[0])) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(plte[1])) << 8 | static_cast<std::uint8_t>(plte[2]);
}

} // namespace

TEST_CASE("latency follows a log-normal fitted to p50 and p95", "[simulated]") {
  auto p = providers::make_simulated_provider(config_of(8s, 20s));
  std::vector<double> delays;
  for (std::uint64_t i = 1; i <= 20'000; ++i)
    delays.push_back(seconds(submit(*p, {item_of(i)}, t0).delay));
  CHECK(quantile(delays, 0.5) == Approx(8.0).epsilon(0.05));
  CHECK(quantile(delays, 0.95) == Approx(20.0).epsilon(0.07));
  CHECK(*std::min_element(delays.begin(), delays.end()) > 0);
}

TEST_CASE("a zero latency configuration answers without delay", "[simulated]") {
  auto p = providers::make_simulated_provider(config_of(0s, 0s));
  for (std::uint64_t i = 1; i <= 100; ++i) {
    const auto r = submit(*p, {item_of(i)}, t0);
    CHECK(r.delay == core::duration{0});
    CHECK(r.error == error_class::none);
    CHECK(r.items.size() == 1);
  }
}

TEST_CASE("items fail at the configured failure rate with a server error", "[simulated]") {
  SECTION("10% in sync mode") {
    auto p = providers::make_simulated_provider(config_of(1s, 2s, 100'000));
    int failed = 0;
    for (std::uint64_t i = 1; i <= 20'000; ++i) {
      const auto r = submit(*p, {item_of(i)}, t0);
      REQUIRE(r.items.size() == 1);
      CHECK((r.items[0].error == error_class::none || r.items[0].error == error_class::server));
      failed += r.items[0].error == error_class::server;
    }
    CHECK(failed >= 1'800);
    CHECK(failed <= 2'200);
  }
  SECTION("10% in async mode") {
    auto p = providers::make_simulated_provider(config_of(1s, 2s, 100'000, core::provider_mode::async));
    std::vector<core::work_item> items;
    for (std::uint64_t i = 1; i <= 20'000; ++i)
      items.push_back(item_of(i));
    const auto accepted = submit(*p, items, t0);
    const auto r = poll(*p, accepted.remote_id, items, t0 + 1h);
    REQUIRE(r.items.size() == items.size());
    const auto failed = std::count_if(r.items.begin(), r.items.end(),
                                      [](const auto& it) { return it.error == error_class::server; });
    CHECK(failed >= 1'800);
    CHECK(failed <= 2'200);
  }
  SECTION("0% never fails") {
    auto p = providers::make_simulated_provider(config_of(1s, 2s, 0));
    for (std::uint64_t i = 1; i <= 5'000; ++i) {
      const auto r = submit(*p, {item_of(i)}, t0);
      REQUIRE(r.items.size() == 1);
      CHECK(r.items[0].error == error_class::none);
    }
  }
}

TEST_CASE("a seeded provider repeats its delays and outcomes and another seed does not", "[simulated]") {
  auto cfg = config_of(8s, 20s, 200'000);
  auto a = providers::make_simulated_provider(cfg);
  auto b = providers::make_simulated_provider(cfg);
  cfg.simulated.seed = 8;
  auto c = providers::make_simulated_provider(cfg);
  int delays_differ = 0, outcomes_differ = 0;
  for (std::uint64_t i = 1; i <= 200; ++i) {
    const auto item = item_of(i, "prompt " + std::to_string(i % 7), 1 + static_cast<int>(i % 3));
    const auto ra = submit(*a, {item}, t0 + std::chrono::seconds(i));
    const auto rb = submit(*b, {item}, t0 + std::chrono::seconds(i));
    const auto rc = submit(*c, {item}, t0 + std::chrono::seconds(i));
    REQUIRE(ra.items.size() == 1);
    REQUIRE(rb.items.size() == 1);
    REQUIRE(rc.items.size() == 1);
    CHECK(ra.delay == rb.delay);
    CHECK(ra.items[0].error == rb.items[0].error);
    CHECK(ra.items[0].images == rb.items[0].images);
    CHECK(ra.items[0].quality == rb.items[0].quality);
    delays_differ += ra.delay != rc.delay;
    outcomes_differ += ra.items[0].error != rc.items[0].error;
  }
  CHECK(delays_differ > 150);
  CHECK(outcomes_differ > 0);
}

TEST_CASE("a succeeded item returns n valid 64x64 PNGs in every tier", "[simulated]") {
  auto p = providers::make_simulated_provider(config_of(1s, 2s));
  const std::array<core::tier, 3> tiers{core::tier::sd, core::tier::hd, core::tier::k4};
  for (std::size_t t = 0; t < tiers.size(); ++t) {
    const auto r = submit(*p, {item_of(1, "a lighthouse", 3, tiers[t])}, t0);
    REQUIRE(r.items.size() == 1);
    const auto& it = r.items[0];
    CHECK(it.id == core::job_id{1});
    CHECK(it.error == error_class::none);
    REQUIRE(it.images.size() == 3);
    std::set<std::uint32_t> colours;
    for (const auto& img : it.images)
      colours.insert(check_png(img));
    CHECK(colours.size() == 3);
  }
}

TEST_CASE("a failed item has no images and says why", "[simulated]") {
  auto p = providers::make_simulated_provider(config_of(1s, 2s, 500'000));
  int failed = 0, succeeded = 0;
  for (std::uint64_t i = 1; i <= 200; ++i) {
    const auto r = submit(*p, {item_of(i, "x", 2, core::tier::hd)}, t0);
    REQUIRE(r.items.size() == 1);
    const auto& it = r.items[0];
    if (it.error == error_class::server) {
      ++failed;
      CHECK(it.images.empty());
      CHECK_FALSE(it.message.empty());
    } else {
      ++succeeded;
      CHECK(it.images.size() == 2);
    }
  }
  CHECK(failed > 0);
  CHECK(succeeded > 0);
}

TEST_CASE("the same prompt gives the same image and different prompts give different colours", "[simulated]") {
  auto p = providers::make_simulated_provider(config_of(1s, 2s));
  const auto first = submit(*p, {item_of(1, "a blue whale")}, t0);
  const auto again = submit(*p, {item_of(2, "a blue whale")}, t0 + 1h);
  REQUIRE(first.items.size() == 1);
  REQUIRE(again.items.size() == 1);
  CHECK(first.items[0].images == again.items[0].images);
  std::set<std::uint32_t> colours;
  for (std::uint64_t i = 1; i <= 50; ++i) {
    const auto r = submit(*p, {item_of(i, "prompt number " + std::to_string(i))}, t0);
    REQUIRE(r.items.size() == 1);
    REQUIRE(r.items[0].images.size() == 1);
    colours.insert(check_png(r.items[0].images[0]));
  }
  CHECK(colours.size() >= 49);
}

TEST_CASE("solid_png_base64 is the base64 of solid_png with the seed's colour", "[simulated][png]") {
  for (std::uint32_t seed : {0u, 1u, 0x123456u, 0xFFFFFFFFu, 0xABCDEF01u}) {
    const auto b64 = providers::solid_png_base64(seed);
    CHECK(b64 == providers::base64_encode(providers::solid_png(static_cast<std::uint8_t>(seed >> 16),
                                                               static_cast<std::uint8_t>(seed >> 8),
                                                               static_cast<std::uint8_t>(seed))));
    CHECK(check_png(b64) == (seed & 0xFFFFFFu));
  }
  CHECK(providers::base64_encode("") == "");
  CHECK(providers::base64_encode("f") == "Zg==");
  CHECK(providers::base64_encode("fo") == "Zm8=");
  CHECK(providers::base64_encode("foo") == "Zm9v");
  CHECK(providers::base64_encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("a sync call slower than the timeout answers timeout after the timeout", "[simulated]") {
  auto cfg = config_of(10s, 10s);
  cfg.timeout = 1s;
  auto p = providers::make_simulated_provider(cfg);
  const auto r = submit(*p, {item_of(1), item_of(2)}, t0);
  CHECK(r.k == provider_reply::kind::done);
  CHECK(r.error == error_class::timeout);
  CHECK(r.delay == core::duration{1s});
  CHECK(r.items.empty());
  CHECK_FALSE(r.message.empty());
}

TEST_CASE("a sync provider takes one item per call and an async one takes batches", "[simulated]") {
  CHECK_FALSE(providers::make_simulated_provider(config_of(1s, 2s))->takes_batches());
  CHECK(providers::make_simulated_provider(config_of(1s, 2s, 0, core::provider_mode::async))->takes_batches());
}

TEST_CASE("an async job is pending until its latency has passed and then done with one result per item",
          "[simulated]") {
  const auto cfg = config_of(10s, 10s, 0, core::provider_mode::async);
  auto p = providers::make_simulated_provider(cfg);
  const std::vector<core::work_item> items{item_of(11, "a"), item_of(12, "b", 2, core::tier::hd), item_of(13, "c")};
  const auto accepted = submit(*p, items, t0);
  CHECK(accepted.k == provider_reply::kind::accepted);
  CHECK(accepted.error == error_class::none);
  REQUIRE_FALSE(accepted.remote_id.empty());
  CHECK(accepted.items.empty());

  CHECK(poll(*p, accepted.remote_id, items, t0).k == provider_reply::kind::pending);
  const auto early = poll(*p, accepted.remote_id, items, t0 + 10s - 1ms);
  CHECK(early.k == provider_reply::kind::pending);
  CHECK(early.error == error_class::none);
  CHECK(early.items.empty());

  const auto done = poll(*p, accepted.remote_id, items, t0 + 10s + 1ms);
  CHECK(done.k == provider_reply::kind::done);
  CHECK(done.error == error_class::none);
  CHECK(done.remote_id == accepted.remote_id);
  REQUIRE(done.items.size() == items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    CHECK(done.items[i].id == items[i].id);
    CHECK(done.items[i].error == error_class::none);
    CHECK(done.items[i].images.size() == static_cast<std::size_t>(items[i].n));
    for (const auto& img : done.items[i].images)
      check_png(img);
  }
  CHECK(poll(*p, accepted.remote_id, items, t0 + 24h).k == provider_reply::kind::done);
}

TEST_CASE("polling is stateless so a fresh provider polls a remote id to the same result", "[simulated]") {
  const auto cfg = config_of(8s, 20s, 300'000, core::provider_mode::async);
  std::vector<core::work_item> items;
  for (std::uint64_t i = 1; i <= 40; ++i)
    items.push_back(item_of(i, "p" + std::to_string(i)));
  auto first = providers::make_simulated_provider(cfg);
  const auto accepted = submit(*first, items, t0);
  const auto a = poll(*first, accepted.remote_id, items, t0 + 2h);
  auto restarted = providers::make_simulated_provider(cfg); // never saw the submit
  const auto b = poll(*restarted, accepted.remote_id, items, t0 + 3h);
  REQUIRE(a.k == provider_reply::kind::done);
  REQUIRE(b.k == provider_reply::kind::done);
  REQUIRE(a.items.size() == items.size());
  REQUIRE(b.items.size() == items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    CHECK(a.items[i].error == b.items[i].error);
    CHECK(a.items[i].images == b.items[i].images);
    CHECK(a.items[i].quality == b.items[i].quality);
  }
  // The fresh provider also agrees on when the job is still pending.
  CHECK(poll(*restarted, accepted.remote_id, items, t0 + 1ms).k == provider_reply::kind::pending);
}

TEST_CASE("polling an unknown or malformed remote id is a bad request", "[simulated]") {
  auto p = providers::make_simulated_provider(config_of(1s, 2s, 0, core::provider_mode::async));
  for (const std::string id : {"", "nope", "sim-", "sim-abc-def-ghi", "job-12-34-56"}) {
    INFO(id);
    const auto r = poll(*p, id, {item_of(1)}, t0 + 1h);
    CHECK(r.error == error_class::bad_request);
    CHECK(r.items.empty());
    CHECK_FALSE(r.message.empty());
  }
}

TEST_CASE("quality stays within 0 and 1 and near the configured quality", "[simulated]") {
  for (double q : {0.0, 0.5, 0.9, 0.99, 1.0}) {
    auto cfg = config_of(1s, 2s);
    cfg.simulated.quality = q;
    auto p = providers::make_simulated_provider(cfg);
    double lo = 1, hi = 0;
    for (std::uint64_t i = 1; i <= 2'000; ++i) {
      const auto r = submit(*p, {item_of(i)}, t0);
      REQUIRE(r.items.size() == 1);
      lo = std::min(lo, r.items[0].quality);
      hi = std::max(hi, r.items[0].quality);
    }
    INFO("quality " << q << ": " << lo << ".." << hi);
    CHECK(lo >= 0.0);
    CHECK(hi <= 1.0);
    CHECK(lo >= q - 0.03 - 1e-9);
    CHECK(hi <= q + 0.03 + 1e-9);
    CHECK(hi > lo); // it varies
  }
}
