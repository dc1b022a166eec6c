#pragma once
/// Batching and provider protocols: router -> batcher[provider, tier] -> provider supervisor -> worker,
/// and outcomes back. A batch with a `remote_id` resumes polling a remote job instead of submitting again.

#include "core/job.hpp"
#include "core/images.hpp"
#include "core/ports.hpp"
#include "messages/config.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

struct enqueue_items { std::vector<core::work_item> items; };
/// Internal to a batcher: the window of `generation` reached its max_wait.
struct window_due { std::uint64_t generation = 0; };

struct provider_batch {
  std::uint64_t batch_id = 0; ///< assigned by the provider supervisor
  core::tier tier_ = core::tier::sd;
  std::vector<core::work_item> items;
  std::string remote_id;        ///< set: resume polling this remote job
  core::instant submitted_at{}; ///< when the remote job was submitted (for the poll schedule)
};
/// Worker -> supervisor: the provider accepted the batch as a remote job, and that is on disk (or every try to
/// write it failed: a restarted worker must still poll it rather than create another).
struct remote_accepted {
  std::uint64_t batch_id = 0;
  std::string remote_id;
  core::instant submitted_at{};
};
/// Worker -> supervisor -> router: results of items (each exactly once downstream of the supervisor).
struct outcomes {
  std::uint64_t batch_id = 0;
  std::vector<core::item_outcome> items;
};
/// Internal to a worker: a provider call answered.
struct call_done {
  std::uint64_t batch_id = 0;
  std::uint64_t call_id = 0;
  core::provider_reply reply;
};
/// Internal to a worker: time to poll the remote job of a batch.
struct poll_due { std::uint64_t batch_id = 0; };
/// Internal to a worker: time to retry a failed call.
struct retry_call {
  std::uint64_t batch_id = 0;
  std::uint64_t call_id = 0;
};
/// Internal to a worker: the open breaker's `open_for` has passed (time to half-open, log and export it).
struct breaker_due {};
/// Internal to a worker: write the remote id of a batch again (try number `try_no`), the last write failed.
struct store_remote_id {
  std::uint64_t batch_id = 0;
  int try_no = 1;
};

/// Router -> the candidate's batchers and provider supervisor (-> worker) at a rollback: take back these items
/// (matched by job id and attempt) where they wait — in a batch window, or for a retry or a concurrency slot —
/// and, with `cancel_running`, cancel at the provider the remote jobs all of whose items are recalled. A worker
/// reports what it took back as outcomes with `recalled` set; a call on the wire is left to answer.
struct recall_items {
  std::vector<core::work_item> items;
  bool cancel_running = false;
  bool by_client = false; ///< the client cancelled the job (DELETE /v1/jobs/{id}), not a rollback: said in the log
};
/// A batcher's answer: the items it took out of its window (they never reached the provider).
struct recalled_items { std::vector<core::work_item> items; };

/// Internal to a worker: the images of item `index` of held outcomes `hold` are stored (or failed to be).
struct images_stored {
  std::uint64_t hold = 0;
  std::size_t index = 0;
  core::stored_images result;
};
/// Internal to a worker: held outcomes `hold` waited images.download_timeout for their images.
struct images_due { std::uint64_t hold = 0; };
/// Worker -> its supervisor: the outcomes of batch `batch_id` are held until their images are on disk. The provider
/// has answered (and billed): a drain waits for them as for a call on the wire, so the outcome is reported and
/// settled before the engine exits, and the next start does not call again for it.
struct images_storing { std::uint64_t batch_id = 0; };

/// Serve -> provider supervisor at shutdown: start no new calls; answered once no call is on the wire (a sync
/// call, or an async submit whose remote id is not known yet). Remote jobs being polled need not end: their ids are
/// on disk and the next start polls them again.
struct drain_calls {};
struct drained {
  std::size_t held = 0; ///< batches not started because of the drain (their jobs resume at the next start)
};

