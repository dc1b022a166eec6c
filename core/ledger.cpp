#include "core/ledger.hpp"

#include <cassert>
#include <cstdio>
#include <utility>

namespace cutover::core {

namespace {

constexpr std::int64_t micros_per_day = 86'400'000'000;

/// Howard Hinnant's civil_from_days: days since 1970-01-01 -> proleptic Gregorian date.
std::string format_date(std::int64_t days) {
  days += 719'468;
  const std::int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const std::int64_t doe = days - era * 146'097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[80]; // room for any int64 fields, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y), static_cast<long long>(m),
                static_cast<long long>(d));
  return buf;
}

/// 900'000 -> "90%", 905'000 -> "90.5%".
std::string format_percent(ppm p) {
  char buf[32];
  int whole = p / 10'000;
  int frac = p % 10'000;
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%d%%", whole);
  } else {
    int digits = 4;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    std::snprintf(buf, sizeof buf, "%d.%0*d%%", whole, digits, frac);
  }
  return buf;
}

} // namespace

std::int64_t budget_day_index(instant now, duration day_starts) {
  const std::int64_t t = (now - day_starts).time_since_epoch().count();
  return t / micros_per_day - (t % micros_per_day < 0 ? 1 : 0);
}

instant budget_day_start(std::int64_t index, duration day_starts) {
  return instant{duration{index * micros_per_day}} + day_starts;
}

std::string budget_day(instant now, duration day_starts) {
  return format_date(budget_day_index(now, day_starts));
}

micros estimate_cost(const provider_config& p, tier t, int n) {
  assert(n >= 0);
  return p.cost_per_image[static_cast<std::size_t>(t)] * n;
}

std::string_view to_string(admit_verdict v) {
  switch (v) {
    case admit_verdict::admitted: return "admitted";
    case admit_verdict::over_provider_budget: return "over_provider_budget";
    case admit_verdict::over_global_budget: return "over_global_budget";
  }
  return "?";
}

micros stop_line(micros limit, ppm stop_at) {
  assert(limit >= 0 && stop_at >= 0 && stop_at <= ppm_one);
  // (q * 1e6 + r) * s / 1e6 = q * s + r * s / 1e6, each term within int64 for s <= 1e6.
  return (limit / ppm_one) * stop_at + (limit % ppm_one) * stop_at / ppm_one;
}

ledger::ledger(budget_config cfg, instant now)
  : cfg_(std::move(cfg)), day_index_(budget_day_index(now, cfg_.day_starts)), day_(format_date(day_index_)) {
  assert(cfg_.stop_at >= 0 && cfg_.stop_at <= ppm_one);
  for (const auto& r : rows())
    dirty_.insert(r.provider);
}

admission ledger::reserve(reservation_key key, const std::string& provider, micros estimate, instant now) {
  assert(estimate >= 0 && !provider.empty());
  tick(now);
  if (auto it = open_.find(key); it != open_.end())
    return {admit_verdict::admitted, it->second.estimate, {}};
  static const std::string global;
  for (const std::string* who : {&provider, &global}) {
    auto stop = line(*who);
    if (!stop)
      continue;
    const micros exposure = consumed(*who) + reserved(*who);
    if (exposure > *stop || estimate > *stop - exposure) {
      const bool is_global = who->empty();
      ++accounts_[provider].refused; // counted at the provider refused, whichever line refused it
      touch(provider);
      return {is_global ? admit_verdict::over_global_budget : admit_verdict::over_provider_budget, estimate,
              "budget: " + (is_global ? std::string{"global"} : *who) + " " + format_usd(exposure) + " + " +
                format_usd(estimate) + " > " + format_percent(cfg_.stop_at) + " of " + format_usd(*limit_of(*who))};
    }
  }
  open_.emplace(key, entry{provider, estimate});
  accounts_[provider].reserved += estimate;
  touch(provider);
  return {admit_verdict::admitted, estimate, {}};
}

std::optional<ledger::entry> ledger::take(reservation_key key) {
  auto it = open_.find(key);
  if (it == open_.end())
    return std::nullopt;
  entry e = std::move(it->second);
  open_.erase(it);
  auto& acc = accounts_[e.provider];
  acc.reserved -= e.estimate;
  assert(acc.reserved >= 0); // reserved is exactly the sum of the provider's open estimates
  touch(e.provider);
  return e;
}

