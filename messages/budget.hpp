#pragma once
/// The ledger's protocol: the one owner of budgets. Admission reserves an item's estimated cost (or refuses it, with
/// the figures); settlement turns a reservation into spend, or releases it. Its daily rows go to the store.

#include "core/ledger.hpp"
#include "messages/admissibility.hpp"
#include "messages/config.hpp"
#include "messages/budget_store.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

struct admission_request {
  core::reservation_key key;
  std::string provider;
  core::micros estimate = 0;
};
struct admit { std::vector<admission_request> requests; };
struct admit_result { std::vector<core::admission> verdicts; }; ///< in the order of the requests

struct settlement {
  core::reservation_key key;
  core::micros actual = 0;
  bool release = false; ///< no call happened: drop the reservation, count nothing
};
struct settle { std::vector<settlement> items; };

/// Today's live rows and the persisted rows of the last `days` days.
struct budget_query { int days = 7; };
struct budget_report {
  std::string today;
  std::vector<core::day_row> rows; ///< oldest day first; today's rows are the ledger's own, live
  std::vector<std::pair<std::string, core::micros>> stop_lines; ///< per provider ("" = global) today
};
/// Internal: roll the day over when due, and persist.
struct budget_tick {};
/// Per day and provider figures of the last `days` budget days (today included).
struct stats_query { int days = 7; };

template <class I> auto inspect(I& f, admission_request& x) {
  return f(caf::meta::type_name("admission_request"), x.key, x.provider, x.estimate);
}
template <class I> auto inspect(I& f, admit& x) { return f(caf::meta::type_name("admit"), x.requests); }
template <class I> auto inspect(I& f, admit_result& x) { return f(caf::meta::type_name("admit_result"), x.verdicts); }
template <class I> auto inspect(I& f, settlement& x) {
  return f(caf::meta::type_name("settlement"), x.key, x.actual, x.release);
}
template <class I> auto inspect(I& f, settle& x) { return f(caf::meta::type_name("settle"), x.items); }
template <class I> auto inspect(I& f, budget_query& x) { return f(caf::meta::type_name("budget_query"), x.days); }
template <class I> auto inspect(I& f, budget_report& x) {
  return f(caf::meta::type_name("budget_report"), x.today, x.rows, x.stop_lines);
}
template <class I> auto inspect(I& f, budget_tick&) { return f(caf::meta::type_name("budget_tick")); }
template <class I> auto inspect(I& f, stats_query& x) { return f(caf::meta::type_name("stats_query"), x.days); }

using ledger_actor = caf::typed_actor<
  caf::replies_to<admit>::with<admit_result>,
  caf::reacts_to<settle>,
  caf::replies_to<budget_query>::with<budget_report>,
  caf::replies_to<stats_query>::with<daily_stats>,
  caf::reacts_to<budget_tick>,
  caf::reacts_to<config_snapshot>,
  caf::reacts_to<watch_admissibility>,
  caf::replies_to<admissibility_query>::with<admissibility_update>,
  caf::reacts_to<provider_admissibility>>;

} // namespace cutover::msg

namespace cutover::core {
template <class I> auto inspect(I& f, admission& x) { return f(x.verdict, x.estimate, x.reason); }
} // namespace cutover::core
