#pragma once
/// The bridge between HTTP threads and the actors: an HTTP handler hands over a message and a callback and returns
/// at once; a small actor makes the request and runs the callback with the answer (on an actor thread). No HTTP
/// thread ever waits for an actor.

#include "messages/budget.hpp"
#include "messages/intake.hpp"
#include "messages/rollout.hpp"
#include "messages/audit_store.hpp"
#include "messages/jobs_store.hpp"

#include <functional>
#include <memory>
#include <string>

namespace caf { class actor_system; }

namespace cutover::http {

class engine_client {
public:
  /// Exactly one of the callback's arguments is set: the answer, or a non-empty error.
  template <class T>
  using done = std::function<void(const T*, const std::string& error)>;

  engine_client(caf::actor_system& sys, msg::intake_actor intake, msg::jobs_store jobs, msg::audit_store audit,
                msg::ledger_actor ledger, msg::rollout_actor rollout);
  ~engine_client();
  engine_client(const engine_client&) = delete;
  engine_client& operator=(const engine_client&) = delete;

  void submit(msg::submit_job job, done<msg::submit_reply> cb);
  void lookup(msg::await_job query, done<msg::job_lookup> cb);
  void replay(msg::replay_dead_letter m, done<msg::replay_reply> cb);
  void dead_letters(msg::list_dead_letters m, done<msg::job_list> cb);
  void list_jobs(msg::list_jobs m, done<msg::job_list> cb);
  void cancel(msg::cancel_job m, done<msg::cancel_reply> cb);
  void erase_user(msg::erase_user m, done<msg::erase_reply> cb);
  void budget(msg::budget_query m, done<msg::budget_report> cb);
  void daily_stats(msg::stats_query m, done<msg::daily_stats> cb);
  /// The ledger's admissibility view (readiness).
  void admissibility(done<msg::admissibility_update> cb);
  void rollout(done<msg::rollout_view_reply> cb);
  void rollout_action(msg::operator_action m, done<msg::operator_reply> cb);
  void rollout_percent(msg::step_percent m, done<msg::operator_reply> cb);
  /// Waits as long as the drill may (its max_wait, or the longest default) and a little more.
  void drill(msg::run_drill m, done<msg::drill_reply> cb);
  void decisions(msg::load_decisions m, done<msg::decision_list> cb);
  void rate(msg::rate_job m, done<msg::rated> cb);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace cutover::http
