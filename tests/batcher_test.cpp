#include "actors/batcher.hpp"
#include "support/virtual_time.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <catch2/catch.hpp>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

struct seen_batch {
  core::instant at;
  std::size_t items;
};

/// Stands in for a provider: records each batch and when it arrived.
msg::provider_actor spawn_recorder(testing::virtual_time& vt, std::shared_ptr<std::vector<seen_batch>> seen) {
  return vt.sys->spawn([seen, &vt](msg::provider_actor::pointer) -> msg::provider_actor::behavior_type {
    return {
      [seen, &vt](msg::provider_batch& b) { seen->push_back({vt.now(), b.items.size()}); },
      [](msg::drain_calls) { return msg::drained{}; },
      [](const msg::remote_accepted&) {},
      [](const msg::outcomes&) {},
      [](const msg::images_storing&) {},
      [](const msg::recall_items&) {},
      [](const msg::config_snapshot&) {},
    };
  });
}

msg::enqueue_items items(int count, std::uint64_t first_id = 1) {
  msg::enqueue_items m;
  for (int i = 0; i < count; ++i)
    m.items.push_back(core::work_item{core::job_id{first_id + static_cast<std::uint64_t>(i)}, 1, core::tier::sd, 1,
                                      "p", "u"});
  return m;
}

} // namespace

TEST_CASE("a batch window flushes at 50 items before 45 s") {
  testing::virtual_time vt;
  auto seen = std::make_shared<std::vector<seen_batch>>();
  auto provider = spawn_recorder(vt, seen);
  auto batcher = actors::spawn_batcher(*vt.sys, core::tier::sd, {50, 45s}, provider);
  const auto t0 = vt.now();
  caf::anon_send(batcher, items(30));
  vt.advance(10s);
  CHECK(seen->empty());
  caf::anon_send(batcher, items(25, 100));
  vt.run();
  REQUIRE(seen->size() == 1);
  CHECK((*seen)[0].items == 50);
  CHECK((*seen)[0].at == t0 + 10s);
  // the 5 left over open a new window of their own, flushed 45 s after they arrived
  vt.advance(44s);
  CHECK(seen->size() == 1);
  vt.advance(1s);
  REQUIRE(seen->size() == 2);
  CHECK((*seen)[1].items == 5);
  CHECK((*seen)[1].at == t0 + 55s);
  // the stale timer of the first window (due at 45 s) changed nothing
  vt.advance(120s);
  CHECK(seen->size() == 2);
  caf::anon_send_exit(batcher, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
  vt.run();
}

TEST_CASE("a batch window flushes at 45 s with fewer items") {
  testing::virtual_time vt;
  auto seen = std::make_shared<std::vector<seen_batch>>();
  auto provider = spawn_recorder(vt, seen);
  auto batcher = actors::spawn_batcher(*vt.sys, core::tier::hd, {50, 45s}, provider);
  const auto t0 = vt.now();
  caf::anon_send(batcher, items(7));
  vt.advance(20s);
  caf::anon_send(batcher, items(3, 50));
  vt.advance(24s + 999ms);
  CHECK(seen->empty());
  vt.advance(1ms);
  REQUIRE(seen->size() == 1);
  CHECK((*seen)[0].items == 10);
  CHECK((*seen)[0].at == t0 + 45s);
  caf::anon_send_exit(batcher, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
  vt.run();
}
