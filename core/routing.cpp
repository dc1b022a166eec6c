#include "core/routing.hpp"

#include "core/bucket.hpp"

namespace cutover::core {

namespace {
const char* target_name(override_target t) { return t == override_target::baseline ? "baseline" : "candidate"; }
} // namespace

route_decision decide_route(const rollout_config& rollout, const rollout_view& view, const route_request& req) {
  route_decision d;
  d.bucket = sticky_bucket(rollout.name, req.user_id);
  auto pick = [&](bool candidate, std::string reason) {
    d.candidate = candidate;
    d.provider = candidate ? rollout.candidate : rollout.baseline;
    d.reason = std::move(reason);
    return d;
  };
  if (!rollout.enabled)
    return pick(false, "kill switch -> baseline");
  if (view.rolled_back)
    return pick(false, "rolled back -> baseline");
  if (!req.endpoint.empty()) {
    if (auto it = rollout.endpoint_overrides.find(std::string{req.endpoint}); it != rollout.endpoint_overrides.end())
      return pick(it->second == override_target::candidate,
                  "endpoint " + it->first + " -> " + target_name(it->second));
  }
  if (!req.segment.empty()) {
    if (auto it = rollout.segment_overrides.find(std::string{req.segment}); it != rollout.segment_overrides.end())
      return pick(it->second == override_target::candidate,
                  "segment " + it->first + " -> " + target_name(it->second));
  }
  const bool on = in_rollout(d.bucket, view.percent);
  return pick(on, "bucket " + std::to_string(d.bucket) + (on ? " <= " : " > ") + std::to_string(view.percent));
}

bool pull_back(const rollout_config& rollout, const rollout_view& view, const route_request& req,
               std::string_view provider, bool primary) {
  if (!primary || provider != rollout.candidate || rollout.candidate == rollout.baseline)
    return false;
  return !decide_route(rollout, view, req).candidate;
}

} // namespace cutover::core
