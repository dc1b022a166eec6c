#pragma once
/// The store actor's whole protocol: the single owner of the SQLite file serves the three role protocols (jobs,
/// budget, rollout audit) and commits what all of them buffered in one transaction. Clients hold a role handle
/// (jobs_store, budget_store, audit_store, job_reads), never this one; only the wiring does.

#include "messages/audit_store.hpp"
#include "messages/budget_store.hpp"
#include "messages/config.hpp"
#include "messages/jobs_store.hpp"
#include "messages/notify.hpp"

namespace cutover::msg {

/// Internal: commit what is buffered.
struct store_flush {};
/// Internal: time to delete dead letters older than the retention.
struct sweep_due {};
/// Internal: the last sweep of final jobs filled its batch; sweep the next one (behind the writes queued meanwhile).
struct sweep_more {};
/// The store's own timer: write the probe row (readiness knows the store commits even when the engine is idle).
struct probe_due {};
/// Internal: time to try again a commit that failed.
struct store_retry {};

template <class I> auto inspect(I& f, store_flush&) { return f(caf::meta::type_name("store_flush")); }
template <class I> auto inspect(I& f, sweep_due&) { return f(caf::meta::type_name("sweep_due")); }
template <class I> auto inspect(I& f, sweep_more&) { return f(caf::meta::type_name("sweep_more")); }
template <class I> auto inspect(I& f, probe_due&) { return f(caf::meta::type_name("probe_due")); }
template <class I> auto inspect(I& f, store_retry&) { return f(caf::meta::type_name("store_retry")); }

using store_actor = jobs_store::extend_with<budget_store, audit_store, outbox_store>::extend<
  caf::reacts_to<store_flush>,
  caf::reacts_to<sweep_due>,
  caf::reacts_to<sweep_more>,
  caf::reacts_to<probe_due>,
  caf::reacts_to<store_retry>,
  caf::reacts_to<config_snapshot>>;

} // namespace cutover::msg
