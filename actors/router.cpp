#include "actors/router.hpp"
#include "actors/router_meters.hpp"
#include "core/log_line.hpp"
#include "core/images.hpp"
#include "core/metric_catalog.hpp"

#include "core/ledger.hpp"
#include "core/lifecycle.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace cutover::actors {

using namespace cutover::core;

namespace {

/// A job between routing and its final state.
struct flight {
  std::vector<std::string> chain; ///< primary provider, then its fallbacks
  int chain_pos = 0;              ///< the provider of the attempt in progress (or being admitted)
  work_item item;                 ///< item.attempt_no is the attempt in progress
  int bucket = 0;                 ///< set on the first routing only (0: keep the stored one)
  std::string endpoint, segment;  ///< of the job's spec: a rollback asks the routing rules again
  std::string route_reason;
  micros spent = 0;
  int attempt_base = 0; ///< attempts made before a dead-letter replay: not counted against max_attempts again
  bool replay = false;  ///< the next routed event is a replay
  instant created_at{}; ///< when the job was accepted: its user wait runs from here to final
  /// The client cancelled it: it ends `cancelled` at its next step (admitted, taken out of a window or from its
  /// provider, or its call answered), never going further down its chain.
  bool cancelling = false;
};

struct router_state {
  config_ptr cfg;
  rollout_view view;
  bool view_from_controller = false; ///< the controller has told its live view (it wins over the stored state)
  /// Restored rolled back: when the rollback happened (the cancel clock of work still at the candidate runs from
  /// there, not from the restart).
  std::optional<instant> rolled_back_at;
  msg::jobs_store store;
  msg::rollout_reads rollout_store;
  msg::ledger_actor ledger;
  clock_anchor clock;
  msg::router_wiring wiring;
  std::unordered_map<std::uint64_t, flight> flights;
  /// Jobs resumed at start. A job accepted while the start loaded what to resume can be both among them and sent
  /// by intake: it is routed once (twice would call, and pay, twice).
  std::unordered_set<std::uint64_t> resumed;
  std::uint64_t resumed_max = 0;
  metrics_ptr metrics;
  gauge* in_flight = nullptr;
  std::unique_ptr<router_meters> meters;
  bool ratio_ticking = false; ///< a meter_due is pending: the fallback ratio is republished as events age out
  /// Who waits until no job is at the candidate any more (a rollback drill); answered from apply().
  std::vector<caf::typed_response_promise<msg::at_candidate>> drain_waiters;
  /// New jobs whose earlier answer the store is looking for (cache.enabled); true: cancelled meanwhile.
  std::unordered_map<std::uint64_t, bool> cache_lookups;
  counter* cache_hits = nullptr;
  static inline const char* name = "router";
};

using self_ptr = msg::router_actor::stateful_pointer<router_state>;

/// The effects of one message: events to record, admissions to ask for, items per batcher, final jobs,
/// reservations to settle.
struct effects {
  std::vector<job_event> events;
  std::vector<job_id> admit;
  std::map<std::pair<std::string, tier>, std::vector<work_item>> enqueue;
  std::vector<msg::final_job> finals;
  std::vector<msg::settlement> settle;
  msg::observe observed; ///< for the rollout controller
};

instant now_of(self_ptr self) { return self->state.clock.now(self->clock()); }

job_event event(job_id id, event_kind kind, job_status status, instant at) {
  job_event e;
  e.id = id;
  e.kind = kind;
  e.status = status;
  e.at = at;
  return e;
}

void count(self_ptr self, const std::string& name, const labels& l, const std::string& help) {
  self->state.metrics->get_counter(name, l, help).add();
}

/// The longest free text (an error) a job line carries: enough to grep, never a provider's whole answer.
constexpr std::size_t log_text_max = 200;

void finish(self_ptr self, effects& fx, job_id id, job_status status, instant now, std::vector<std::string> images,
            std::string error) {
  auto e = event(id, event_kind::finished, status, now);
  msg::final_job fin{id, status, {}, images, 0, error, now};
  e.images = std::move(images);
  e.text = std::move(error);
  auto it = self->state.flights.find(id.value);
  if (it != self->state.flights.end()) {
    const auto& f = it->second;
    e.cost = f.spent;
    fin.cost = f.spent;
    if (f.chain_pos >= 0 && static_cast<std::size_t>(f.chain_pos) < f.chain.size())
      fin.provider = f.chain[static_cast<std::size_t>(f.chain_pos)];
    if (log_jobs()) {
      const auto& provider = f.chain.empty() ? std::string{} : f.chain[static_cast<std::size_t>(f.chain_pos)];
      log_line line{log_line::buffered};
      line << "event=job_final job=" << to_string(id) << " status=" << to_string(status) << " provider=" << provider
           << " cost_usd=" << format_usd(f.spent) << " wait_ms="
           << std::chrono::duration_cast<std::chrono::milliseconds>(now - f.created_at).count()
           << " attempts=" << f.item.attempt_no - f.attempt_base << " at=" << format_rfc3339(now);
      if (!e.text.empty())
        line << " error=" << quoted{std::string_view{e.text}.substr(0, log_text_max)};
    }
    self->state.flights.erase(it);
  }
  fx.events.push_back(std::move(e));
  fx.finals.push_back(std::move(fin));
  self->state.meters->finished(status, now);
}

/// The item goes to chain[chain_pos] once the ledger admits it.
void dispatch(effects& fx, flight& f) { fx.admit.push_back(f.item.id); }

/// Routes a job from the start of its chain; `replay` sends a dead letter round again (its earlier attempts stay
/// on record but no longer count).
void route_new(self_ptr self, effects& fx, const job_record& job, bool replay = false) {
  auto& st = self->state;
  auto d = decide_route(st.cfg->rollout, st.view, {job.spec.user_id, job.spec.endpoint, job.spec.segment});
  flight f;
  f.chain = provider_chain(*st.cfg, d.provider);
  f.attempt_base = replay && !job.attempts.empty() ? job.attempts.back().no : 0;
  f.item = work_item{job.id, f.attempt_base + 1, job.spec.tier_, job.spec.n, job.spec.prompt, job.spec.user_id};
  f.bucket = d.bucket;
  f.endpoint = job.spec.endpoint;
  f.segment = job.spec.segment;
  f.route_reason = replay ? "replay: " + d.reason : d.reason;
  f.replay = replay;
  f.created_at = job.created_at;
  for (const auto& a : job.attempts)
    f.spent += a.cost;
  dispatch(fx, st.flights[job.id.value] = std::move(f));
}

/// Moves a job along its chain past a provider that could not take it; dead-letters it past the end.
void next_in_chain(self_ptr self, effects& fx, flight& f, const std::string& why, std::string_view reason,
                   instant now) {
  f.route_reason += "; " + why;
  if (log_jobs())
    log_line{log_line::buffered} << "event=job_fell_back job=" << to_string(f.item.id)
                                 << " from=" << f.chain[static_cast<std::size_t>(f.chain_pos)] << " to="
                                 << (static_cast<std::size_t>(f.chain_pos) + 1 < f.chain.size()
                                       ? f.chain[static_cast<std::size_t>(f.chain_pos) + 1]
                                       : std::string{"none"})
                                 << " cause=" << reason << " reason=" << quoted{why} << " at=" << format_rfc3339(now);
  if (static_cast<std::size_t>(f.chain_pos) + 1 >= f.chain.size()) {
    self->state.meters->fell_back(f.chain[static_cast<std::size_t>(f.chain_pos)], "none", reason, now);
    finish(self, fx, f.item.id, job_status::dead_lettered, now, {}, why + "; no provider left in the chain");
    return;
  }
  self->state.meters->fell_back(f.chain[static_cast<std::size_t>(f.chain_pos)],
                                f.chain[static_cast<std::size_t>(f.chain_pos) + 1], reason, now);
  ++f.chain_pos;
  dispatch(fx, f);
}

cohort cohort_of(self_ptr self, const std::string& provider) {
  const auto& r = self->state.cfg->rollout;
  return provider == r.candidate ? cohort::candidate : provider == r.baseline ? cohort::baseline : cohort::other;
}

/// Jobs whose current attempt is at the candidate: in its batch windows, being admitted, waiting there for a slot or
/// a retry, or on the wire. O(jobs in flight): asked for by a drill, not per message.
std::int64_t at_candidate(self_ptr self) {
  const auto& candidate = self->state.cfg->rollout.candidate;
  std::int64_t n = 0;
  for (const auto& [id, f] : self->state.flights)
    n += f.chain[static_cast<std::size_t>(f.chain_pos)] == candidate;
  return n;
}

/// Whether the routing view now sends this flight's work at the candidate back to the baseline (core rule).
bool pulled_back(self_ptr self, const flight& f) {
  const auto& st = self->state;
  return pull_back(st.cfg->rollout, st.view, {f.item.user_id, f.endpoint, f.segment},
                   f.chain[static_cast<std::size_t>(f.chain_pos)], f.chain_pos == 0);
}

/// Routes a flight taken back from the candidate again from the start, as the routing rules now say (the baseline
/// after a rollback). The caller has settled its candidate reservation and chosen its attempt number.
void reroute(self_ptr self, effects& fx, flight& f, const char* where) {
  auto& st = self->state;
  auto d = decide_route(st.cfg->rollout, st.view, {f.item.user_id, f.endpoint, f.segment});
  f.chain = provider_chain(*st.cfg, d.provider);
  f.chain_pos = 0;
  f.route_reason += "; pulled back (" + std::string{where} + "): " + d.reason;
  count(self, "cutover_rollback_recalls_total", {{"from", std::string{where}}},
        "Items taken back from the candidate after a rollback and routed again.");
  dispatch(fx, f);
}

/// The reason a cancelled job's record gives.
constexpr const char* cancelled_text = "cancelled by the client";

/// The outcome of a cancelled job's attempt: recorded and charged as it is (a recalled remote job that may have
/// run: its reservation; a call that answered: its cost), then the job ends `cancelled`, whatever the outcome.
void end_cancelled(self_ptr self, effects& fx, flight& f, item_outcome& o, instant now) {
  f.spent += o.cost;
  const bool called = o.recalled || (o.error != error_class::breaker_open && o.error != error_class::budget_exhausted &&
                                     o.error != error_class::over_limit);
  fx.settle.push_back(msg::settlement{reservation_key{o.id.value, o.attempt_no}, o.cost, !called});
  if (!o.recalled) // the provider's real answer: a sample of its health like any other
    fx.observed.outcomes.push_back(observation{o.finished_at, o.provider, f.item.tier_, cohort_of(self, o.provider),
                                               o.error, o.finished_at - o.started_at, o.cost,
                                               static_cast<int>(o.images.size()), o.quality > 0 ? o.quality : -1});
  auto a = event(o.id, event_kind::attempt_finished, job_status::running, now);
  a.attempt.no = o.attempt_no;
  a.attempt.provider = o.provider;
  a.attempt.started_at = o.started_at;
  a.attempt.finished_at = o.finished_at;
  a.attempt.outcome = o.error == error_class::none ? job_status::succeeded : job_status::failed;
  a.attempt.error = o.error;
  a.attempt.remote_id = o.remote_id;
  a.attempt.cost = o.cost;
  fx.events.push_back(std::move(a));
  finish(self, fx, o.id, job_status::cancelled, now, {}, cancelled_text);
}

void on_recalled_from_window(self_ptr self, std::vector<work_item>& items);

/// Starts cancelling a flight: it is taken back wherever it waits (its batcher's window; its provider's queue for a
/// retry or a slot; a remote job of its own, cancelled at the provider where the provider allows and no longer
/// polled). A call on the wire, or a remote job shared with other jobs' items, answers first. Each of those ends
/// in end_cancelled (or on_recalled_from_window, or on_admitted while the ledger still decides).
void start_cancel(self_ptr self, flight& f, instant now) {
  if (f.cancelling)
    return;
  f.cancelling = true;
  auto& st = self->state;
  const auto& provider = f.chain[static_cast<std::size_t>(f.chain_pos)];
  if (log_jobs())
    log_line{log_line::buffered} << "event=job_cancel_requested job=" << to_string(f.item.id) << " provider=" << provider
                                 << " attempt=" << f.item.attempt_no << " at=" << format_rfc3339(now);
  if (auto b = st.wiring.batchers.find(provider); b != st.wiring.batchers.end())
    self->request(b->second[static_cast<std::size_t>(f.item.tier_)], caf::infinite,
                  msg::recall_items{{f.item}, false, true})
      .then([self](msg::recalled_items& r) { on_recalled_from_window(self, r.items); },
            [](caf::error& err) { log_line{} << "event=cancel_recall_failed error=" << quoted{to_string(err)}; });
  if (auto p = st.wiring.providers.find(provider); p != st.wiring.providers.end())
    self->send(p->second, msg::recall_items{{f.item}, true, true});
}

void on_outcome(self_ptr self, effects& fx, item_outcome& o, instant now) {
  auto& st = self->state;
  auto it = st.flights.find(o.id.value);
  if (it == st.flights.end() || it->second.item.attempt_no != o.attempt_no)
    return; // a duplicate or stale outcome
  auto& f = it->second;
  if (f.cancelling) {
    end_cancelled(self, fx, f, o, now);
    return;
  }
  if (o.recalled) {
    // Taken back at a rollback: the engine's doing, not the provider's outcome (not observed), and no attempt of
    // the job is used up by it. Its cost is what the worker's money rules charge (a cancelled remote job that may
    // have run: its reservation).
    f.spent += o.cost;
    fx.settle.push_back(msg::settlement{reservation_key{o.id.value, o.attempt_no}, o.cost, false});
    auto a = event(o.id, event_kind::attempt_finished, job_status::running, now);
    a.attempt.no = o.attempt_no;
    a.attempt.provider = o.provider;
    a.attempt.started_at = o.started_at;
    a.attempt.finished_at = o.finished_at;
    a.attempt.outcome = job_status::failed;
    a.attempt.error = o.error;
    a.attempt.remote_id = o.remote_id;
    a.attempt.cost = o.cost;
    fx.events.push_back(std::move(a));
    f.attempt_base += 1;
    f.item.attempt_no = o.attempt_no + 1;
    reroute(self, fx, f, o.remote_id.empty() ? "waiting for a retry" : "running, cancelled");
    return;
  }
  fx.observed.outcomes.push_back(observation{o.finished_at, o.provider, f.item.tier_, cohort_of(self, o.provider),
                                             o.error, o.finished_at - o.started_at, o.cost,
                                             static_cast<int>(o.images.size()), o.quality > 0 ? o.quality : -1});
  if (o.error == error_class::none) { // the job ends here: what its user waited, for the cohort it was routed to
    fx.observed.outcomes.back().user_wait = o.finished_at - f.created_at;
    fx.observed.outcomes.back().route = cohort_of(self, f.chain.front());
    st.meters->user_wait(o.provider, f.item.tier_, cohort_of(self, f.chain.front()), o.finished_at - f.created_at);
  }
  f.spent += o.cost;
  // no call happened for these: nothing was spent
  const bool called = o.error != error_class::breaker_open && o.error != error_class::budget_exhausted &&
                      o.error != error_class::over_limit;
  fx.settle.push_back(msg::settlement{reservation_key{o.id.value, o.attempt_no}, o.cost, !called});
  auto a = event(o.id, event_kind::attempt_finished, job_status::running, now);
  a.attempt.no = o.attempt_no;
  a.attempt.provider = o.provider;
  a.attempt.started_at = o.started_at;
  a.attempt.finished_at = o.finished_at;
  a.attempt.outcome = o.error == error_class::none ? job_status::succeeded : job_status::failed;
  a.attempt.error = o.error;
  a.attempt.remote_id = o.remote_id;
  a.attempt.cost = o.cost;
  a.attempt.quality = o.quality > 0 ? o.quality : -1;
  fx.events.push_back(std::move(a));
  if (o.error == error_class::none) {
    finish(self, fx, o.id, job_status::succeeded, now, std::move(o.images), {});
    return;
  }
  auto next = decide_after_failure(*st.cfg, f.chain, f.chain_pos, o.attempt_no - f.attempt_base, o.error);
  switch (next.kind) {
    case after_failure_kind::fall_back:
      st.meters->fell_back(o.provider, next.provider, to_string(o.error), now);
      if (log_jobs())
        log_line{log_line::buffered} << "event=job_fell_back job=" << to_string(o.id) << " from=" << o.provider
                                     << " to=" << next.provider << " cause=" << to_string(o.error)
                                     << " attempt=" << o.attempt_no << " reason=" << quoted{next.reason}
                                     << " at=" << format_rfc3339(now);
      f.item.attempt_no = o.attempt_no + 1;
      f.chain_pos = next.chain_pos;
      f.route_reason += "; " + next.reason;
      dispatch(fx, f);
      return;
    case after_failure_kind::fail:
      finish(self, fx, o.id, job_status::failed, now, {},
             next.reason + (o.message.empty() ? "" : " (" + o.message + ")"));
      return;
    case after_failure_kind::dead_letter:
      finish(self, fx, o.id, job_status::dead_lettered, now, {}, next.reason);
      return;
  }
}

/// Resumes one unfinished job found at start: re-poll a stored remote job, re-run an interrupted attempt, or
/// dispatch the next attempt.
void resume(self_ptr self, effects& fx, std::map<std::tuple<std::string, std::string>, msg::provider_batch>& polls,
            const job_record& job, instant now) {
  auto& st = self->state;
  if (job.status == job_status::accepted) {
    route_new(self, fx, job);
    return;
  }
  // the chain starts at the first attempt since the last replay
  std::string primary = job.provider;
  for (const auto& a : job.attempts)
    if (a.no == job.attempt_base + 1)
      primary = a.provider;
  flight f;
  f.chain = provider_chain(*st.cfg, primary);
  // attempts whose end the engine never learnt (unknown) are its own doing: they do not use up max_attempts
  f.attempt_base = job.attempt_base + static_cast<int>(std::count_if(
                     job.attempts.begin(), job.attempts.end(), [&job](const attempt_record& a) {
                       return a.no > job.attempt_base && a.error == error_class::unknown;
                     }));
  f.item = work_item{job.id, 1, job.spec.tier_, job.spec.n, job.spec.prompt, job.spec.user_id};
  f.endpoint = job.spec.endpoint;
  f.segment = job.spec.segment;
  f.route_reason = job.route_reason;
  f.created_at = job.created_at;
  for (const auto& a : job.attempts)
    f.spent += a.cost;
  const attempt_record* last = job.attempts.empty() ? nullptr : &job.attempts.back();
  std::string provider = job.provider;
  if (last != nullptr && last->outcome == job_status::running) {
    f.item.attempt_no = last->no;
    provider = last->provider;
  } else if (last != nullptr) {
    f.item.attempt_no = last->no + 1;
  }
  auto pos = std::find(f.chain.begin(), f.chain.end(), provider);
  if (pos == f.chain.end()) {
    if (last != nullptr && last->outcome == job_status::running) {
      auto a = event(job.id, event_kind::attempt_finished, job_status::running, now);
      a.attempt = *last;
      a.attempt.finished_at = now;
      a.attempt.outcome = job_status::failed;
      a.attempt.error = error_class::cancelled;
      fx.events.push_back(std::move(a));
      fx.settle.push_back(msg::settlement{reservation_key{job.id.value, last->no}, 0, true});
    }
    st.flights[job.id.value] = std::move(f);
    finish(self, fx, job.id, job_status::dead_lettered, now, {}, "provider " + provider + " is no longer configured");
    return;
  }
  f.chain_pos = static_cast<int>(pos - f.chain.begin());
  const auto* p = st.cfg->provider(provider);
  if (last != nullptr && last->outcome == job_status::running && last->remote_id.empty()) {
    // The engine stopped while this call may have been on the wire: the provider may have done the work and
    // billed it. When in doubt the money is spent: the attempt ends as `unknown`, charged at its reservation (the
    // one the ledger restored), and the job runs again as a new attempt.
    // at its price when admitted (a store from before that was kept: today's price)
    const micros charged = last->reserved > 0 ? last->reserved
                           : p != nullptr     ? estimate_cost(*p, job.spec.tier_, job.spec.n)
                                              : 0;
    auto a = event(job.id, event_kind::attempt_finished, job_status::running, now);
    a.attempt = *last;
    a.attempt.finished_at = now;
    a.attempt.outcome = job_status::failed;
    a.attempt.error = error_class::unknown;
    a.attempt.cost = charged;
    fx.events.push_back(std::move(a));
    fx.settle.push_back(msg::settlement{reservation_key{job.id.value, last->no}, charged, false});
    fx.observed.outcomes.push_back(observation{now, provider, job.spec.tier_, cohort_of(self, provider),
                                               error_class::unknown, now - last->started_at, charged, 0, -1});
    f.spent += charged;
    f.attempt_base += 1;
    f.item.attempt_no = last->no + 1;
    core::log_line{} << "event=attempt_unknown job=" << to_string(job.id) << " attempt=" << last->no
              << " provider=" << provider << " charged_usd=" << format_usd(charged);
    dispatch(fx, st.flights[job.id.value] = std::move(f));
    return;
  }
  if (last != nullptr && last->outcome == job_status::running && !last->remote_id.empty()) {
    // paid for and running remotely: poll it again, never submit it again (its reservation was restored at the
    // price of its admission: the item is priced the same)
    if (last->reserved > 0)
      f.item.unit_price = last->reserved / std::max(job.spec.n, 1);
    else if (p != nullptr)
      f.item.unit_price = p->cost_per_image[static_cast<std::size_t>(job.spec.tier_)];
    auto& b = polls[{provider, last->remote_id}];
    b.tier_ = job.spec.tier_;
    b.remote_id = last->remote_id;
    b.submitted_at = last->started_at;
    b.items.push_back(f.item);
    st.flights[job.id.value] = std::move(f);
    return;
  }
  dispatch(fx, st.flights[job.id.value] = std::move(f));
}

void apply(self_ptr self, effects& fx);

/// Republishes the fallback ratio, and keeps a timer going while the window holds events, so the ratio falls back to
/// 0 on an idle engine too (readiness reads it).
void publish_ratio(self_ptr self) {
  auto& st = self->state;
  if (st.meters->publish_ratio(now_of(self)) && !st.ratio_ticking) {
    st.ratio_ticking = true;
    self->delayed_send(self, router_meters::ratio_slot, msg::meter_due{});
  }
}

/// How long to wait before writing final states again after a failed commit.
constexpr auto record_retry = std::chrono::seconds(1);

/// Writes events that end jobs, then tells the waiters; a failed commit is tried again (never dropped: a job
/// whose end is not on disk would be resumed, and a sync call paid twice).
void record_final(self_ptr self, std::vector<job_event> events, std::vector<msg::final_job> finals) {
  auto again = std::make_shared<msg::retry_record>(msg::retry_record{events, std::move(finals)});
  self->request(self->state.store, caf::infinite, msg::record_events{std::move(events)})
    .then([self, again](msg::stored) { self->send(self->state.wiring.finals, msg::jobs_final{std::move(again->finals)}); },
          [self, again](caf::error& err) {
            core::log_line{} << "event=job_events_not_stored jobs=" << again->finals.size() << " error=" << to_string(err)
                      << " retry_in_ms=" << std::chrono::milliseconds(record_retry).count();
            self->delayed_send(self, record_retry, std::move(*again));
          });
}

/// The ledger answered: admitted items go to their batchers; refused ones move along their chain (no attempt is
/// used) and are asked for again.
void on_admitted(self_ptr self, const std::vector<job_id>& ids, const std::vector<std::string>& asked,
                 const msg::admit_result& r) {
  auto& st = self->state;
  for (const auto& provider : asked)
    st.meters->admission(provider, -1);
  effects fx;
  const auto now = now_of(self);
  for (std::size_t i = 0; i < ids.size() && i < r.verdicts.size(); ++i) {
    auto it = st.flights.find(ids[i].value);
    if (it == st.flights.end())
      continue;
    auto& f = it->second;
    const auto& provider = f.chain[static_cast<std::size_t>(f.chain_pos)];
    const auto& verdict = r.verdicts[i];
    if (f.cancelling) { // cancelled while the ledger decided: nothing was called, the reservation goes
      if (verdict.admitted())
        fx.settle.push_back(msg::settlement{reservation_key{f.item.id.value, f.item.attempt_no}, 0, true});
      finish(self, fx, f.item.id, job_status::cancelled, now, {}, cancelled_text);
      continue;
    }
    if (verdict.admitted() && pulled_back(self, f)) {
      // admitted at the candidate while a rollback arrived: the reservation goes, the baseline is asked instead
      fx.settle.push_back(msg::settlement{reservation_key{f.item.id.value, f.item.attempt_no}, 0, true});
      reroute(self, fx, f, "admitted");
      continue;
    }
    if (!verdict.admitted()) {
      count(self, "cutover_budget_fallbacks_total", {{"provider", provider}},
            "Items sent past a provider whose budget would not admit them.");
      next_in_chain(self, fx, f, verdict.reason, to_string(verdict.verdict), now);
      continue;
    }
    auto e = event(f.item.id, f.replay ? event_kind::replayed : event_kind::routed, job_status::queued, now);
    e.provider = provider;
    e.bucket = f.bucket;
    e.text = f.route_reason;
    e.attempt.no = f.attempt_base;
    if (log_jobs())
      log_line{log_line::buffered} << "event=job_routed job=" << to_string(f.item.id) << " provider=" << provider
                                   << " attempt=" << f.item.attempt_no << " bucket=" << f.bucket
                                   << " reason=" << quoted{f.route_reason} << " at=" << format_rfc3339(now);
    f.bucket = 0;
    f.replay = false;
    fx.events.push_back(std::move(e));
    fx.enqueue[{provider, f.item.tier_}].push_back(f.item);
    switch (cohort_of(self, provider)) {
      case cohort::candidate: ++fx.observed.dispatched_candidate; break;
      case cohort::baseline: ++fx.observed.dispatched_baseline; break;
      case cohort::other: break;
    }
  }
  apply(self, fx);
}

/// Carries out the effects: settlements to the ledger, admissions asked for, items to their batchers, events
/// recorded (with an answer when jobs became final: waiters hear of it only once it is on disk).
void apply(self_ptr self, effects& fx) {
  auto& st = self->state;
  if (!fx.settle.empty())
    self->send(st.ledger, msg::settle{std::move(fx.settle)});
  if (!fx.admit.empty()) {
    msg::admit req;
    std::vector<std::string> asked; // the queue's admission stage, per provider, until the ledger answers
    for (auto id : fx.admit) {
      auto& f = st.flights.at(id.value);
      const auto& provider = f.chain[static_cast<std::size_t>(f.chain_pos)];
      const auto* p = st.cfg->provider(provider);
      // the price is fixed here, with the reservation: a reload while the call runs cannot settle it above
      f.item.unit_price = p ? p->cost_per_image[static_cast<std::size_t>(f.item.tier_)] : 0;
      st.meters->admission(provider, 1);
      asked.push_back(provider);
      req.requests.push_back(msg::admission_request{reservation_key{id.value, f.item.attempt_no}, provider,
                                                    p ? estimate_cost(*p, f.item.tier_, f.item.n) : 0});
    }
    auto ids = std::move(fx.admit);
    self->request(st.ledger, caf::infinite, std::move(req))
      .then([self, ids, asked](msg::admit_result& r) { on_admitted(self, ids, asked, r); },
            [](caf::error& err) {
              // only when the ledger is gone; serve then stops, and the jobs resume (and are admitted) at the next start
              core::log_line{} << "event=admission_failed error=" << to_string(err);
            });
  }
  for (auto& [key, items] : fx.enqueue) {
    auto b = st.wiring.batchers.find(key.first);
    if (b != st.wiring.batchers.end())
      self->send(b->second[static_cast<std::size_t>(key.second)], msg::enqueue_items{std::move(items)});
  }
  st.in_flight->set(static_cast<std::int64_t>(st.flights.size()));
  if (!st.drain_waiters.empty() && at_candidate(self) == 0) {
    for (auto& w : st.drain_waiters)
      w.deliver(msg::at_candidate{0});
    st.drain_waiters.clear();
  }
  publish_ratio(self);
  if (!fx.observed.outcomes.empty() || fx.observed.dispatched_candidate > 0 || fx.observed.dispatched_baseline > 0)
    if (st.wiring.observer)
      self->send(st.wiring.observer, std::move(fx.observed));
  if (fx.events.empty())
    return;
  if (fx.finals.empty()) {
    // progress only: a crash before it is on disk just repeats the step at resume
    self->send(st.store, msg::note_events{std::move(fx.events)});
    return;
  }
  record_final(self, std::move(fx.events), std::move(fx.finals));
}

void resume_all(self_ptr self, std::vector<job_record>& jobs);

/// Items a batcher of the candidate took out of its window: they never reached the provider, so they go on with the
/// same attempt number, their candidate reservation released.
void on_recalled_from_window(self_ptr self, std::vector<work_item>& items) {
  auto& st = self->state;
  effects fx;
  for (const auto& item : items) {
    auto it = st.flights.find(item.id.value);
    if (it == st.flights.end() || it->second.item.attempt_no != item.attempt_no)
      continue;
    fx.settle.push_back(msg::settlement{reservation_key{item.id.value, item.attempt_no}, 0, true});
    if (it->second.cancelling) // never called: nothing spent
      finish(self, fx, item.id, job_status::cancelled, now_of(self), {}, cancelled_text);
    else
      reroute(self, fx, it->second, "batch window");
  }
  apply(self, fx);
}

/// Takes back the candidate's work that the routing view now sends to the baseline: from the candidate's batch
/// windows and whatever waits at its provider for a retry or a slot, and, with `cancel_running`, its remote jobs
/// (cancelled at the provider). Items still being admitted are caught when the ledger answers. True when any
/// flight at the candidate is to be pulled back.
bool recall_routed(self_ptr self, bool cancel_running) {
  auto& st = self->state;
  const auto& candidate = st.cfg->rollout.candidate;
  std::map<tier, std::vector<work_item>> by_tier;
  msg::recall_items all{{}, cancel_running};
  for (const auto& [id, f] : st.flights)
    if (!f.cancelling && pulled_back(self, f)) {
      by_tier[f.item.tier_].push_back(f.item);
      all.items.push_back(f.item);
    }
  if (all.items.empty())
    return false;
  core::log_line{} << "event=rollback_recall provider=" << candidate << " items=" << all.items.size()
            << " cancel_running=" << (cancel_running ? "true" : "false");
  if (auto b = st.wiring.batchers.find(candidate); b != st.wiring.batchers.end())
    for (auto& [t, items] : by_tier)
      self->request(b->second[static_cast<std::size_t>(t)], caf::infinite, msg::recall_items{std::move(items), false})
        .then([self](msg::recalled_items& r) { on_recalled_from_window(self, r.items); },
              [](caf::error& err) { core::log_line{} << "event=recall_failed error=" << to_string(err); });
  if (auto p = st.wiring.providers.find(candidate); p != st.wiring.providers.end())
    self->send(p->second, std::move(all));
  return true;
}

/// Resumes every unfinished job in the store. Awaited: jobs sent meanwhile are routed after it.
void load_and_resume(self_ptr self) {
  self->request(self->state.store, caf::infinite, msg::load_open_jobs{})
    .await(
      [self](msg::open_jobs& open) {
        if (!open.jobs.empty())
          resume_all(self, open.jobs);
      },
      [](caf::error& err) { core::log_line{} << "event=resume_failed error=" << to_string(err); });
}

/// At start the router knows only the file's percent, and the controller's restored view may come after the jobs
/// to resume: so the stored rollout state comes first (a restart after a rollback must not send resumed jobs to
/// the candidate). Awaited, so new jobs wait for it too. The controller stays the owner: its update wins whenever
/// it came before this answer or comes after.
void load_rollout_then_resume(self_ptr self) {
  self->request(self->state.rollout_store, caf::infinite, msg::load_rollout{})
    .await(
      [self](msg::rollout_loaded& l) {
        auto& st = self->state;
        if (l.found && !st.view_from_controller) {
          st.view.rolled_back = l.status.state == rollout_phase_state::rolled_back;
          st.view.percent = l.status.percent;
          if (st.view.rolled_back)
            st.rolled_back_at = l.status.since;
        }
        load_and_resume(self);
      },
      [self](caf::error& err) {
        core::log_line{} << "event=rollout_state_not_loaded error=" << to_string(err);
        load_and_resume(self);
      });
}

void resume_all(self_ptr self, std::vector<job_record>& jobs) {
  effects fx;
  std::map<std::tuple<std::string, std::string>, msg::provider_batch> polls;
  auto now = now_of(self);
  for (const auto& job : jobs) {
    self->state.resumed.insert(job.id.value);
    self->state.resumed_max = std::max(self->state.resumed_max, job.id.value);
    resume(self, fx, polls, job, now);
  }
  for (auto& [key, batch] : polls)
    self->send(self->state.wiring.providers.at(std::get<0>(key)), std::move(batch));
  core::log_line{} << "event=resumed jobs=" << jobs.size() << " remote_polls=" << polls.size();
  apply(self, fx);
  // rolled back before the restart: remote jobs polled again at the candidate are cancelled once
  // cancel_in_flight_after has passed since the rollback (at once when it already has)
  if (recall_routed(self, false)) {
    auto wait = self->state.cfg->rollback.cancel_in_flight_after;
    if (self->state.rolled_back_at)
      wait = std::max(duration{0}, *self->state.rolled_back_at + wait - now);
    self->delayed_send(self, wait, msg::recall_due{});
  }
}

} // namespace

