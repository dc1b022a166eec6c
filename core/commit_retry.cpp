#include "core/commit_retry.hpp"

#include <algorithm>

namespace cutover::core {

commit_retry::verdict commit_retry::failed(std::size_t held) {
  ++failures_;
  verdict v;
  if (failures_ >= limits_.max_failures) {
    v.stop = true;
    v.reason = std::to_string(failures_) + " commits in a row failed";
    return v;
  }
  if (held > limits_.max_held_bytes) {
    v.stop = true;
    v.reason = std::to_string(held) + " bytes held for a retry (limit " + std::to_string(limits_.max_held_bytes) + ")";
    return v;
  }
  auto wait = limits_.first_backoff;
  for (int i = 1; i < failures_ && wait < limits_.max_backoff; ++i)
    wait *= 2;
  v.wait = std::min(wait, limits_.max_backoff);
  return v;
}

std::size_t held_bytes(const write_batch& b) {
  std::size_t n = 0;
  for (const auto& j : b.inserts)
    n += sizeof j + j.spec.prompt.size() + j.spec.metadata.size() + j.spec.user_id.size() + j.idempotency_key.size();
  for (const auto& e : b.events) {
    n += sizeof e + e.text.size() + e.provider.size() + e.attempt.remote_id.size() + e.attempt.provider.size();
    for (const auto& i : e.images)
      n += i.size();
  }
  n += b.budget_rows.size() * sizeof(day_row) + b.rollout.size() * sizeof(rollout_status);
  for (const auto& d : b.decisions)
    n += sizeof d + d.reason.size() + d.items.size() * sizeof(decision_item);
  n += b.feedback.size() * sizeof(audit_store::feedback_row) + b.trips.size() * sizeof(audit_store::trip_row);
  for (const auto& x : b.notices)
    n += sizeof x + x.type.size() + x.data.size();
  n += b.delivered.size() * sizeof(std::int64_t);
  return n;
}

} // namespace cutover::core
