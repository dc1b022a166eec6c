#include "adapters/http/bridge.hpp"

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

namespace cutover::http {

namespace {
/// A request to make on behalf of an HTTP thread. Local only: a callback never leaves this process.
struct bridged {
  std::function<void(caf::event_based_actor*)> run;
};
/// Longest an HTTP request waits for the engine beyond its own `wait`.
constexpr auto answer_timeout = std::chrono::seconds(30);
} // namespace

} // namespace cutover::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cutover::http::bridged)

namespace cutover::http {

struct engine_client::impl {
  caf::actor bridge;
  msg::intake_actor intake;
  msg::jobs_store jobs;   ///< dead letters
  msg::audit_store audit; ///< decisions
  msg::ledger_actor ledger;
  msg::rollout_actor rollout;

  /// Sends `m` to `dest` from the bridge actor and hands the answer (or the error) to `cb`.
  template <class Answer, class Dest, class Msg>
  void ask(const Dest& dest, Msg m, done<Answer> cb, caf::timespan timeout = answer_timeout) {
    caf::anon_send(bridge, bridged{[dest, m = std::move(m), cb = std::move(cb), timeout](caf::event_based_actor* self) {
      self->request(dest, timeout, m)
        .then([cb](Answer& a) { cb(&a, {}); }, [cb](caf::error& err) { cb(nullptr, to_string(err)); });
    }});
  }
};

engine_client::engine_client(caf::actor_system& sys, msg::intake_actor intake, msg::jobs_store jobs,
                             msg::audit_store audit, msg::ledger_actor ledger, msg::rollout_actor rollout)
  : impl_(std::make_unique<impl>()) {
  impl_->rollout = std::move(rollout);
  impl_->intake = std::move(intake);
  impl_->jobs = std::move(jobs);
  impl_->audit = std::move(audit);
  impl_->ledger = std::move(ledger);
  impl_->bridge = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](bridged& b) { b.run(self); }};
  });
}

engine_client::~engine_client() { caf::anon_send_exit(impl_->bridge, caf::exit_reason::user_shutdown); }

void engine_client::submit(msg::submit_job job, done<msg::submit_reply> cb) {
  impl_->ask<msg::submit_reply>(impl_->intake, std::move(job), std::move(cb));
}

void engine_client::lookup(msg::await_job query, done<msg::job_lookup> cb) {
  impl_->ask<msg::job_lookup>(impl_->intake, query, std::move(cb), answer_timeout + query.wait);
}

void engine_client::replay(msg::replay_dead_letter m, done<msg::replay_reply> cb) {
  impl_->ask<msg::replay_reply>(impl_->intake, m, std::move(cb));
}

void engine_client::dead_letters(msg::list_dead_letters m, done<msg::job_list> cb) {
  impl_->ask<msg::job_list>(impl_->jobs, m, std::move(cb));
}

void engine_client::list_jobs(msg::list_jobs m, done<msg::job_list> cb) {
  impl_->ask<msg::job_list>(impl_->jobs, std::move(m), std::move(cb));
}

void engine_client::cancel(msg::cancel_job m, done<msg::cancel_reply> cb) {
  impl_->ask<msg::cancel_reply>(impl_->intake, std::move(m), std::move(cb));
}

void engine_client::erase_user(msg::erase_user m, done<msg::erase_reply> cb) {
  impl_->ask<msg::erase_reply>(impl_->intake, std::move(m), std::move(cb));
}

} // namespace cutover::http

namespace cutover::http {

void engine_client::budget(msg::budget_query m, done<msg::budget_report> cb) {
  impl_->ask<msg::budget_report>(impl_->ledger, m, std::move(cb));
}

void engine_client::daily_stats(msg::stats_query m, done<msg::daily_stats> cb) {
  impl_->ask<msg::daily_stats>(impl_->ledger, m, std::move(cb));
}

void engine_client::admissibility(done<msg::admissibility_update> cb) {
  impl_->ask<msg::admissibility_update>(impl_->ledger, msg::admissibility_query{}, std::move(cb));
}

void engine_client::rollout(done<msg::rollout_view_reply> cb) {
  impl_->ask<msg::rollout_view_reply>(impl_->rollout, msg::get_rollout{}, std::move(cb));
}

void engine_client::rollout_action(msg::operator_action m, done<msg::operator_reply> cb) {
  impl_->ask<msg::operator_reply>(impl_->rollout, std::move(m), std::move(cb));
}

void engine_client::rollout_percent(msg::step_percent m, done<msg::operator_reply> cb) {
  impl_->ask<msg::operator_reply>(impl_->rollout, m, std::move(cb));
}

void engine_client::drill(msg::run_drill m, done<msg::drill_reply> cb) {
  const auto wait = m.max_wait > core::duration{0} ? m.max_wait : core::drill_defaults::max_wait;
  impl_->ask<msg::drill_reply>(impl_->rollout, m, std::move(cb), answer_timeout + wait);
}

void engine_client::decisions(msg::load_decisions m, done<msg::decision_list> cb) {
  impl_->ask<msg::decision_list>(impl_->audit, m, std::move(cb));
}

void engine_client::rate(msg::rate_job m, done<msg::rated> cb) {
  impl_->ask<msg::rated>(impl_->rollout, m, std::move(cb));
}

} // namespace cutover::http
