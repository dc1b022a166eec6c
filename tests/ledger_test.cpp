#include "core/ledger.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <memory>
#include <random>

using namespace cutover::core;
using namespace std::chrono_literals;

namespace {

constexpr instant nov25{std::chrono::seconds(1795564800)}; // 2026-11-25T00:00:00Z
constexpr micros usd = micros_per_usd;

budget_config budget(std::optional<micros> daily, std::map<std::string, micros> providers, ppm stop_at = 900'000,
                     duration day_starts = 0s) {
  budget_config b;
  b.daily = daily;
  b.stop_at = stop_at;
  b.day_starts = day_starts;
  b.providers = std::move(providers);
  return b;
}

const day_row* find_row(const std::vector<day_row>& rows, const std::string& day, const std::string& provider) {
  for (const auto& r : rows)
    if (r.day == day && r.provider == provider)
      return &r;
  return nullptr;
}

} // namespace

TEST_CASE("a budget day is named by the UTC date on which it began at day_starts") {
  CHECK(budget_day(nov25, 0s) == "2026-11-25");
  CHECK(budget_day(nov25 - 1us, 0s) == "2026-11-24");
  CHECK(budget_day(nov25 + 5h + 59min, 6h) == "2026-11-24");
  CHECK(budget_day(nov25 + 6h, 6h) == "2026-11-25");
  CHECK(budget_day(instant{std::chrono::seconds(1709247600)}, 0s) == "2024-02-29");
  CHECK(budget_day(instant{} - 1s, 0s) == "1969-12-31");
  CHECK(budget_day_start(budget_day_index(nov25 + 13h, 6h), 6h) == nov25 + 6h);
}

