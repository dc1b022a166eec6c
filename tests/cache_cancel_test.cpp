// A job cancelled while the router waits for its result-cache lookup (cache.enabled) ends `cancelled` with its
// `event=job_final` log line, like every other final job: the whole engine tree on the deterministic scheduler,
// with a real SQLite file.

#include "core/log_line.hpp"
#include "support/engine_story.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <unistd.h>

using namespace cutover;

namespace {

const char* cache_config = R"(providers:
  cand:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: {latency_p50: 1s, latency_p95: 1s, failure_rate: 0%, quality: 0.93}
  base:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}
    simulated: {latency_p50: 1s, latency_p95: 1s, failure_rate: 0%, quality: 0.9}
fallback: {cand: [base]}
cache: {enabled: true}
rollout:
  name: cache
  baseline: base
  candidate: cand
  percent: 0
  phases: [{percent: 100}]
)";

/// Runs `body` with stderr sent to a temporary file (the log sink flushed before it is restored); what it got.
template <class Fn>
std::string capture_stderr(Fn body) {
  char path[] = "/tmp/cutover-log-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  core::log_sink::instance().flush();
  std::fflush(stderr);
  const int saved = ::dup(2);
  ::dup2(fd, 2);
  body();
  core::log_sink::instance().flush();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::remove(path);
  return text;
}

} // namespace

TEST_CASE("a job cancelled while its result-cache lookup is pending ends cancelled with its job_final line") {
  testing::temp_dir dir;
  testing::engine_story s{dir, cache_config};
  // a job on disk, as intake stores it; the router hears of it and, before the store has answered the cache
  // lookup that this starts, of its cancel (both wait in the router's mailbox ahead of the store's answer)
  core::job_record job;
  job.id = core::job_id{4242};
  job.spec.user_id = "u1";
  job.spec.prompt = "a kite";
  job.created_at = s.vt.now();
  job.updated_at = job.created_at;
  core::write_batch b;
  b.inserts.push_back(job);
  s.reader->commit(b);
  s.advance_to(std::chrono::seconds(3));

  const auto log = capture_stderr([&] {
    caf::scoped_actor self{*s.vt.sys};
    self->send(s.engine.router, msg::route_jobs{{job}});
    self->send(s.engine.router, msg::cancel_flights{{job.id}});
    s.vt.run();
    self->receive([](const msg::cancel_answer& a) { CHECK(a.not_in_flight.empty()); });
  });
  CHECK(s.job(job.id).status == core::job_status::cancelled);
  INFO(log);
  const auto at = log.find("event=job_final job=" + core::to_string(job.id) + " status=cancelled");
  REQUIRE(at != std::string::npos);
  const auto line = log.substr(at, log.find('\n', at) - at);
  CHECK(line.find(" wait_ms=3000 ") != std::string::npos);
  CHECK(line.find(" attempts=0 ") != std::string::npos);
  CHECK(line.find("error=\"cancelled by the client\"") != std::string::npos);
  // one final line, not two
  CHECK(log.find("event=job_final", at + 1) == std::string::npos);
}
