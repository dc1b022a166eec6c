#pragma once
/// The bridge between HTTP threads and the actors: an HTTP handler hands over a message and a callback and returns
/// at once; a small actor makes the request and runs the callback with the answer (on an actor thread). No HTTP
/// thread ever waits for an actor.

#include "messages/intake.hpp"

#include <functional>
#include <memory>
#include <string>

namespace caf { class actor_system; }

namespace cutover::http {

class intake_client {
public:
  using submit_done = std::function<void(const msg::submit_reply*, const std::string& error)>;
  using lookup_done = std::function<void(const msg::job_lookup*, const std::string& error)>;

  intake_client(caf::actor_system& sys, msg::intake_actor intake);
  ~intake_client();
  intake_client(const intake_client&) = delete;
  intake_client& operator=(const intake_client&) = delete;

  /// Exactly one of the callback's arguments is set: the answer, or a non-empty error.
  void submit(msg::submit_job job, submit_done done);
  void lookup(msg::await_job query, lookup_done done);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace cutover::http
