#pragma once
/// The store's jobs protocol: job rows, their events and attempts. Writes are grouped with every other role's into
/// the store's next transaction; each write is answered only after its commit. Intake, the router and the providers
/// hold this handle; the rollout controller holds the read-only job_reads.

#include "messages/store_rows.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

/// A new job: answered once on disk, or with an error when its commit failed (the job is then not kept).
struct insert_job { core::job_record job; };
/// Events of jobs: answered once on disk. A failed commit keeps them for the next one (they are never dropped).
struct record_events { std::vector<core::job_event> events; };
/// The same, without an answer (progress whose loss in a crash costs nothing: the next step rewrites it).
struct note_events { std::vector<core::job_event> events; };
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
/// Dead-lettered jobs, newest first: of one tenant, or of all when `tenant` is empty.
struct list_dead_letters {
  std::size_t limit = 100;
  std::string tenant;
};
struct job_list { std::vector<core::job_record> jobs; };
/// A page of jobs for an operator (GET /v1/jobs), newest first, without images.
struct list_jobs { core::job_store::job_query query; };
/// Erase a user's final jobs (DELETE /v1/users/{id}/jobs); answered with what was erased and what is not final.
struct erase_user_jobs {
  std::string user_id;
  std::string tenant; ///< "": of every tenant
};
struct erased_jobs { core::job_store::erase_result result; };
/// The result cache (cache.enabled): earlier answers to these jobs' requests, made at or after `since`.
struct find_cached {
  std::vector<core::job_store::cache_query> queries;
  core::instant since{};
};
struct cached_results { std::vector<core::job_store::cache_answer> answers; };
/// Attempts finished after a cursor and before `until`, oldest first, a page of at most `limit` (the rollout
/// controller rebuilds its figures from them at start).
struct load_finished_attempts {
  core::job_store::attempt_cursor after;
  core::instant until{};
  std::size_t limit = 0;
};
struct finished_attempts { std::vector<core::job_store::finished_attempt> attempts; };
struct load_call_starts {
  std::string provider;
  core::instant since{};
};
struct call_starts { std::vector<core::instant> starts; };

template <class I> auto inspect(I& f, insert_job& x) { return f(caf::meta::type_name("insert_job"), x.job); }
template <class I> auto inspect(I& f, record_events& x) { return f(caf::meta::type_name("record_events"), x.events); }
template <class I> auto inspect(I& f, note_events& x) { return f(caf::meta::type_name("note_events"), x.events); }
template <class I> auto inspect(I& f, get_job& x) { return f(caf::meta::type_name("get_job"), x.id); }
template <class I> auto inspect(I& f, job_lookup& x) { return f(caf::meta::type_name("job_lookup"), x.found, x.job); }
template <class I> auto inspect(I& f, load_open_jobs&) { return f(caf::meta::type_name("load_open_jobs")); }
template <class I> auto inspect(I& f, open_jobs& x) { return f(caf::meta::type_name("open_jobs"), x.jobs); }
template <class I> auto inspect(I& f, load_boot& x) { return f(caf::meta::type_name("load_boot"), x.keys_since); }
template <class I> auto inspect(I& f, boot_state& x) { return f(caf::meta::type_name("boot_state"), x.max_job_id, x.keys); }
template <class I> auto inspect(I& f, list_dead_letters& x) {
  return f(caf::meta::type_name("list_dead_letters"), x.limit, x.tenant);
}
template <class I> auto inspect(I& f, job_list& x) { return f(caf::meta::type_name("job_list"), x.jobs); }
template <class I> auto inspect(I& f, list_jobs& x) { return f(caf::meta::type_name("list_jobs"), x.query); }
template <class I> auto inspect(I& f, erase_user_jobs& x) {
  return f(caf::meta::type_name("erase_user_jobs"), x.user_id, x.tenant);
}
template <class I> auto inspect(I& f, erased_jobs& x) { return f(caf::meta::type_name("erased_jobs"), x.result); }
template <class I> auto inspect(I& f, find_cached& x) {
  return f(caf::meta::type_name("find_cached"), x.queries, x.since);
}
template <class I> auto inspect(I& f, cached_results& x) { return f(caf::meta::type_name("cached_results"), x.answers); }
template <class I> auto inspect(I& f, load_finished_attempts& x) {
  return f(caf::meta::type_name("load_finished_attempts"), x.after, x.until, x.limit);
}
template <class I> auto inspect(I& f, finished_attempts& x) {
  return f(caf::meta::type_name("finished_attempts"), x.attempts);
}
template <class I> auto inspect(I& f, load_call_starts& x) {
  return f(caf::meta::type_name("load_call_starts"), x.provider, x.since);
}
template <class I> auto inspect(I& f, call_starts& x) { return f(caf::meta::type_name("call_starts"), x.starts); }

/// Reading jobs and finished attempts, nothing else.
using job_reads = caf::typed_actor<
  caf::replies_to<get_job>::with<job_lookup>,
  caf::replies_to<load_finished_attempts>::with<finished_attempts>>;

using jobs_store = job_reads::extend<
  caf::replies_to<insert_job>::with<stored>,
  caf::replies_to<record_events>::with<stored>,
  caf::reacts_to<note_events>,
  caf::replies_to<load_open_jobs>::with<open_jobs>,
  caf::replies_to<load_boot>::with<boot_state>,
  caf::replies_to<list_dead_letters>::with<job_list>,
  caf::replies_to<list_jobs>::with<job_list>,
  caf::replies_to<erase_user_jobs>::with<erased_jobs>,
  caf::replies_to<find_cached>::with<cached_results>,
  caf::replies_to<load_call_starts>::with<call_starts>>;

} // namespace cutover::msg