/// A new job answered by the result cache: the images of an earlier job of its tenant with the same request. No
/// provider is called, nothing is reserved or charged, and the rollout sees no outcome (it is not a gate sample):
/// the job is routed to "cache" and ends succeeded, in one commit.
void answer_from_cache(self_ptr self, effects& fx, const job_record& job, job_store::cache_answer& a, instant now) {
  auto& st = self->state;
  auto e = event(job.id, event_kind::routed, job_status::queued, now);
  e.provider = std::string{cache_provider};
  e.bucket = decide_route(st.cfg->rollout, st.view, {job.spec.user_id, job.spec.endpoint, job.spec.segment}).bucket;
  e.text = "cache: the result of job " + to_string(a.from);
  fx.events.push_back(std::move(e));
  st.cache_hits->add();
  if (log_jobs())
    log_line{log_line::buffered} << "event=job_final job=" << to_string(job.id) << " status=succeeded provider="
                                 << cache_provider << " cost_usd=0.000000 wait_ms="
                                 << std::chrono::duration_cast<std::chrono::milliseconds>(now - job.created_at).count()
                                 << " attempts=0 cached_from=" << to_string(a.from) << " at=" << format_rfc3339(now);
  finish(self, fx, job.id, job_status::succeeded, now, std::move(a.images), {});
}

