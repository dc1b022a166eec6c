#pragma once
/// The store's budget protocol: the ledger's day rows (written with the store's next commit) and what the ledger
/// restores from and reports. Only the ledger holds this handle.

#include "messages/store_rows.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

/// The ledger's changed day rows: written in the next commit (no answer; a failed commit keeps them for the next).
struct note_budget { std::vector<core::day_row> rows; };
/// What the ledger restores from at start (see core::budget_store::budget_state).
struct load_budget {
  core::instant day_start{};
  std::string day;
};
struct budget_state { core::budget_store::budget_snapshot snapshot; };
/// Persisted day rows since a day ("YYYY-MM-DD").
struct load_budget_days { std::string since_day; };
struct budget_days { std::vector<core::day_row> rows; };
/// Per day and provider figures since an instant.
struct load_daily_stats {
  core::instant since{};
  core::duration day_starts{0};
};
struct daily_stats { std::vector<core::budget_store::daily_stat> stats; };

template <class I> auto inspect(I& f, note_budget& x) { return f(caf::meta::type_name("note_budget"), x.rows); }
template <class I> auto inspect(I& f, load_budget& x) {
  return f(caf::meta::type_name("load_budget"), x.day_start, x.day);
}
template <class I> auto inspect(I& f, budget_state& x) { return f(caf::meta::type_name("budget_state"), x.snapshot); }
template <class I> auto inspect(I& f, load_budget_days& x) {
  return f(caf::meta::type_name("load_budget_days"), x.since_day);
}
template <class I> auto inspect(I& f, budget_days& x) { return f(caf::meta::type_name("budget_days"), x.rows); }
template <class I> auto inspect(I& f, load_daily_stats& x) {
  return f(caf::meta::type_name("load_daily_stats"), x.since, x.day_starts);
}
template <class I> auto inspect(I& f, daily_stats& x) { return f(caf::meta::type_name("daily_stats"), x.stats); }

using budget_store = caf::typed_actor<
  caf::reacts_to<note_budget>,
  caf::replies_to<load_budget>::with<budget_state>,
  caf::replies_to<load_budget_days>::with<budget_days>,
  caf::replies_to<load_daily_stats>::with<daily_stats>>;

} // namespace cutover::msg
