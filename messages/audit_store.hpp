#pragma once
/// The store's rollout-audit protocol: the rollout's state, its decision rows, clients' ratings and breaker trips.
/// Writes join the store's next commit and are answered once on disk (a failed commit keeps them for the next).
/// The rollout controller holds this handle; the router and the HTTP edge only read through it.

#include "messages/store_rows.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

/// The rollout's new state and decision rows.
struct record_rollout {
  std::vector<core::rollout_status> status; ///< empty: unchanged
  std::vector<core::decision_record> decisions;
};
struct load_rollout {};
struct rollout_loaded {
  bool found = false;
  core::rollout_status status;
};
struct load_decisions {
  core::instant since{};
  std::int64_t before_id = 0;
  std::size_t limit = 50;
};
struct decision_list { std::vector<core::decision_record> decisions; };
struct record_feedback { core::audit_store::feedback_row row; };
struct load_feedback { core::instant since{}; };
struct feedback_list { std::vector<core::audit_store::feedback_row> rows; };
struct record_trip { core::audit_store::trip_row row; };
struct load_trips { core::instant since{}; };
struct trip_list { std::vector<core::audit_store::trip_row> rows; };

template <class I> auto inspect(I& f, record_rollout& x) {
  return f(caf::meta::type_name("record_rollout"), x.status, x.decisions);
}
template <class I> auto inspect(I& f, load_rollout&) { return f(caf::meta::type_name("load_rollout")); }
template <class I> auto inspect(I& f, rollout_loaded& x) {
  return f(caf::meta::type_name("rollout_loaded"), x.found, x.status);
}
template <class I> auto inspect(I& f, load_decisions& x) {
  return f(caf::meta::type_name("load_decisions"), x.since, x.before_id, x.limit);
}
template <class I> auto inspect(I& f, decision_list& x) { return f(caf::meta::type_name("decision_list"), x.decisions); }
template <class I> auto inspect(I& f, record_feedback& x) { return f(caf::meta::type_name("record_feedback"), x.row); }
template <class I> auto inspect(I& f, load_feedback& x) { return f(caf::meta::type_name("load_feedback"), x.since); }
template <class I> auto inspect(I& f, feedback_list& x) { return f(caf::meta::type_name("feedback_list"), x.rows); }
template <class I> auto inspect(I& f, record_trip& x) { return f(caf::meta::type_name("record_trip"), x.row); }
template <class I> auto inspect(I& f, load_trips& x) { return f(caf::meta::type_name("load_trips"), x.since); }
template <class I> auto inspect(I& f, trip_list& x) { return f(caf::meta::type_name("trip_list"), x.rows); }

/// Reading the rollout's stored state, nothing else (the router, at start).
using rollout_reads = caf::typed_actor<caf::replies_to<load_rollout>::with<rollout_loaded>>;

using audit_store = caf::typed_actor<
  caf::replies_to<record_rollout>::with<stored>,
  caf::replies_to<load_rollout>::with<rollout_loaded>,
  caf::replies_to<load_decisions>::with<decision_list>,
  caf::replies_to<record_feedback>::with<stored>,
  caf::replies_to<load_feedback>::with<feedback_list>,
  caf::replies_to<record_trip>::with<stored>,
  caf::replies_to<load_trips>::with<trip_list>>;

} // namespace cutover::msg
