#include "core/delivery_schedule.hpp"

#include <algorithm>
#include <cctype>

namespace cutover::core {

std::string receiver_of(std::string_view url) {
  const auto scheme = url.find("://");
  const auto end = scheme == std::string_view::npos ? url.size() : url.find_first_of("/?#", scheme + 3);
  std::string out{url.substr(0, end)};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool delivery_schedule::add(outbox_entry e) {
  const auto id = e.id;
  auto receiver = receiver_of(e.url);
  const bool lane = e.job_hook;
  const auto [it, added] = slots_.emplace(id, slot{std::move(e), receiver, instant{}, 0, false});
  if (added) {
    ++held_[lane];
    ++held_for_[receiver];
  }
  return added;
}

std::size_t delivery_schedule::held_for(const std::string& receiver) const {
  auto it = held_for_.find(receiver);
  return it == held_for_.end() ? 0 : it->second;
}

void delivery_schedule::land(slot& s) {
  if (!s.flying)
    return;
  s.flying = false;
  --flying_[s.e.job_hook];
  if (auto f = flying_to_.find(s.receiver); f != flying_to_.end() && --f->second == 0)
    flying_to_.erase(f);
}

void delivery_schedule::drop(std::map<std::int64_t, slot>::iterator it) {
  auto& s = it->second;
  land(s);
  --held_[s.e.job_hook];
  if (auto h = held_for_.find(s.receiver); h != held_for_.end() && --h->second == 0)
    held_for_.erase(h);
  slots_.erase(it);
}

delivery_schedule::round delivery_schedule::take(instant now) {
  round r;
  for (auto it = slots_.begin(); it != slots_.end();) {
    auto& s = it->second;
    if (s.flying) {
      ++it;
      continue;
    }
    if (now - s.e.created_at >= policy_.max_age) {
      r.expired.push_back(s.e);
      auto gone = it++;
      drop(gone);
      continue;
    }
    auto& to_receiver = flying_to_[s.receiver];
    if (s.due <= now && flying_[s.e.job_hook] < policy_.max_in_flight && to_receiver < policy_.per_receiver) {
      s.flying = true;
      ++flying_[s.e.job_hook];
      ++to_receiver;
      r.send.push_back(s.e);
    } else if (to_receiver == 0) {
      flying_to_.erase(s.receiver); // looked up only: keep the map to receivers with tries under way
    }
    ++it;
  }
  return r;
}

void delivery_schedule::delivered(std::int64_t id) {
  auto it = slots_.find(id);
  if (it != slots_.end())
    drop(it);
}

duration delivery_schedule::backoff_after(int failures) const {
  auto wait = policy_.backoff;
  for (int i = 1; i < failures && wait < policy_.max_backoff; ++i)
    wait *= 2;
  return std::min(wait, policy_.max_backoff);
}

instant delivery_schedule::failed(std::int64_t id, instant now) {
  auto it = slots_.find(id);
  if (it == slots_.end())
    return now;
  auto& s = it->second;
  land(s);
  ++s.failures;
  s.due = now + backoff_after(s.failures);
  return s.due;
}

std::optional<instant> delivery_schedule::next_due() const {
  std::optional<instant> out;
  for (const auto& [id, s] : slots_) {
    if (s.flying)
      continue;
    // one that waits for a free try (its lane's or its receiver's) starts when a try ends; only its expiry is timed
    const auto to = flying_to_.find(s.receiver);
    const bool blocked = flying_[s.e.job_hook] >= policy_.max_in_flight ||
                         (to != flying_to_.end() && to->second >= policy_.per_receiver);
    const auto expires = s.e.created_at + policy_.max_age;
    const auto t = blocked ? expires : std::min(s.due, expires);
    if (!out || t < *out)
      out = t;
  }
  return out;
}

int delivery_schedule::failures(std::int64_t id) const {
  auto it = slots_.find(id);
  return it == slots_.end() ? 0 : it->second.failures;
}

} // namespace cutover::core