/// With cache.enabled, new jobs wait for the store to look for an earlier answer (within cache.ttl) before they are
/// routed: a hit ends the job at once, a miss routes it as usual. Without it they are routed at once.
void route_or_answer(self_ptr self, effects& fx, std::vector<job_record> jobs) {
  auto& st = self->state;
  if (!st.cfg->cache.enabled || jobs.empty()) {
    for (const auto& job : jobs)
      route_new(self, fx, job);
    return;
  }
  msg::find_cached ask;
  ask.since = now_of(self) - st.cfg->cache.ttl;
  for (const auto& job : jobs) {
    st.cache_lookups[job.id.value] = false;
    ask.queries.push_back({job.id, job.spec.tenant, job.spec.prompt, job.spec.tier_, job.spec.n});
  }
  auto on_answer = [self, jobs](std::vector<job_store::cache_answer> answers) mutable {
    auto& st = self->state;
    effects fx;
    const auto now = now_of(self);
    answers.resize(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      const auto& job = jobs[i];
      auto it = st.cache_lookups.find(job.id.value);
      const bool cancelled = it != st.cache_lookups.end() && it->second;
      if (it != st.cache_lookups.end())
        st.cache_lookups.erase(it);
      if (cancelled) {
        // never routed: no flight for finish() to describe, so its final line is written here
        if (log_jobs())
          log_line{log_line::buffered} << "event=job_final job=" << to_string(job.id) << " status=cancelled provider="
                                       << " cost_usd=0.000000 wait_ms="
                                       << std::chrono::duration_cast<std::chrono::milliseconds>(now - job.created_at)
                                            .count()
                                       << " attempts=0 at=" << format_rfc3339(now)
                                       << " error=" << quoted{cancelled_text};
        finish(self, fx, job.id, job_status::cancelled, now, {}, cancelled_text);
      } else if (answers[i].from.value != 0)
        answer_from_cache(self, fx, job, answers[i], now);
      else
        route_new(self, fx, job);
    }
    apply(self, fx);
  };
  self->request(st.store, caf::infinite, std::move(ask))
    .then([on_answer](msg::cached_results& r) mutable { on_answer(std::move(r.answers)); },
          [on_answer](caf::error& err) mutable {
            // the store could not look: the jobs go to their providers (a miss costs money, never a job)
            log_line{} << "event=cache_lookup_failed error=" << quoted{to_string(err)};
            on_answer({});
          });
}

