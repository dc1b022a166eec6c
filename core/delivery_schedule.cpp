#include "core/delivery_schedule.hpp"

#include <algorithm>

namespace cutover::core {

bool delivery_schedule::add(outbox_entry e) {
  const auto id = e.id;
  return slots_.emplace(id, slot{std::move(e), instant{}, 0, false}).second;
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
      r.expired.push_back(std::move(s.e));
      it = slots_.erase(it);
      continue;
    }
    if (s.due <= now && flying_ < policy_.max_in_flight) {
      s.flying = true;
      ++flying_;
      r.send.push_back(s.e);
    }
    ++it;
  }
  return r;
}

void delivery_schedule::delivered(std::int64_t id) {
  auto it = slots_.find(id);
  if (it == slots_.end())
    return;
  if (it->second.flying)
    --flying_;
  slots_.erase(it);
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
  if (s.flying) {
    s.flying = false;
    --flying_;
  }
  ++s.failures;
  s.due = now + backoff_after(s.failures);
  return s.due;
}

std::optional<instant> delivery_schedule::next_due() const {
  std::optional<instant> out;
  for (const auto& [id, s] : slots_) {
    if (s.flying)
      continue;
    const auto t = std::min(s.due, s.e.created_at + policy_.max_age);
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
