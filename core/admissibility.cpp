#include "core/admissibility.hpp"

#include <algorithm>

namespace cutover::core {

std::string_view to_string(block_reason r) {
  switch (r) {
  case block_reason::budget: return "budget";
  case block_reason::hourly_limit: return "hourly_limit";
  case block_reason::daily_limit: return "daily_limit";
  case block_reason::breaker: return "breaker";
  }
  return "unknown";
}

bool admissibility::block(const std::string& provider, block_reason reason, instant until, std::string why,
                          micros room) {
  provider_block b{until, std::move(why), room};
  auto [it, inserted] = blocks_.try_emplace({provider, reason}, b);
  if (inserted)
    return true;
  if (it->second == b)
    return false;
  it->second = std::move(b);
  return true;
}

bool admissibility::clear(const std::string& provider, block_reason reason) {
  return blocks_.erase({provider, reason}) > 0;
}

instant admissibility::admissible_at(const std::string& provider, instant now, micros cost) const {
  instant at = now;
  for (const auto& [key, b] : blocks_)
    if ((key.first == provider || key.first == every_provider) && cost > b.room)
      at = std::max(at, b.until);
  return at;
}

chain_verdict admissibility::check(const std::vector<chain_link>& chain, instant now) const {
  chain_verdict v;
  bool first = true;
  for (const auto& link : chain) {
    const auto at = admissible_at(link.provider, now, link.cost);
    if (at <= now)
      return chain_verdict{};
    v.retry_at = first ? at : std::min(v.retry_at, at);
    first = false;
  }
  if (first)
    return v; // an empty chain: nothing says no
  v.admissible = false;
  for (const auto& [key, b] : blocks_) {
    if (b.until <= now)
      continue;
    const bool on_chain = key.first == every_provider ||
                          std::any_of(chain.begin(), chain.end(), [&](const chain_link& l) { return l.provider == key.first; });
    if (!on_chain)
      continue;
    if (!v.reason.empty())
      v.reason += "; ";
    v.reason += (key.first.empty() ? std::string{"every provider"} : key.first) + ": " +
                std::string{to_string(key.second)} + " until " + format_rfc3339(b.until) +
                (b.why.empty() ? "" : " (" + b.why + ")");
  }
  return v;
}

std::optional<block_reason> admissibility::stopped_by(const std::string& provider, instant now) const {
  std::optional<block_reason> out;
  // the reason that stops the most first: an open breaker takes nothing, a budget with room takes some work
  auto rank = [](block_reason r) {
    switch (r) {
    case block_reason::breaker: return 0;
    case block_reason::daily_limit: return 1;
    case block_reason::hourly_limit: return 2;
    case block_reason::budget: return 3;
    }
    return 4;
  };
  for (const auto& [key, b] : blocks_)
    if ((key.first == provider || key.first == every_provider) && b.until > now &&
        (!out || rank(key.second) < rank(*out)))
      out = key.second;
  return out;
}

std::vector<std::pair<std::pair<std::string, block_reason>, provider_block>> admissibility::blocks(instant now) const {
  std::vector<std::pair<std::pair<std::string, block_reason>, provider_block>> out;
  for (const auto& e : blocks_)
    if (e.second.until > now)
      out.push_back(e);
  return out;
}

void admissibility::prune(instant now) {
  for (auto it = blocks_.begin(); it != blocks_.end();)
    it = it->second.until <= now ? blocks_.erase(it) : std::next(it);
}

} // namespace cutover::core
