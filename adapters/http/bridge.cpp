#include "adapters/http/bridge.hpp"

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

namespace cutover::http {

namespace {
/// Local-only messages: a callback never leaves this process.
struct bridge_submit {
  msg::submit_job job;
  intake_client::submit_done done;
};
struct bridge_lookup {
  msg::await_job query;
  intake_client::lookup_done done;
};
/// Longest an HTTP request waits for the engine beyond its own `wait`.
constexpr auto answer_timeout = std::chrono::seconds(30);
} // namespace

} // namespace cutover::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cutover::http::bridge_submit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cutover::http::bridge_lookup)

namespace cutover::http {

struct intake_client::impl {
  caf::actor bridge;
};

intake_client::intake_client(caf::actor_system& sys, msg::intake_actor intake) : impl_(std::make_unique<impl>()) {
  impl_->bridge = sys.spawn([intake](caf::event_based_actor* self) -> caf::behavior {
    return {
      [self, intake](bridge_submit& m) {
        auto done = std::move(m.done);
        self->request(intake, answer_timeout, std::move(m.job))
          .then([done](msg::submit_reply& r) { done(&r, {}); },
                [done](caf::error& err) { done(nullptr, to_string(err)); });
      },
      [self, intake](bridge_lookup& m) {
        auto done = std::move(m.done);
        self->request(intake, answer_timeout + m.query.wait, m.query)
          .then([done](msg::job_lookup& r) { done(&r, {}); },
                [done](caf::error& err) { done(nullptr, to_string(err)); });
      },
    };
  });
}

intake_client::~intake_client() { caf::anon_send_exit(impl_->bridge, caf::exit_reason::user_shutdown); }

void intake_client::submit(msg::submit_job job, submit_done done) {
  caf::anon_send(impl_->bridge, bridge_submit{std::move(job), std::move(done)});
}

void intake_client::lookup(msg::await_job query, lookup_done done) {
  caf::anon_send(impl_->bridge, bridge_lookup{query, std::move(done)});
}

} // namespace cutover::http
