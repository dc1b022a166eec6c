#include "actors/intake.hpp"
#include "core/notify_rules.hpp"
#include "core/log_line.hpp"

#include "core/ledger.hpp"
#include "core/lifecycle.hpp"
#include "core/rate_limits.hpp"
#include "core/routing.hpp"

#include <caf/actor_clock.hpp>
#include <caf/send.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <unordered_map>

namespace cutover::actors {

using namespace cutover::core;

namespace {

struct key_state {
  std::string body_hash;
  job_id id;
  bool stored = false;
  instant created{};
};

/// Someone waiting for a job to end: a lookup with a wait (answered with the job as stored), or a submission that
/// waits (answered with its acceptance and the job's end as the router reported it).
struct waiter {
  std::uint64_t id;
  caf::typed_response_promise<msg::job_lookup> lookup;
  caf::typed_response_promise<msg::submit_outcome> outcome; ///< valid: a submit_and_wait
  msg::submit_reply accepted;                               ///< a submit_and_wait's acceptance
  bool submitted = false;                                   ///< a submit_and_wait: `outcome` answers
  void deliver(msg::job_lookup l) {
    if (submitted)
      outcome.deliver(msg::submit_outcome{accepted, std::move(l)});
    else
      lookup.deliver(std::move(l));
  }
  void deliver(const caf::error& err) {
    if (submitted)
      outcome.deliver(err);
    else
      lookup.deliver(err);
  }
};

struct intake_state {
  msg::jobs_store store;
  msg::router_actor router;
  clock_anchor clock;
  std::uint64_t last_id = 0;
  bool draining = false;
  std::unordered_map<std::string, key_state> keys;
  std::unordered_map<std::uint64_t, std::vector<waiter>> waiters; ///< by job id
  /// When each waiter's wait is up (waiter ids). One timer runs, for the earliest: a timer per waiter put an entry
  /// that outlived its answer by the whole wait into the actor clock for every job the OpenAI endpoint answers.
  std::multimap<caf::actor_clock::time_point, std::uint64_t> deadlines;
  using deadline_pos = decltype(deadlines)::iterator;
  std::unordered_map<std::uint64_t, std::pair<job_id, deadline_pos>> waiter_jobs; ///< waiter id -> job, deadline
  std::optional<caf::actor_clock::time_point> timer_at; ///< when the pending timer fires; none: no timer
  std::uint64_t next_waiter = 1;
  std::vector<job_record> to_route; ///< stored, not yet handed to the router
  core::counter* accepted = nullptr;
  core::counter* throttled = nullptr;
  std::unique_ptr<core::user_rate_limiter> users; ///< null: no per-user rate
  config_ptr cfg;                 ///< for the job's chain and its cost there; null: every job is admissible
  core::admissibility admissible; ///< the ledger's view, pushed at every change
  core::counter* unadmissible = nullptr;
  core::counter* cancel_requests = nullptr;
  std::shared_ptr<core::name_resolver> resolver; ///< null: webhook hosts given by name are not resolved
  struct pending_check {
    msg::submit_job job;
    std::function<void(msg::submit_reply, bool)> done;
  };
  std::unordered_map<std::uint64_t, pending_check> checks; ///< submissions whose webhook host is being resolved
  std::uint64_t next_check = 1;
  static inline const char* name = "intake";
};

using self_ptr = msg::intake_actor::stateful_pointer<intake_state>;

instant now_of(self_ptr self) { return self->state.clock.now(self->clock()); }

/// The providers a job may go to, with what it would cost at each (the estimate its budget admission takes): its
/// chain when the route does not depend on the live percent (overrides, kill switch, or the same answer at 0 and
/// 100 %), else the union of both chains. Intake does not follow the live percent (the router owns it), so a job is
/// refused only when no provider it could be routed to, nor their fallbacks, can take it.
std::vector<chain_link> possible_chain(const config& cfg, const job_spec& spec) {
  const route_request req{spec.user_id, spec.endpoint, spec.segment};
  auto names = provider_chain(cfg, decide_route(cfg.rollout, rollout_view{false, 0}, req).provider);
  for (auto& p : provider_chain(cfg, decide_route(cfg.rollout, rollout_view{false, 100}, req).provider))
    if (std::find(names.begin(), names.end(), p) == names.end())
      names.push_back(std::move(p));
  std::vector<chain_link> out;
  for (auto& name : names) {
    const auto* p = cfg.provider(name);
    out.push_back({std::move(name), p != nullptr ? estimate_cost(*p, spec.tier_, spec.n) : 0});
  }
  return out;
}

msg::submit_reply refuse(msg::submit_error why, std::string message) {
  msg::submit_reply r;
  r.error = why;
  r.message = std::move(message);
  return r;
}

/// What a submission hears: its answer, and whether it stored a new job (false: a refusal or an idempotent repeat).
/// Called on the intake actor; for a new job, before the job goes to the router (a waiter set up in it cannot miss
/// the job's end).
using submitted = std::function<void(msg::submit_reply, bool fresh)>;

void submit(self_ptr self, msg::submit_job& m, submitted done, bool host_checked = false);

/// Resolves the host of `m`'s webhook_url when it is a name, then submits it (or refuses it) on the intake actor;
/// false when there is nothing to resolve (allowed private hosts, no resolver, an address literal).
bool check_webhook_host(self_ptr self, msg::submit_job& m, submitted& done) {
  auto& st = self->state;
  if (!st.resolver || st.cfg->notify.allow_private)
    return false;
  auto host = webhook_host(m.spec.webhook_url);
  if (host.empty() || is_address_literal(host))
    return false;
  const auto token = st.next_check++;
  st.checks.emplace(token, intake_state::pending_check{std::move(m), std::move(done)});
  const auto me = caf::actor_cast<msg::intake_actor>(self);
  st.resolver->resolve(host, [me, token, host](name_resolver::answer a) {
    auto why = resolved_host_problem(host, a.addresses);
    if (!why.empty() && !a.error.empty())
      why += ": " + a.error;
    caf::anon_send(me, msg::webhook_checked{token, std::move(why)});
  });
  return true;
}

void submit(self_ptr self, msg::submit_job& m, submitted done, bool host_checked) {
  auto& st = self->state;
  if (st.draining)
    return done(refuse(msg::submit_error::draining, "the engine is shutting down; retry on another instance or later"),
                false);
  if (!m.spec.webhook_url.empty()) {
    if (!st.cfg || st.cfg->notify.job_secret_env.empty())
      return done(refuse(msg::submit_error::invalid_webhook_url,
                         "this engine calls no job webhooks (notify.job_secret_env is not set)"),
                  false);
    if (auto why = core::webhook_url_problem(m.spec.webhook_url, st.cfg->notify.allow_private); !why.empty())
      return done(refuse(msg::submit_error::invalid_webhook_url, why), false);
    if (!host_checked && check_webhook_host(self, m, done))
      return; // continues at webhook_checked
  }
  const auto now = now_of(self);
  if (!m.idempotency_key.empty()) {
    auto it = st.keys.find(m.idempotency_key);
    if (it != st.keys.end()) {
      const auto& k = it->second;
      if (k.body_hash != m.body_hash)
        return done(refuse(msg::submit_error::idempotency_key_reused,
                           "this Idempotency-Key was used with a different request body"),
                    false);
      if (!k.stored)
        return done(refuse(msg::submit_error::idempotency_in_progress,
                           "a request with this Idempotency-Key is still being stored"),
                    false);
      // the first job as it stands now (it may have finished since)
      const auto id = k.id;
      self->request(st.store, caf::infinite, msg::get_job{id})
        .then(
          [done, id](msg::job_lookup& l) {
            msg::submit_reply r;
            r.id = id;
            r.replayed = true;
            if (l.found)
              r.status = l.job.status;
            done(r, false);
          },
          [done](caf::error& err) {
            done(refuse(msg::submit_error::store_unavailable, "the first job could not be read: " + to_string(err)),
                 false);
          });
      return;
    }
  }
  // after the key: a client retrying a job it already has gets that job, not a 503 or a 429
  if (st.cfg && !st.admissible.empty()) {
    const auto v = st.admissible.check(possible_chain(*st.cfg, m.spec), now);
    if (!v.admissible) {
      st.unadmissible->add();
      auto r = refuse(msg::submit_error::no_provider_admissible,
                      "no provider of this job's chain can take it now: " + v.reason);
      // whole seconds, rounded up: a client that waits that long finds a provider admissible
      r.retry_after_s = std::max<std::int64_t>(
        1, (std::chrono::duration_cast<std::chrono::microseconds>(v.retry_at - now).count() + 999'999) / 1'000'000);
      return done(std::move(r), false);
    }
  }
  if (st.users)
    if (auto wait = st.users->admit(m.spec.user_id, now)) {
      st.throttled->add();
      auto r = refuse(msg::submit_error::rate_limited, "user " + m.spec.user_id + " is over its request rate");
      r.retry_after_s = (wait->count() + 999'999) / 1'000'000;
      return done(std::move(r), false);
    }
  job_record job;
  job.id = job_id{++st.last_id};
  job.spec = std::move(m.spec);
  job.status = job_status::accepted;
  job.created_at = job.updated_at = now;
  job.idempotency_key = m.idempotency_key;
  job.body_hash = m.body_hash;
  if (!m.idempotency_key.empty())
    st.keys[m.idempotency_key] = key_state{m.body_hash, job.id, false, now};
  auto key = m.idempotency_key;
  self->request(st.store, caf::infinite, msg::insert_job{job})
    .then(
      [self, done, key, job](msg::stored) mutable {
        if (!key.empty())
          self->state.keys[key].stored = true;
        msg::submit_reply r;
        r.id = job.id;
        done(r, true);
        self->state.accepted->add();
        if (log_jobs()) {
          log_line line{log_line::buffered};
          line << "event=job_accepted job=" << to_string(job.id) << " tier=" << to_string(job.spec.tier_)
               << " n=" << job.spec.n << " at=" << format_rfc3339(job.created_at);
          if (!job.spec.tenant.empty())
            line << " tenant=" << quoted{job.spec.tenant};
          if (!key.empty())
            line << " idempotency_key=yes";
        }
        // The answers of one commit arrive together; the flush lands behind them, so they go out as one message.
        auto& pending = self->state.to_route;
        if (pending.empty())
          self->send(self, msg::flush_routes{});
        pending.push_back(std::move(job));
      },
      [self, done, key](caf::error& err) {
        if (!key.empty())
          self->state.keys.erase(key);
        done(refuse(msg::submit_error::store_unavailable, "the job could not be stored: " + to_string(err)), false);
      });
}

/// Answers `list` with job `id` as stored now.
void answer(self_ptr self, job_id id, std::vector<waiter> list) {
  self->request(self->state.store, caf::infinite, msg::get_job{id})
    .then(
      [list](msg::job_lookup& found) mutable {
        for (auto& w : list)
          w.deliver(found);
      },
      [list](caf::error& err) mutable {
        for (auto& w : list)
          w.deliver(err);
      });
}

/// Drops waiter `id`'s deadline (it is being answered).
void forget_deadline(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto j = st.waiter_jobs.find(id);
  if (j == st.waiter_jobs.end())
    return;
  st.deadlines.erase(j->second.second);
  st.waiter_jobs.erase(j);
}

/// The job as a submission that waited sees its end: what the router wrote, not read back.
msg::job_lookup ended(const msg::final_job& f) {
  msg::job_lookup l;
  l.found = true;
  l.job.id = f.id;
  l.job.status = f.status;
  l.job.provider = f.provider;
  l.job.images = f.images;
  l.job.cost = f.cost;
  l.job.error = f.error;
  l.job.updated_at = f.at;
  return l;
}

/// Answers every waiter of the job that became final: submissions that waited from what the router reported,
/// lookups with the job as stored (they answer with all of it: attempts, spec, times).
void answer_waiters(self_ptr self, const msg::final_job& f) {
  auto it = self->state.waiters.find(f.id.value);
  if (it == self->state.waiters.end())
    return;
  auto list = std::move(it->second);
  self->state.waiters.erase(it);
  std::vector<waiter> lookups;
  for (auto& w : list) {
    forget_deadline(self, w.id);
    if (w.submitted)
      w.deliver(ended(f));
    else
      lookups.push_back(std::move(w));
  }
  if (!lookups.empty())
    answer(self, f.id, std::move(lookups));
}

/// Sets the timer for the earliest deadline unless one fires no later.
void arm_timer(self_ptr self) {
  auto& st = self->state;
  if (st.deadlines.empty())
    return;
  const auto first = st.deadlines.begin()->first;
  if (st.timer_at && *st.timer_at <= first)
    return;
  st.timer_at = first;
  self->delayed_send(self, first - self->clock().now(), msg::await_expired{});
}

/// Waits for job `id` on behalf of `w` until it ends or `wait` has passed.
void add_waiter(self_ptr self, job_id id, waiter w, duration wait) {
  auto& st = self->state;
  w.id = st.next_waiter++;
  const auto at = self->clock().now() + std::chrono::duration_cast<caf::timespan>(wait);
  st.waiter_jobs[w.id] = {id, st.deadlines.emplace(at, w.id)};
  st.waiters[id.value].push_back(std::move(w));
  arm_timer(self);
}

/// Answers one waiter whose time is up, with the job as it stands.
void expire_waiter(self_ptr self, std::uint64_t waiter_id) {
  auto& st = self->state;
  auto j = st.waiter_jobs.find(waiter_id);
  if (j == st.waiter_jobs.end())
    return;
  auto id = j->second.first;
  st.waiter_jobs.erase(j);
  auto& list = st.waiters[id.value];
  for (auto w = list.begin(); w != list.end(); ++w)
    if (w->id == waiter_id) {
      std::vector<waiter> one{std::move(*w)};
      list.erase(w);
      answer(self, id, std::move(one));
      break;
    }
  if (list.empty())
    st.waiters.erase(id.value);
}

/// The timer fired: answers the waiters whose wait is up, then sets the timer for the next.
void expire_due(self_ptr self) {
  auto& st = self->state;
  const auto now = self->clock().now();
  if (st.timer_at && *st.timer_at <= now)
    st.timer_at.reset();
  while (!st.deadlines.empty() && st.deadlines.begin()->first <= now) {
    const auto w = st.deadlines.begin()->second;
    st.deadlines.erase(st.deadlines.begin());
    expire_waiter(self, w);
  }
  arm_timer(self);
}

caf::result<msg::job_lookup> await(self_ptr self, const msg::await_job& m) {
  auto rp = self->make_response_promise<msg::job_lookup>();
  auto wait = m.wait;
  auto id = m.id;
  self->request(self->state.store, caf::infinite, msg::get_job{id})
    .then(
      [self, rp, wait, id, tenant = m.tenant](msg::job_lookup& found) mutable {
        if (found.found && !tenant_sees(tenant, found.job.spec.tenant))
          found = msg::job_lookup{}; // another tenant's job: to this caller there is none
        if (!found.found || is_final(found.job.status) || wait <= duration{0}) {
          rp.deliver(std::move(found));
          return;
        }
        waiter w;
        w.lookup = rp;
        add_waiter(self, id, std::move(w), wait);
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

/// A submission that waits: the waiter is set up as the job is accepted, before the router has it. An idempotent
/// repeat waits for the first job as a lookup does.
caf::result<msg::submit_outcome> submit_and_wait(self_ptr self, msg::submit_and_wait& m) {
  auto rp = self->make_response_promise<msg::submit_outcome>();
  const auto wait = m.wait;
  const auto tenant = m.job.spec.tenant;
  submit(self, m.job, [self, rp, wait, tenant](msg::submit_reply r, bool fresh) mutable {
    if (r.error != msg::submit_error::none) {
      rp.deliver(msg::submit_outcome{std::move(r), {}});
      return;
    }
    waiter w;
    w.outcome = rp;
    w.accepted = r;
    w.submitted = true;
    const auto id = r.id;
    if (fresh && wait > duration{0}) {
      add_waiter(self, id, std::move(w), wait);
      return;
    }
    self->request(self->state.store, caf::infinite, msg::get_job{id})
      .then(
        [self, w, wait, id, tenant](msg::job_lookup& found) mutable {
          if (found.found && !tenant_sees(tenant, found.job.spec.tenant))
            found = msg::job_lookup{};
          if (!found.found || is_final(found.job.status) || wait <= duration{0})
            w.deliver(std::move(found));
          else
            add_waiter(self, id, std::move(w), wait);
        },
        [w](caf::error& err) mutable { w.deliver(err); });
  });
  return rp;
}

caf::result<msg::replay_reply> replay(self_ptr self, job_id id, const std::string& tenant) {
  auto rp = self->make_response_promise<msg::replay_reply>();
  auto fail = [](msg::replay_error why, std::string message) { return msg::replay_reply{why, std::move(message)}; };
  self->request(self->state.store, caf::infinite, msg::get_job{id})
    .then(
      [self, rp, id, fail, tenant](msg::job_lookup& found) mutable {
        if (!found.found || !tenant_sees(tenant, found.job.spec.tenant)) {
          rp.deliver(fail(msg::replay_error::not_found, "no job " + to_string(id)));
          return;
        }
        if (found.job.status != job_status::dead_lettered) {
          rp.deliver(fail(msg::replay_error::not_dead_lettered,
                          "job " + to_string(id) + " is " + std::string{to_string(found.job.status)} +
                            "; only dead-lettered jobs can be replayed"));
          return;
        }
        self->request(self->state.router, caf::infinite, msg::replay_job{std::move(found.job)})
          .then([rp](msg::stored) mutable { rp.deliver(msg::replay_reply{}); },
                [rp, fail, id](caf::error& err) mutable {
                  if (err == caf::sec::invalid_argument)
                    rp.deliver(fail(msg::replay_error::not_dead_lettered, "job " + to_string(id) + " is already being replayed"));
                  else
                    rp.deliver(fail(msg::replay_error::unavailable, to_string(err)));
                });
      },
      [rp, fail](caf::error& err) mutable { rp.deliver(fail(msg::replay_error::unavailable, to_string(err))); });
  return rp;
}

/// Hands the jobs stored since the last flush to the router now: a cancel sent after them then reaches the router
/// behind them (one sender, one receiver: CAF keeps the order).
void hand_to_router(self_ptr self) {
  auto jobs = std::move(self->state.to_route);
  self->state.to_route.clear();
  if (!jobs.empty())
    self->send(self->state.router, msg::route_jobs{std::move(jobs)});
}

caf::result<msg::cancel_reply> cancel(self_ptr self, const msg::cancel_job& m) {
  auto rp = self->make_response_promise<msg::cancel_reply>();
  const auto id = m.id;
  auto fail = [](msg::cancel_error why, std::string message, job_status status = job_status::accepted) {
    return msg::cancel_reply{why, status, std::move(message)};
  };
  self->request(self->state.store, caf::infinite, msg::get_job{id})
    .then(
      [self, rp, id, fail, tenant = m.tenant](msg::job_lookup& found) mutable {
        if (!found.found || !tenant_sees(tenant, found.job.spec.tenant)) {
          rp.deliver(fail(msg::cancel_error::not_found, "no job " + to_string(id)));
          return;
        }
        const auto status = found.job.status;
        if (is_final(status)) {
          rp.deliver(fail(msg::cancel_error::final,
                          "job " + to_string(id) + " is already " + std::string{to_string(status)}, status));
          return;
        }
        self->state.cancel_requests->add();
        hand_to_router(self);
        self->request(self->state.router, caf::infinite, msg::cancel_flights{{id}})
          .then(
            [rp, id, status, fail](msg::cancel_answer& a) mutable {
              if (!a.not_in_flight.empty()) { // it ended meanwhile; its final state is being written
                rp.deliver(fail(msg::cancel_error::final, "job " + to_string(id) + " has just ended", status));
                return;
              }
              rp.deliver(msg::cancel_reply{msg::cancel_error::none, status, {}});
            },
            [rp, fail](caf::error& err) mutable { rp.deliver(fail(msg::cancel_error::unavailable, to_string(err))); });
      },
      [rp, fail](caf::error& err) mutable { rp.deliver(fail(msg::cancel_error::unavailable, to_string(err))); });
  return rp;
}

/// Erases the user's final jobs in the store and cancels those not final (a later call erases them once they are).
caf::result<msg::erase_reply> erase(self_ptr self, const msg::erase_user& m) {
  auto rp = self->make_response_promise<msg::erase_reply>();
  self->request(self->state.store, caf::infinite, msg::erase_user_jobs{m.user_id, m.tenant})
    .then(
      [self, rp](msg::erased_jobs& e) mutable {
        msg::erase_reply r{e.result.erased, e.result.open.size()};
        if (e.result.open.empty()) {
          rp.deliver(r);
          return;
        }
        hand_to_router(self);
        self->request(self->state.router, caf::infinite, msg::cancel_flights{std::move(e.result.open)})
          .then(
            [rp, r](msg::cancel_answer& a) mutable {
              r.cancelled -= a.not_in_flight.size(); // ended meanwhile: final now, erased by the next call
              rp.deliver(r);
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

void forget_old_keys(self_ptr self) {
  const auto horizon = now_of(self) - defaults::idempotency_ttl;
  auto& keys = self->state.keys;
  for (auto it = keys.begin(); it != keys.end();)
    it = it->second.stored && it->second.created < horizon ? keys.erase(it) : std::next(it);
}

} // namespace

msg::intake_actor spawn_intake(caf::actor_system& sys, msg::jobs_store store, msg::router_actor router,
                               clock_anchor clock, core::metrics_ptr metrics, core::user_rate_config user_rate,
                               core::config_ptr cfg, std::shared_ptr<core::name_resolver> resolver) {
  auto fn = [](self_ptr self, msg::jobs_store store, msg::router_actor router, clock_anchor clock,
               core::metrics_ptr metrics, core::user_rate_config user_rate, core::config_ptr cfg,
               std::shared_ptr<core::name_resolver> resolver) -> msg::intake_actor::behavior_type {
    auto& st = self->state;
    st.cfg = std::move(cfg);
    st.resolver = std::move(resolver);
    if (user_rate.per_minute > 0)
      st.users = std::make_unique<core::user_rate_limiter>(user_rate.per_minute, user_rate.burst);
    if (!metrics)
      metrics = std::make_shared<core::metrics_registry>();
    st.accepted = &metrics->get_counter("cutover_jobs_accepted_total", {}, "Jobs stored and answered 202.");
    st.throttled = &metrics->get_counter("cutover_jobs_throttled_total", {}, "Jobs refused 429 for a user's rate.");
    st.unadmissible = &metrics->get_counter("cutover_jobs_unadmissible_total", {},
                                            "Jobs refused 503 because no provider of their chain could take them.");
    st.cancel_requests = &metrics->get_counter("cutover_jobs_cancel_requests_total", {},
                                               "Jobs asked to be cancelled (DELETE /v1/jobs/{id}).");
    st.store = std::move(store);
    st.router = std::move(router);
    st.clock = clock;
    // Nothing is taken before the next id and the recent keys are known.
    self->request(st.store, caf::infinite, msg::load_boot{now_of(self) - defaults::idempotency_ttl})
      .await(
        [self](msg::boot_state& b) {
          self->state.last_id = b.max_job_id;
          for (auto& k : b.keys)
            self->state.keys[k.key] = key_state{k.body_hash, k.id, true, now_of(self)};
        },
        [self](caf::error& err) {
          core::log_line{} << "event=intake_boot_failed error=" << to_string(err);
          self->quit(err);
        });
    return {
      [self](msg::submit_job& m) {
        auto rp = self->make_response_promise<msg::submit_reply>();
        submit(self, m, [rp](msg::submit_reply r, bool) mutable { rp.deliver(std::move(r)); });
        return rp;
      },
      // second: a flush follows every burst of submissions, and CAF tries the handlers in order
      [self](msg::flush_routes) { hand_to_router(self); },
      [self](msg::webhook_checked& c) {
        auto it = self->state.checks.find(c.token);
        if (it == self->state.checks.end())
          return;
        auto pending = std::move(it->second);
        self->state.checks.erase(it);
        if (!c.problem.empty())
          return pending.done(refuse(msg::submit_error::invalid_webhook_url, c.problem), false);
        submit(self, pending.job, std::move(pending.done), true);
      },
      [self](const msg::await_job& m) { return await(self, m); },
      [self](msg::submit_and_wait& m) { return submit_and_wait(self, m); },
      [self](const msg::jobs_final& m) {
        for (const auto& f : m.jobs)
          answer_waiters(self, f);
        if (self->state.keys.size() > 100000)
          forget_old_keys(self);
        if (self->state.users && self->state.users->tracked_users() > 100000)
          self->state.users->prune(now_of(self));
      },
      [self](msg::await_expired) { expire_due(self); },
      [self](msg::start_drain) { self->state.draining = true; },
      [self](const msg::replay_dead_letter& m) { return replay(self, m.id, m.tenant); },
      [self](msg::admissibility_update& u) { self->state.admissible = std::move(u.view); },
      [self](const msg::config_snapshot& c) {
        if (self->state.cfg)
          self->state.cfg = c.cfg;
        const auto& u = c.cfg->server.user_rate;
        auto& users = self->state.users;
        if (u.per_minute <= 0)
          users.reset();
        else if (users)
          users->reconfigure(u.per_minute, u.burst);
        else
          users = std::make_unique<core::user_rate_limiter>(u.per_minute, u.burst);
      },
      [self](const msg::cancel_job& m) { return cancel(self, m); },
      [self](const msg::erase_user& m) { return erase(self, m); },
    };
  };
  return sys.spawn(fn, std::move(store), std::move(router), clock, std::move(metrics), user_rate, std::move(cfg),
                   std::move(resolver));
}

} // namespace cutover::actors
