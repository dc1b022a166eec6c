// A provider's answered results and the image store, in virtual time: an outcome leaves the provider only once its
// images are on disk (however slow the disk: only a download is bounded, by images.download_timeout), and a drain
// (shutdown) waits for those writes, so a call the provider answered (and billed) is reported and settled before the
// engine exits instead of being made again at the next start.

#include "actors/provider_supervisor.hpp"
#include "actors/store_actor.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "support/virtual_time.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <catch2/catch.hpp>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// A provider API whose async jobs are done at their first poll (sync: answered at once), one image per item.
struct answering_port : core::provider_port {
  bool async = true;
  int submits = 0;
  std::string image = "iVBORw0KGgo="; ///< what each item answers: base64 data, or a URL to download
  bool takes_batches() const override { return async; }
  void submit(const std::vector<core::work_item>& items, core::instant, callback done) override {
    ++submits;
    core::provider_reply r;
    if (async) {
      r.k = core::provider_reply::kind::accepted;
      r.remote_id = "remote-1";
    } else {
      r.items = results(items);
    }
    done(std::move(r));
  }
  void poll(const std::string&, const std::vector<core::work_item>& items, core::instant, callback done) override {
    core::provider_reply r;
    r.items = results(items);
    done(std::move(r));
  }
  void cancel(const std::string&, core::instant, callback done) override { done(core::provider_reply{}); }
  std::vector<core::provider_reply::item> results(const std::vector<core::work_item>& items) const {
    std::vector<core::provider_reply::item> out;
    for (const auto& i : items)
      out.push_back({i.id, core::error_class::none, "", {image}, 0.9});
    return out;
  }
};

/// An image store whose writes finish only when the test says so (a slow disk, an fsync under load).
struct gated_images : core::image_port {
  std::vector<std::pair<std::size_t, callback>> pending; ///< images of the item, and who waits
  void store(std::vector<std::string> images, core::instant, callback done) override {
    pending.emplace_back(images.size(), std::move(done));
  }
  bool remove(const std::string&, core::instant) override { return false; }
  void finish_all() {
    auto waiting = std::move(pending);
    pending.clear();
    for (auto& [count, done] : waiting) {
      core::stored_images r;
      r.digests.assign(count, std::string(64, 'a'));
      done(std::move(r));
    }
  }
};

struct rig {
  testing::virtual_time vt;
  testing::temp_dir dir;
  std::shared_ptr<answering_port> port = std::make_shared<answering_port>();
  std::shared_ptr<gated_images> images = std::make_shared<gated_images>();
  std::shared_ptr<std::vector<core::item_outcome>> outcomes = std::make_shared<std::vector<core::item_outcome>>();
  msg::store_actor store;
  actors::outcome_sink sink;
  msg::provider_actor provider;

  explicit rig(bool async) {
    port->async = async;
    actors::store_options opts;
    opts.clock = vt.anchor();
    store = actors::spawn_store(*vt.sys, store_adapter::open_sqlite_store(dir.file("jobs.db"), core::sync_mode::normal),
                                opts);
    auto seen = outcomes;
    sink = vt.sys->spawn([seen](actors::outcome_sink::pointer) -> actors::outcome_sink::behavior_type {
      return {[seen](msg::outcomes& m) {
        for (auto& o : m.items)
          seen->push_back(o);
      }};
    });
    core::provider_config cfg;
    cfg.name = "gemini";
    cfg.cost_per_image = {30'000, 60'000, 90'000};
    cfg.mode = async ? core::provider_mode::async : core::provider_mode::sync;
    cfg.polling = {core::default_poll_schedule(), 5min};
    auto env = std::make_shared<actors::worker_env>(actors::worker_env{
      cfg, port, store, vt.anchor(), nullptr, {}, {}, msg::admissibility_reports{}, images, 60s});
    provider = actors::spawn_provider(*vt.sys, env, sink, {});
    vt.run();
  }

  void submit_batch(int items) {
    msg::provider_batch b;
    for (int i = 1; i <= items; ++i)
      b.items.push_back(core::work_item{core::job_id{static_cast<std::uint64_t>(i)}, 1, core::tier::sd, 1, "a kite", "u"});
    caf::anon_send(provider, std::move(b));
    vt.run();
  }

  /// Asks the provider to drain; the flag turns true when it answers.
  std::shared_ptr<bool> drain() {
    auto answered = std::make_shared<bool>(false);
    auto p = provider;
    asker = vt.sys->spawn([p, answered](caf::event_based_actor* self) {
      self->request(p, caf::infinite, msg::drain_calls{}).then([answered](const msg::drained&) { *answered = true; });
    });
    vt.run();
    return answered;
  }
  caf::actor asker;

  ~rig() {
    caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    if (asker)
      caf::anon_send_exit(asker, caf::exit_reason::user_shutdown);
    vt.run();
  }
};

} // namespace