msg::router_actor spawn_router(caf::actor_system& sys, config_ptr cfg, msg::jobs_store store,
                               msg::rollout_reads rollout, msg::ledger_actor ledger, clock_anchor clock,
                               metrics_ptr metrics) {
  auto fn = [](self_ptr self, config_ptr cfg, msg::jobs_store store, msg::rollout_reads rollout,
               msg::ledger_actor ledger, clock_anchor clock, metrics_ptr metrics) -> msg::router_actor::behavior_type {
    auto& st = self->state;
    st.metrics = metrics ? std::move(metrics) : std::make_shared<metrics_registry>();
    st.in_flight = &st.metrics->get_gauge("cutover_jobs_in_flight", {}, "Jobs routed and not yet final.");
    st.meters = std::make_unique<router_meters>(st.metrics);
    st.cache_hits = &st.metrics->get_counter(metric::image_cache_hits, {});
    st.view.percent = cfg->rollout.percent;
    st.cfg = std::move(cfg);
    st.store = std::move(store);
    st.rollout_store = std::move(rollout);
    st.ledger = std::move(ledger);
    st.clock = clock;
    return {
      [](msg::barrier) { return msg::stored{}; },
      [self](msg::route_jobs& m) {
        effects fx;
        auto& resumed = self->state.resumed;
        std::vector<job_record> fresh;
        for (const auto& job : m.jobs)
          if (resumed.erase(job.id.value) == 0)
            fresh.push_back(job);
        route_or_answer(self, fx, std::move(fresh));
        // intake sends jobs in id order: past the last resumed id no duplicate can come any more
        if (!resumed.empty() && !m.jobs.empty() && m.jobs.back().id.value > self->state.resumed_max)
          resumed.clear();
        apply(self, fx);
      },
      [self](msg::outcomes& m) {
        effects fx;
        auto now = now_of(self);
        for (auto& o : m.items)
          on_outcome(self, fx, o, now);
        apply(self, fx);
      },
      [self](msg::replay_job& m) -> caf::result<msg::stored> {
        if (m.job.status != job_status::dead_lettered || self->state.flights.count(m.job.id.value) > 0)
          return caf::make_error(caf::sec::invalid_argument,
                                 "job " + to_string(m.job.id) + " is not dead-lettered (or is being replayed)");
        effects fx;
        route_new(self, fx, m.job, true);
        // the replay takes effect once admitted and on disk; the answer does not wait for the admission
        auto rp = self->make_response_promise<msg::stored>();
        auto& st = self->state;
        auto e = event(m.job.id, event_kind::replayed, job_status::queued, now_of(self));
        const auto& f = st.flights.at(m.job.id.value);
        e.provider = f.chain.front();
        e.bucket = f.bucket;
        e.text = f.route_reason;
        e.attempt.no = f.attempt_base;
        self->request(st.store, caf::infinite, msg::record_events{{std::move(e)}})
          .then([rp](msg::stored s) mutable { rp.deliver(s); }, [rp](caf::error& e) mutable { rp.deliver(e); });
        apply(self, fx);
        return rp;
      },
      [self](const msg::cancel_flights& m) {
        msg::cancel_answer a;
        const auto now = now_of(self);
        for (auto id : m.ids) {
          auto it = self->state.flights.find(id.value);
          if (auto look = self->state.cache_lookups.find(id.value); look != self->state.cache_lookups.end())
            look->second = true; // ends cancelled when the store answers
          else if (it == self->state.flights.end())
            a.not_in_flight.push_back(id);
          else
            start_cancel(self, it->second, now);
        }
        return a;
      },
      [self](const msg::rollout_update& u) {
        auto& st = self->state;
        st.view.rolled_back = u.rolled_back;
        st.view.percent = u.percent;
        st.view_from_controller = true;
        // a rollback (or a lower percent) reaches work already routed: waiting work now, running work later
        if (recall_routed(self, false))
          self->delayed_send(self, st.cfg->rollback.cancel_in_flight_after, msg::recall_due{});
      },
      [self](const msg::count_at_candidate& m) -> caf::result<msg::at_candidate> {
        const auto n = at_candidate(self);
        if (n == 0 || !m.when_none)
          return msg::at_candidate{n};
        self->state.drain_waiters.push_back(self->make_response_promise<msg::at_candidate>());
        return self->state.drain_waiters.back();
      },
      [self](msg::recall_due) { recall_routed(self, true); },
      [self](msg::meter_due) {
        self->state.ratio_ticking = false;
        publish_ratio(self);
      },
      [self](const msg::config_snapshot& c) {
        self->state.cfg = c.cfg;
        declare_fallbacks(*self->state.metrics, *c.cfg); // a new chain's first fallback counts too
        if (recall_routed(self, false)) // the kill switch (enabled: false) reaches routed work as a rollback does
          self->delayed_send(self, c.cfg->rollback.cancel_in_flight_after, msg::recall_due{});
      },
      [self](msg::retry_record& m) { record_final(self, std::move(m.events), std::move(m.finals)); },
      [self](msg::router_wiring& w) {
        self->state.wiring = std::move(w);
        load_rollout_then_resume(self);
      },
    };
  };
  return sys.spawn(fn, std::move(cfg), std::move(store), std::move(rollout), std::move(ledger), clock, std::move(metrics));
}

} // namespace cutover::actors