TEST_CASE("the stop line is limit times stop_at in integers without overflow") {
  CHECK(stop_line(200 * usd, 900'000) == 180 * usd);
  CHECK(stop_line(7, 500'000) == 3); // rounds down: never admits past the line
  constexpr micros max = std::numeric_limits<micros>::max();
  CHECK(stop_line(max, ppm_one) == max);
  CHECK(stop_line(max, 900'000) == 8'301'034'833'169'298'226);
  CHECK(stop_line(max, 0) == 0);
}

TEST_CASE("a reservation counts as reserved until it is settled as consumed spend") {
  ledger l{budget(200 * usd, {{"gemini", 200 * usd}}), nov25};
  auto a = l.reserve({1, 0}, "gemini", 39'000, nov25);
  CHECK(a.admitted());
  CHECK(a.estimate == 39'000);
  CHECK(a.reason.empty());
  CHECK(l.reserved("gemini") == 39'000);
  CHECK(l.reserved("") == 39'000);
  CHECK(l.consumed("gemini") == 0);
  CHECK(l.settle({1, 0}, 30'000, nov25 + 1min));
  CHECK(l.reserved("gemini") == 0);
  CHECK(l.consumed("gemini") == 30'000);
  CHECK(l.consumed("") == 30'000);
  CHECK(l.requests("gemini") == 1);
}

TEST_CASE("a provider is admitted exactly at the 90 percent line and refused one micro-dollar over it") {
  ledger l{budget(std::nullopt, {{"gemini", 200 * usd}}), nov25};
  REQUIRE(l.reserve({1, 0}, "gemini", 179'970'000, nov25).admitted());
  REQUIRE(l.settle({1, 0}, 179'970'000, nov25));
  auto over = l.reserve({2, 0}, "gemini", 30'001, nov25);
  CHECK(over.verdict == admit_verdict::over_provider_budget);
  CHECK(over.reason == "budget: gemini 179.970000 + 0.030001 > 90% of 200.000000");
  CHECK(l.reserved("gemini") == 0);
  CHECK(l.reserve({3, 0}, "gemini", 30'000, nov25).admitted());
  CHECK(l.reserve({4, 0}, "gemini", 1, nov25).verdict == admit_verdict::over_provider_budget);
  CHECK(l.reserve({5, 0}, "gemini", 0, nov25).admitted()); // a free item still fits at the line
}

TEST_CASE("the global and the provider limits each refuse with their own verdict and reason") {
  ledger l{budget(10 * usd, {{"gemini", 5 * usd}}, 1'000'000), nov25};
  REQUIRE(l.reserve({1, 0}, "gemini", 4 * usd, nov25).admitted());
  auto provider = l.reserve({2, 0}, "gemini", 2 * usd, nov25);
  CHECK(provider.verdict == admit_verdict::over_provider_budget);
  CHECK(provider.reason == "budget: gemini 4.000000 + 2.000000 > 100% of 5.000000");
  REQUIRE(l.reserve({3, 0}, "sdxl", 5 * usd, nov25).admitted()); // no provider limit: only the global one
  auto global = l.reserve({4, 0}, "sdxl", 2 * usd, nov25);
  CHECK(global.verdict == admit_verdict::over_global_budget);
  CHECK(global.reason == "budget: global 9.000000 + 2.000000 > 100% of 10.000000");
  ledger unlimited{budget(std::nullopt, {}), nov25};
  CHECK(unlimited.reserve({1, 0}, "sdxl", 1'000'000 * usd, nov25).admitted());
}

TEST_CASE("refusals are counted per provider refused and per day, and survive a restore") {
  ledger l{budget(10 * usd, {{"gemini", 5 * usd}}, 1'000'000), nov25};
  REQUIRE(l.reserve({1, 0}, "gemini", 4 * usd, nov25).admitted());
  CHECK_FALSE(l.reserve({2, 0}, "gemini", 2 * usd, nov25).admitted()); // gemini's own line
  REQUIRE(l.reserve({3, 0}, "sdxl", 5 * usd, nov25).admitted());
  CHECK_FALSE(l.reserve({4, 0}, "sdxl", 2 * usd, nov25).admitted()); // the global line, counted at sdxl
  CHECK_FALSE(l.reserve({5, 0}, "sdxl", 2 * usd, nov25).admitted());
  CHECK(l.refused("gemini") == 1);
  CHECK(l.refused("sdxl") == 2);
  CHECK(l.refused("") == 3);
  const auto rows = l.take_dirty();
  REQUIRE(find_row(rows, "2026-11-25", "sdxl"));
  CHECK(find_row(rows, "2026-11-25", "sdxl")->refused == 2);
  ledger after{l.config(), nov25 + 1h};
  after.restore(rows, {});
  CHECK(after.refused("sdxl") == 2);
  after.tick(nov25 + 24h);
  CHECK(after.refused("") == 0); // a new day counts afresh
}

TEST_CASE("reserving the same key twice keeps one reservation") {
  ledger l{budget(std::nullopt, {{"gemini", 1 * usd}}), nov25};
  CHECK(l.reserve({7, 1}, "gemini", 500'000, nov25).admitted());
  auto again = l.reserve({7, 1}, "gemini", 800'000, nov25);
  CHECK(again.admitted());
  CHECK(again.estimate == 500'000);
  CHECK(l.reserved("gemini") == 500'000);
  CHECK(l.open_reservations() == 1);
  CHECK(l.reserve({7, 2}, "gemini", 400'000, nov25).admitted()); // another attempt is another reservation
  CHECK(l.reserved("gemini") == 900'000);
}

TEST_CASE("settle and release each take effect once and a second call returns false") {
  ledger l{budget(std::nullopt, {}), nov25};
  l.reserve({1, 0}, "gemini", 100, nov25);
  l.reserve({2, 0}, "gemini", 100, nov25);
  CHECK(l.settle({1, 0}, 90, nov25));
  CHECK_FALSE(l.settle({1, 0}, 90, nov25));
  CHECK_FALSE(l.release({1, 0}, nov25));
  CHECK(l.release({2, 0}, nov25));
  CHECK_FALSE(l.release({2, 0}, nov25));
  CHECK_FALSE(l.settle({2, 0}, 100, nov25));
  CHECK_FALSE(l.settle({3, 0}, 100, nov25)); // never reserved
  CHECK(l.consumed("gemini") == 90);
  CHECK(l.reserved("gemini") == 0);
  CHECK(l.requests("gemini") == 1);
}

TEST_CASE("a settle above the estimate records the real spend and later admissions see it") {
  ledger l{budget(std::nullopt, {{"gemini", 10 * usd}}, 1'000'000), nov25};
  REQUIRE(l.reserve({1, 0}, "gemini", 1 * usd, nov25).admitted());
  CHECK(l.settle({1, 0}, 9'500'000, nov25));
  CHECK(l.consumed("gemini") == 9'500'000);
  CHECK(l.reserve({2, 0}, "gemini", 600'000, nov25).verdict == admit_verdict::over_provider_budget);
  CHECK(l.reserve({3, 0}, "gemini", 500'000, nov25).admitted());
}

TEST_CASE("the day rolls over at 00:00Z resetting spend and carrying open reservations") {
  ledger l{budget(std::nullopt, {{"gemini", 10 * usd}}, 1'000'000), nov25 + 12h};
  l.take_dirty();
  REQUIRE(l.reserve({1, 0}, "gemini", 4 * usd, nov25 + 12h).admitted());
  REQUIRE(l.settle({1, 0}, 4 * usd, nov25 + 13h));
  REQUIRE(l.reserve({2, 0}, "gemini", 5 * usd, nov25 + 23h).admitted());
  l.tick(nov25 + 24h - 1us);
  CHECK(l.day() == "2026-11-25");
  l.tick(nov25 + 24h);
  CHECK(l.day() == "2026-11-26");
  CHECK(l.consumed("gemini") == 0);
  CHECK(l.requests("gemini") == 0);
  CHECK(l.reserved("gemini") == 5 * usd); // still real exposure
  auto dirty = l.take_dirty();
  const day_row* closed = find_row(dirty, "2026-11-25", "gemini");
  REQUIRE(closed);
  CHECK(closed->consumed == 4 * usd);
  CHECK(closed->reserved == 0);
  CHECK(closed->requests == 1);
  const day_row* today = find_row(dirty, "2026-11-26", "gemini");
  REQUIRE(today);
  CHECK(*today == day_row{"2026-11-26", "gemini", 10 * usd, 0, 5 * usd, 0});
  CHECK(l.reserve({3, 0}, "gemini", 5 * usd, nov25 + 24h).admitted());
  CHECK(l.settle({2, 0}, 5 * usd, nov25 + 25h)); // counts on the day it settled
  CHECK(l.consumed("gemini") == 5 * usd);
}

TEST_CASE("the day rolls over at a 06:00 day_starts and not at midnight") {
  ledger l{budget(std::nullopt, {{"gemini", 10 * usd}}, 1'000'000, 6h), nov25 + 7h};
  REQUIRE(l.reserve({1, 0}, "gemini", 2 * usd, nov25 + 7h).admitted());
  REQUIRE(l.settle({1, 0}, 2 * usd, nov25 + 7h));
  l.tick(nov25 + 24h);
  CHECK(l.day() == "2026-11-25");
  CHECK(l.consumed("gemini") == 2 * usd);
  l.tick(nov25 + 30h - 1us);
  CHECK(l.consumed("gemini") == 2 * usd);
  l.tick(nov25 + 30h);
  CHECK(l.day() == "2026-11-26");
  CHECK(l.consumed("gemini") == 0);
}

TEST_CASE("lowering a limit by reconfigure refuses the next reserve and keeps existing reservations") {
  ledger l{budget(std::nullopt, {{"gemini", 10 * usd}}, 1'000'000), nov25};
  REQUIRE(l.reserve({1, 0}, "gemini", 6 * usd, nov25).admitted());
  l.take_dirty();
  l.reconfigure(budget(std::nullopt, {{"gemini", 5 * usd}}, 1'000'000));
  CHECK(l.reserved("gemini") == 6 * usd);
  auto dirty = l.take_dirty();
  REQUIRE(find_row(dirty, "2026-11-25", "gemini"));
  CHECK(find_row(dirty, "2026-11-25", "gemini")->limit == 5 * usd);
  CHECK(l.reserve({2, 0}, "gemini", 1, nov25).verdict == admit_verdict::over_provider_budget);
  CHECK(l.settle({1, 0}, 6 * usd, nov25));
  CHECK(l.consumed("gemini") == 6 * usd);
  l.reconfigure(budget(std::nullopt, {{"gemini", 20 * usd}}, 1'000'000));
  CHECK(l.reserve({3, 0}, "gemini", 14 * usd, nov25).admitted());
}

TEST_CASE("restore rebuilds today's spend and open reservations without counting anything twice") {
  auto cfg = budget(100 * usd, {{"gemini", 50 * usd}});
  ledger before{cfg, nov25 + 8h};
  before.reserve({1, 0}, "gemini", 3 * usd, nov25 + 8h);
  before.reserve({2, 0}, "sdxl", 2 * usd, nov25 + 8h);
  before.reserve({3, 0}, "gemini", 1 * usd, nov25 + 8h);
  before.settle({1, 0}, 3 * usd, nov25 + 9h);
  auto persisted = before.take_dirty();
  persisted.push_back({"2026-11-24", "gemini", 50 * usd, 40 * usd, 0, 9}); // yesterday: not today's spend

  ledger after{cfg, nov25 + 10h};
  after.restore(persisted, {{{2, 0}, "sdxl", 2 * usd}, {{3, 0}, "gemini", 1 * usd}, {{3, 0}, "gemini", 1 * usd}});
  CHECK(after.rows() == before.rows());
  CHECK(after.consumed("gemini") == 3 * usd);
  CHECK(after.requests("gemini") == 1);
  CHECK(after.reserved("") == 3 * usd);
  CHECK(after.open_reservations() == 2);
  CHECK_FALSE(after.settle({1, 0}, 3 * usd, nov25 + 10h)); // settled before the crash
  CHECK(after.settle({3, 0}, 1 * usd, nov25 + 10h));
  CHECK(after.consumed("gemini") == 4 * usd);
  CHECK(after.take_dirty().size() == after.rows().size());
}

namespace {

/// A reference model of the ledger for the property test: plain sums, recomputed from scratch.
struct model {
  budget_config cfg;
  std::int64_t day = 0;
  std::map<reservation_key, std::pair<std::string, micros>> open;
  std::map<std::string, micros> consumed_today, requests_today;
  std::map<std::pair<std::string, std::string>, std::pair<micros, std::int64_t>> by_day; // (day, provider)
  micros settled_total = 0;

  micros sum(const std::map<std::string, micros>& m, const std::string& who) const {
    micros s = 0;
    for (const auto& [p, v] : m)
      if (who.empty() || p == who)
        s += v;
    return s;
  }
  micros reserved(const std::string& who) const {
    micros s = 0;
    for (const auto& [k, r] : open)
      if (who.empty() || r.first == who)
        s += r.second;
    return s;
  }
  micros exposure(const std::string& who) const { return sum(consumed_today, who) + reserved(who); }
  std::optional<micros> line(const std::string& who) const {
    if (who.empty())
      return cfg.daily ? std::optional<micros>{stop_line(*cfg.daily, cfg.stop_at)} : std::nullopt;
    auto it = cfg.providers.find(who);
    return it == cfg.providers.end() ? std::nullopt : std::optional<micros>{stop_line(it->second, cfg.stop_at)};
  }
  bool fits(const std::string& who, micros estimate) const {
    auto l = line(who);
    return !l || exposure(who) + estimate <= *l;
  }
};

budget_config random_budget(std::mt19937_64& rng, duration day_starts) {
  auto money = [&](micros max) { return static_cast<micros>(rng() % static_cast<std::uint64_t>(max + 1)); };
  budget_config b;
  if (rng() % 4 != 0)
    b.daily = money(60 * usd);
  const ppm stops[] = {500'000, 900'000, 1'000'000};
  b.stop_at = stops[rng() % 3];
  b.day_starts = day_starts;
  for (const char* p : {"gemini", "photomaker", "sdxl"}) // "flux" never has a provider limit
    if (rng() % 5 != 0)
      b.providers[p] = money(25 * usd);
  return b;
}

} // namespace

TEST_CASE("random interleavings never pass a stop line and settle every reservation exactly once") {
  const std::string providers[] = {"", "gemini", "photomaker", "sdxl", "flux"};
  std::size_t admitted = 0, refused = 0, settled = 0, released = 0, repeats = 0, rollovers = 0, restarts = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng{seed};
    const duration day_starts = std::vector<duration>{0s, 6h, 6h + 30min}[seed % 3];
    instant now = nov25 + std::chrono::minutes(rng() % 1440);
    model m;
    m.cfg = random_budget(rng, day_starts);
    m.day = budget_day_index(now, day_starts);
    auto l = std::make_unique<ledger>(m.cfg, now);
    std::map<std::pair<std::string, std::string>, day_row> store; // what persistence holds
    std::vector<reservation_key> finished;
    std::uint64_t next_job = 1;
    auto pick_open = [&] { return std::next(m.open.begin(), static_cast<long>(rng() % m.open.size()))->first; };

    for (int step = 0; step < 2000; ++step) {
      std::map<std::string, micros> before;
      for (const auto& p : providers)
        before[p] = m.exposure(p);
      const auto roll = rng() % 100;
      std::string why;
      if (roll < 40) {
        const bool repeat = !m.open.empty() && rng() % 10 == 0;
        const reservation_key key = repeat ? pick_open() : reservation_key{next_job++, static_cast<int>(rng() % 3)};
        const std::string& p = providers[1 + rng() % 4];
        const micros estimate = static_cast<micros>(rng() % 4'000'001);
        auto a = l->reserve(key, p, estimate, now);
        auto expected = repeat                    ? admit_verdict::admitted
                        : !m.fits(p, estimate)    ? admit_verdict::over_provider_budget
                        : !m.fits("", estimate)   ? admit_verdict::over_global_budget
                                                  : admit_verdict::admitted;
        if (a.verdict != expected)
          why = "reserve answered " + std::string{to_string(a.verdict)};
        repeats += repeat;
        if (!repeat && a.admitted())
          m.open[key] = {p, estimate};
        a.admitted() ? ++admitted : ++refused;
      } else if (roll < 70) {
        const bool stale = m.open.empty() || rng() % 8 == 0;
        const reservation_key key = !stale ? pick_open() : finished.empty() ? reservation_key{next_job++, 0}
                                                                            : finished[rng() % finished.size()];
        const bool settle = rng() % 3 != 0;
        const micros actual = stale ? 1 : static_cast<micros>(rng() % static_cast<std::uint64_t>(m.open[key].second + 1));
        const bool done = settle ? l->settle(key, actual, now) : l->release(key, now);
        if (done == stale)
          why = "settle/release of a " + std::string{stale ? "finished" : "open"} + " key answered " + (done ? "true" : "false");
        if (!stale) {
          const std::string p = m.open[key].first;
          if (settle) {
            m.consumed_today[p] += actual;
            m.requests_today[p] += 1;
            m.settled_total += actual;
            auto& d = m.by_day[{budget_day(now, day_starts), p}];
            d.first += actual;
            d.second += 1;
          }
          m.open.erase(key);
          finished.push_back(key);
          settle ? ++settled : ++released;
        }
      } else if (roll < 92) {
        now += std::chrono::minutes(rng() % 240);
        if (rng() % 2)
          l->tick(now);
      } else if (roll < 97) {
        m.cfg = random_budget(rng, day_starts);
        l->reconfigure(m.cfg);
      } else {
        for (auto& r : l->take_dirty())
          store[{r.day, r.provider}] = r;
        std::vector<day_row> rows;
        for (const auto& [k, r] : store)
          rows.push_back(r);
        std::vector<open_reservation> open;
        for (const auto& [k, r] : m.open)
          open.push_back({k, r.first, r.second});
        l = std::make_unique<ledger>(m.cfg, now);
        l->restore(rows, open);
        ++restarts;
      }
      l->tick(now);
      if (budget_day_index(now, day_starts) > m.day) {
        m.day = budget_day_index(now, day_starts);
        m.consumed_today.clear();
        m.requests_today.clear();
        ++rollovers;
      }
      const bool persist = rng() % 2 == 0; // changes may pile up, across a rollover too, before they are taken
      if (persist)
        for (auto& r : l->take_dirty())
          store[{r.day, r.provider}] = r;
      for (const auto& p : providers) {
        if (l->consumed(p) != m.sum(m.consumed_today, p) || l->reserved(p) != m.reserved(p) ||
            l->requests(p) != m.sum(m.requests_today, p))
          why = "figures of '" + p + "' differ from the model";
        auto stop = m.line(p);
        if (stop && m.exposure(p) > *stop && m.exposure(p) > before[p])
          why = "'" + p + "' grew past its stop line";
      }
      for (const auto& r : l->rows())
        if (persist && !(store[{r.day, r.provider}] == r))
          why = "persisted row of '" + r.provider + "' is stale";
      if (!why.empty())
        FAIL("seed " << seed << " step " << step << ": " << why);
    }
    for (const auto& [k, r] : std::map<reservation_key, std::pair<std::string, micros>>{m.open}) {
      REQUIRE(l->settle(k, r.second, now));
      m.settled_total += r.second;
      auto& d = m.by_day[{budget_day(now, day_starts), r.first}];
      d.first += r.second;
      d.second += 1;
    }
    CHECK(l->reserved("") == 0);
    for (auto& r : l->take_dirty())
      store[{r.day, r.provider}] = r;
    micros persisted_total = 0;
    for (const auto& [k, r] : store) {
      if (r.day != l->day() && r.reserved != 0) {
        FAIL("seed " << seed << ": closed day " << r.day << " still shows reservations");
      } else if (r.provider.empty()) {
        persisted_total += r.consumed;
      } else if (r.consumed != m.by_day[k].first || r.requests != m.by_day[k].second) {
        FAIL("seed " << seed << ": persisted " << r.day << " " << r.provider << " differs from the settles");
      }
    }
    CHECK(persisted_total == m.settled_total); // the sum of settles equals consumed, over every day
  }
  CHECK(admitted > 50'000);
  CHECK(refused > 10'000);
  CHECK(settled > 20'000);
  CHECK(released > 10'000);
  CHECK(repeats > 5'000);
  CHECK(rollovers > 1'000);
  CHECK(restarts > 5'000);
}