template <class I> auto inspect(I& f, images_stored& x) {
  return f(caf::meta::type_name("images_stored"), x.hold, x.index, x.result.error, x.result.message,
           x.result.digests);
}
template <class I> auto inspect(I& f, images_due& x) { return f(caf::meta::type_name("images_due"), x.hold); }
template <class I> auto inspect(I& f, images_storing& x) {
  return f(caf::meta::type_name("images_storing"), x.batch_id);
}
template <class I> auto inspect(I& f, drain_calls&) { return f(caf::meta::type_name("drain_calls")); }
template <class I> auto inspect(I& f, drained& x) { return f(caf::meta::type_name("drained"), x.held); }
template <class I> auto inspect(I& f, recall_items& x) {
  return f(caf::meta::type_name("recall_items"), x.items, x.cancel_running, x.by_client);
}
template <class I> auto inspect(I& f, recalled_items& x) { return f(caf::meta::type_name("recalled_items"), x.items); }
template <class I> auto inspect(I& f, enqueue_items& x) { return f(caf::meta::type_name("enqueue_items"), x.items); }
template <class I> auto inspect(I& f, window_due& x) { return f(caf::meta::type_name("window_due"), x.generation); }
template <class I> auto inspect(I& f, provider_batch& x) {
  return f(caf::meta::type_name("provider_batch"), x.batch_id, x.tier_, x.items, x.remote_id, x.submitted_at);
}
template <class I> auto inspect(I& f, remote_accepted& x) {
  return f(caf::meta::type_name("remote_accepted"), x.batch_id, x.remote_id, x.submitted_at);
}
template <class I> auto inspect(I& f, outcomes& x) { return f(caf::meta::type_name("outcomes"), x.batch_id, x.items); }
template <class I> auto inspect(I& f, call_done& x) {
  return f(caf::meta::type_name("call_done"), x.batch_id, x.call_id, x.reply);
}
template <class I> auto inspect(I& f, poll_due& x) { return f(caf::meta::type_name("poll_due"), x.batch_id); }
template <class I> auto inspect(I& f, retry_call& x) {
  return f(caf::meta::type_name("retry_call"), x.batch_id, x.call_id);
}
template <class I> auto inspect(I& f, breaker_due&) { return f(caf::meta::type_name("breaker_due")); }
template <class I> auto inspect(I& f, store_remote_id& x) {
  return f(caf::meta::type_name("store_remote_id"), x.batch_id, x.try_no);
}

/// The face of a provider (its supervisor); batchers send to it.
using provider_actor = caf::typed_actor<
  caf::reacts_to<provider_batch>,
  caf::replies_to<drain_calls>::with<drained>,
  caf::reacts_to<remote_accepted>,
  caf::reacts_to<outcomes>,
  caf::reacts_to<images_storing>,
  caf::reacts_to<recall_items>,
  caf::reacts_to<config_snapshot>>;

/// The worker behind a supervisor: does the calls, retries and polls.
using provider_worker_actor = caf::typed_actor<
  caf::reacts_to<provider_batch>,
  caf::reacts_to<call_done>,
  caf::reacts_to<poll_due>,
  caf::reacts_to<retry_call>,
  caf::reacts_to<store_remote_id>,
  caf::reacts_to<breaker_due>,
  caf::reacts_to<recall_items>,
  caf::reacts_to<images_stored>,
  caf::reacts_to<images_due>,
  caf::reacts_to<config_snapshot>>;

using batcher_actor = caf::typed_actor<
  caf::reacts_to<enqueue_items>,
  caf::reacts_to<window_due>,
  caf::replies_to<recall_items>::with<recalled_items>,
  caf::reacts_to<config_snapshot>>;

} // namespace cutover::msg

namespace cutover::core {
template <class I> auto inspect(I& f, provider_reply::item& x) {
  return f(x.id, x.error, x.message, x.images, x.quality);
}
template <class I> auto inspect(I& f, provider_reply& x) {
  return f(x.k, x.remote_id, x.error, x.message, x.retry_after, x.no_retry, x.poll_failed, x.unanswered, x.items,
           x.delay);
}
} // namespace cutover::core
