#pragma once
/// Routing rules: which provider a new job goes to, and why. Precedence (contract):
/// kill switch > rolled back > endpoint override > segment override > sticky bucket.

#include "core/config.hpp"

#include <string>
#include <string_view>

namespace cutover::core {

/// What the rollout controller currently says; owned by the controller, read by the router.
struct rollout_view {
  bool rolled_back = false; ///< after a rollback trigger until an operator resumes
  int percent = 0;          ///< the live percentage (config `percent` until the controller moves it)
};

struct route_request {
  std::string_view user_id;
  std::string_view endpoint;
  std::string_view segment;
};

struct route_decision {
  std::string provider;
  int bucket = 0;      ///< 1..100, always computed so it can be stored and explained
  bool candidate = false;
  std::string reason;  ///< e.g. "bucket 37 <= 50", "segment enterprise -> baseline"
};

route_decision decide_route(const rollout_config& rollout, const rollout_view& view, const route_request& req);

} // namespace cutover::core
