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

/// Whether work already routed to `provider` goes back to the baseline now that the view is `view` (a rollback,
/// the kill switch, or a percent lowered below the user's bucket). Only the candidate's own users are pulled
/// back: an item that reached the candidate by falling back (`primary` false) stays, the baseline having failed it.
bool pull_back(const rollout_config& rollout, const rollout_view& view, const route_request& req,
               std::string_view provider, bool primary);

} // namespace cutover::core