TEST_CASE("a drain waits until an answered remote job's images are on disk and its outcomes are reported") {
  rig r{true};
  r.submit_batch(2);
  REQUIRE(r.port->submits == 1);
  r.vt.advance(5s); // the first poll: the remote job is done, its images go to the store
  REQUIRE(r.images->pending.size() == 2);
  CHECK(r.outcomes->empty()); // not before the images are on disk
  auto drained = r.drain();
  // the remote job's id is on disk, but its provider has answered: the drain waits for the images
  CHECK_FALSE(*drained);
  r.images->finish_all();
  r.vt.run();
  REQUIRE(r.outcomes->size() == 2);
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::none);
    CHECK(o.images == std::vector<std::string>{std::string(64, 'a')});
  }
  CHECK(*drained);
  CHECK(r.port->submits == 1);
}

TEST_CASE("a drain waits until a sync call's images are on disk and its outcomes are reported") {
  rig r{false};
  r.submit_batch(3);
  REQUIRE(r.images->pending.size() == 3);
  auto drained = r.drain();
  CHECK_FALSE(*drained);
  CHECK(r.outcomes->empty());
  r.images->finish_all();
  r.vt.run();
  CHECK(r.outcomes->size() == 3);
  CHECK(*drained);
}

TEST_CASE("a drain with a remote job still running (nothing answered) does not wait for it") {
  rig r{true};
  r.submit_batch(1);
  REQUIRE(r.port->submits == 1);
  auto drained = r.drain(); // the first poll is 5 s away: its id is on disk, the next start polls it again
  CHECK(*drained);
  CHECK(r.images->pending.empty());
}

TEST_CASE("images sent inline are waited for however long the disk takes: a billed answer never times out into a failure") {
  rig r{false};
  r.submit_batch(2);
  REQUIRE(r.images->pending.size() == 2);
  r.vt.advance(5min); // far past images.download_timeout (60 s): a slow disk under load, not a provider
  CHECK(r.outcomes->empty());
  r.images->finish_all();
  r.vt.run();
  REQUIRE(r.outcomes->size() == 2);
  for (const auto& o : *r.outcomes) {
    CHECK(o.error == core::error_class::none);
    CHECK(o.cost == 30'000);
  }
  CHECK(r.port->submits == 2); // one call per item (a sync port takes no batches), and none again
}

TEST_CASE("images to download are bounded by images.download_timeout: past it the item fails as a timeout") {
  rig r{false};
  r.port->image = "https://images.example.com/a.png";
  r.submit_batch(1);
  REQUIRE(r.images->pending.size() == 1);
  r.vt.advance(61s);
  REQUIRE(r.outcomes->size() == 1);
  CHECK(r.outcomes->front().error == core::error_class::timeout);
  r.images->finish_all(); // a late answer changes nothing
  r.vt.run();
  CHECK(r.outcomes->size() == 1);
}