bool ledger::settle(reservation_key key, micros actual, instant now) {
  assert(actual >= 0);
  tick(now);
  auto e = take(key);
  if (!e)
    return false;
  auto& acc = accounts_[e->provider];
  acc.consumed += actual;
  ++acc.requests;
  return true;
}

bool ledger::release(reservation_key key, instant now) {
  tick(now);
  return take(key).has_value();
}

void ledger::tick(instant now) {
  const std::int64_t index = budget_day_index(now, cfg_.day_starts);
  if (index <= day_index_)
    return;
  // Close the old day: its final figures, with the open reservations moved out to the new day.
  std::set<std::string> closing = dirty_;
  closing.insert("");
  for (const auto& [name, acc] : accounts_)
    closing.insert(name);
  for (const auto& name : closing) {
    day_row r = row_of(name);
    r.reserved = 0;
    closed_.push_back(std::move(r));
  }
  day_index_ = index;
  day_ = format_date(index);
  for (auto it = accounts_.begin(); it != accounts_.end();) {
    if (it->second.reserved == 0) {
      it = accounts_.erase(it);
    } else {
      it->second.consumed = 0;
      it->second.requests = 0;
      it->second.refused = 0;
      ++it;
    }
  }
  dirty_.clear();
  for (const auto& r : rows())
    dirty_.insert(r.provider);
}

void ledger::reconfigure(budget_config cfg) {
  assert(cfg.stop_at >= 0 && cfg.stop_at <= ppm_one);
  cfg_ = std::move(cfg);
  for (const auto& r : rows()) // the limit column may have changed
    dirty_.insert(r.provider);
}

void ledger::restore(const std::vector<day_row>& persisted, const std::vector<open_reservation>& open) {
  accounts_.clear();
  open_.clear();
  dirty_.clear();
  closed_.clear();
  for (const auto& r : persisted) {
    if (r.day != day_ || r.provider.empty())
      continue;
    auto& acc = accounts_[r.provider];
    acc.consumed = r.consumed;
    acc.requests = r.requests;
    acc.refused = r.refused;
  }
  for (const auto& o : open)
    if (open_.emplace(o.key, entry{o.provider, o.estimate}).second)
      accounts_[o.provider].reserved += o.estimate;
  for (const auto& r : rows())
    dirty_.insert(r.provider);
}

std::vector<day_row> ledger::rows() const {
  std::set<std::string> names{""};
  for (const auto& [name, limit] : cfg_.providers)
    names.insert(name);
  for (const auto& [name, acc] : accounts_)
    names.insert(name);
  std::vector<day_row> out;
  out.reserve(names.size());
  for (const auto& name : names)
    out.push_back(row_of(name));
  return out;
}

std::vector<day_row> ledger::take_dirty() {
  std::vector<day_row> out = std::move(closed_);
  closed_.clear();
  for (const auto& name : dirty_)
    out.push_back(row_of(name));
  dirty_.clear();
  return out;
}

std::int64_t ledger::sum(const std::string& provider, std::int64_t account::*field) const {
  std::int64_t total = 0;
  for (const auto& [name, acc] : accounts_)
    if (provider.empty() || name == provider)
      total += acc.*field;
  return total;
}

micros ledger::consumed(const std::string& provider) const { return sum(provider, &account::consumed); }
micros ledger::reserved(const std::string& provider) const { return sum(provider, &account::reserved); }
std::int64_t ledger::requests(const std::string& provider) const { return sum(provider, &account::requests); }
std::int64_t ledger::refused(const std::string& provider) const { return sum(provider, &account::refused); }

std::optional<micros> ledger::limit_of(const std::string& provider) const {
  if (provider.empty())
    return cfg_.daily;
  auto it = cfg_.providers.find(provider);
  return it == cfg_.providers.end() ? std::nullopt : std::optional<micros>{it->second};
}

std::optional<micros> ledger::line(const std::string& provider) const {
  auto limit = limit_of(provider);
  return limit ? std::optional<micros>{stop_line(*limit, cfg_.stop_at)} : std::nullopt;
}

day_row ledger::row_of(const std::string& provider) const {
  return {day_,         provider, limit_of(provider), consumed(provider), reserved(provider), requests(provider),
          refused(provider)};
}

void ledger::touch(const std::string& provider) {
  dirty_.insert(provider);
  dirty_.insert("");
}

} // namespace cutover::core
