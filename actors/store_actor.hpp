#pragma once
/// The store actor: sole owner of the database, serving the jobs, budget and rollout-audit protocols. Group commit:
/// the first write into an empty buffer schedules a flush message behind everything already queued, so one
/// transaction covers the writes of every role; each write is answered after its commit. A failed commit refuses
/// its new jobs (never acknowledged) and keeps every other write, in order, at the head of the next commit, tried
/// again after a backoff on the actor clock; past core::commit_retry_limits the store stops with an error, which
/// stops the engine (the next start recovers from disk). On the actor clock it deletes dead letters older than
/// their retention, final jobs older than jobs.retention (a bounded batch at a time, so commits interleave), and
/// image files no job has referred to for images.retention. With a store that keeps an outbox (SQLite), each commit also writes the notices its rows cause
/// (core/notify_rules) and their deliveries, and tells the watchers of the outbox (the notifier) when it added some.

#include "actors/clock.hpp"
#include "core/commit_retry.hpp"
#include "core/config.hpp"
#include "core/images.hpp"
#include "core/metrics.hpp"
#include "core/ports.hpp"
#include "messages/store.hpp"

#include <memory>

namespace caf { class actor_system; }

namespace cutover::actors {

struct store_options {
  bool detached = false; ///< serve: its own thread for the blocking SQLite calls; tests: on the test scheduler
  clock_anchor clock;
  core::duration dead_letter_retention = core::defaults::dead_letter_retention;
  core::duration sweep_every = std::chrono::hours(1);
  core::metrics_ptr metrics; ///< null: a private registry
  core::commit_retry_limits retry; ///< backoff after a failed commit, and when to give up
  core::notify_config notify;      ///< who is told of what (a reload replaces it)
  /// How often the probe row is written (readiness); 0: never (tests of other things, simulate).
  core::duration probe_every{0};
  /// The image files the sweep deletes from (serve); null: no images to sweep (simulate writes none).
  std::shared_ptr<core::image_port> images{};
  core::duration images_retention = core::defaults::images_retention; ///< a reload replaces it
  core::duration jobs_retention = core::defaults::jobs_retention; ///< final jobs older than this are swept
};

msg::store_actor spawn_store(caf::actor_system& sys, std::shared_ptr<core::store_db> db, store_options opts = {});

} // namespace cutover::actors
