#pragma once
/// The admissibility view's protocol. The ledger owns the view (budget blocks are its own; the rate limits and
/// breakers of the providers report theirs to it) and pushes every change to its watchers (intake), so a
/// submission costs no round trip; readiness asks for it.

#include "core/admissibility.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

/// The whole view, as it is now; `now` is the owner's clock when it was sent (readiness asks what holds then).
struct admissibility_update {
  core::admissibility view;
  core::instant now{};
};
/// Who hears every change of the view.
using admissibility_sink = caf::typed_actor<caf::reacts_to<admissibility_update>>;
/// Subscribe `sink` (told at once of the current view, then of every change).
struct watch_admissibility { admissibility_sink sink; };
/// Ask for the current view (readiness).
struct admissibility_query {};
/// A provider's own reason changed: `blocked` = blocked until `until`, else the block ended.
struct provider_admissibility {
  std::string provider;
  core::block_reason reason = core::block_reason::breaker;
  bool blocked = false;
  core::instant until{};
  std::string why;
};

/// Where providers report their own blocks (the ledger, owner of the view).
using admissibility_reports = caf::typed_actor<caf::reacts_to<provider_admissibility>>;

template <class I> auto inspect(I& f, admissibility_update& x) {
  return f(caf::meta::type_name("admissibility_update"), x.view, x.now);
}
template <class I> auto inspect(I& f, watch_admissibility& x) {
  return f(caf::meta::type_name("watch_admissibility"), x.sink);
}
template <class I> auto inspect(I& f, admissibility_query&) { return f(caf::meta::type_name("admissibility_query")); }
template <class I> auto inspect(I& f, provider_admissibility& x) {
  return f(caf::meta::type_name("provider_admissibility"), x.provider, x.reason, x.blocked, x.until, x.why);
}

} // namespace cutover::msg
