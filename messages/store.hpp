#pragma once
/// The store's protocol: the single owner of the SQLite file. Writes are grouped: every write that arrives while
/// a commit is pending joins the next transaction, and each is answered only after its commit.

#include "core/job.hpp"
#include "core/ports.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

struct insert_job { core::job_record job; };
struct record_events { std::vector<core::job_event> events; };
/// The same, without an answer (progress whose loss in a crash costs nothing: the next step rewrites it).
struct note_events { std::vector<core::job_event> events; };
/// Answer to a write: it is on disk.
struct stored { std::size_t rows = 0; };
struct get_job { core::job_id id; };
struct job_lookup {
  bool found = false;
  core::job_record job;
};
struct load_open_jobs {};
struct open_jobs { std::vector<core::job_record> jobs; };
/// What intake needs at start: the next job id and the recent idempotency keys.
struct load_boot { core::instant keys_since; };
struct boot_state {
  std::uint64_t max_job_id = 0;
  std::vector<core::job_store::key_entry> keys;
};
/// Internal: commit what is buffered.
struct store_flush {};
/// Dead-lettered jobs, newest first.
struct list_dead_letters { std::size_t limit = 100; };
struct job_list { std::vector<core::job_record> jobs; };
/// Internal: time to delete dead letters older than the retention.
struct sweep_due {};

template <class I> auto inspect(I& f, insert_job& x) { return f(caf::meta::type_name("insert_job"), x.job); }
template <class I> auto inspect(I& f, record_events& x) { return f(caf::meta::type_name("record_events"), x.events); }
template <class I> auto inspect(I& f, note_events& x) { return f(caf::meta::type_name("note_events"), x.events); }
template <class I> auto inspect(I& f, stored& x) { return f(caf::meta::type_name("stored"), x.rows); }
template <class I> auto inspect(I& f, get_job& x) { return f(caf::meta::type_name("get_job"), x.id); }
template <class I> auto inspect(I& f, job_lookup& x) { return f(caf::meta::type_name("job_lookup"), x.found, x.job); }
template <class I> auto inspect(I& f, load_open_jobs&) { return f(caf::meta::type_name("load_open_jobs")); }
template <class I> auto inspect(I& f, open_jobs& x) { return f(caf::meta::type_name("open_jobs"), x.jobs); }
template <class I> auto inspect(I& f, load_boot& x) { return f(caf::meta::type_name("load_boot"), x.keys_since); }
template <class I> auto inspect(I& f, boot_state& x) { return f(caf::meta::type_name("boot_state"), x.max_job_id, x.keys); }
template <class I> auto inspect(I& f, store_flush&) { return f(caf::meta::type_name("store_flush")); }
template <class I> auto inspect(I& f, list_dead_letters& x) {
  return f(caf::meta::type_name("list_dead_letters"), x.limit);
}
template <class I> auto inspect(I& f, job_list& x) { return f(caf::meta::type_name("job_list"), x.jobs); }
template <class I> auto inspect(I& f, sweep_due&) { return f(caf::meta::type_name("sweep_due")); }

using store_actor = caf::typed_actor<
  caf::replies_to<insert_job>::with<stored>,
  caf::replies_to<record_events>::with<stored>,
  caf::reacts_to<note_events>,
  caf::replies_to<get_job>::with<job_lookup>,
  caf::replies_to<load_open_jobs>::with<open_jobs>,
  caf::replies_to<load_boot>::with<boot_state>,
  caf::replies_to<list_dead_letters>::with<job_list>,
  caf::reacts_to<store_flush>,
  caf::reacts_to<sweep_due>>;

} // namespace cutover::msg

namespace cutover::core {
template <class I> auto inspect(I& f, job_store::key_entry& x) { return f(x.key, x.body_hash, x.id); }
} // namespace cutover::core
