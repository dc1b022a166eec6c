// Group durability for result image files (adapters/images): writers write and name files without flushing, and
// one flush covers every write finished before it began, so a burst of images costs one device flush instead of two
// fsyncs each. No writer's caller hears of its image before the flush that covers it has ended: the job's outcome
// is committed, and its HTTP answer sent, only after that.

#include "adapters/images/group_flush.hpp"
#include "adapters/images/image_files.hpp"
#include "adapters/providers/png.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

/// A flush that counts its calls and holds each one until the test releases it.
struct gated_flush {
  std::mutex m;
  std::condition_variable cv;
  int started = 0;
  int released = 0;
  int finished = 0;
  bool fail = false;

  std::function<void()> fn() {
    return [this] {
      std::unique_lock<std::mutex> lock{m};
      ++started;
      cv.notify_all();
      cv.wait(lock, [&] { return released >= started; });
      ++finished;
      cv.notify_all();
      if (fail)
        throw std::runtime_error("the disk is gone");
    };
  }
  void release_one() {
    std::lock_guard<std::mutex> guard{m};
    ++released;
    cv.notify_all();
  }
  bool wait_started(int n) {
    std::unique_lock<std::mutex> lock{m};
    return cv.wait_for(lock, 10s, [&] { return started >= n; });
  }
};

/// What the completions saw: how many flushes had ended when each one ran.
struct completions {
  std::mutex m;
  std::condition_variable cv;
  std::vector<int> flushes_ended_at;
  std::vector<std::string> errors;

  void add(int ended, std::string error = {}) {
    std::lock_guard<std::mutex> guard{m};
    flushes_ended_at.push_back(ended);
    errors.push_back(std::move(error));
    cv.notify_all();
  }
  std::size_t count() {
    std::lock_guard<std::mutex> guard{m};
    return flushes_ended_at.size();
  }
  bool wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock{m};
    return cv.wait_for(lock, 10s, [&] { return flushes_ended_at.size() >= n; });
  }
};

template <class Pred>
bool wait_until(Pred pred) { // polls a condition another thread makes true, bounded (no fixed sleep)
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::yield();
  }
  return true;
}

struct temp_images {
  std::filesystem::path dir;
  temp_images() {
    std::random_device rd;
    dir = std::filesystem::temp_directory_path() / ("cutover-group-flush-test-" + std::to_string(rd()));
  }
  ~temp_images() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

const core::instant t0{std::chrono::seconds(1767225600)};

std::string png_base64(int i) { // distinct small images: a PNG signature and a counter
  return providers::base64_encode("\x89PNG\r\n\x1a\n image " + std::to_string(i));
}

/// The first completion saw flush 1 end, every later one (the `during` requests made while flush 1 ran) flush 2,
/// with no error: two flushes for them all.
void check_two_flushes(completions& seen, const gated_flush& gate, std::size_t during) {
  std::lock_guard<std::mutex> guard{seen.m};
  CHECK(gate.started == 2);
  REQUIRE(seen.flushes_ended_at.size() == 1 + during);
  CHECK(seen.flushes_ended_at.front() == 1);
  for (std::size_t i = 1; i < seen.flushes_ended_at.size(); ++i)
    CHECK(seen.flushes_ended_at[i] == 2);
  for (const auto& e : seen.errors)
    CHECK(e.empty());
}

} // namespace

TEST_CASE("requests made while a flush runs share the one flush that follows, and none completes before it ends") {
  gated_flush gate;
  completions seen;
  auto flusher = std::make_unique<images::group_flush>(gate.fn());
  flusher->after_next_flush([&](const std::string& e) { seen.add(gate.finished, e); });
  REQUIRE(gate.wait_started(1));

  constexpr int during = 10;
  for (int i = 0; i < during; ++i)
    flusher->after_next_flush([&](const std::string& e) { seen.add(gate.finished, e); });
  CHECK(flusher->waiting() == during); // asked after flush 1 began: flush 1 may not cover their writes
  CHECK(seen.count() == 0);            // flush 1 has not ended

  gate.release_one();
  REQUIRE(seen.wait_for(1));
  REQUIRE(gate.wait_started(2));
  CHECK(seen.count() == 1); // flush 2 runs for the ten: none of them hears of it before it ends
  gate.release_one();
  REQUIRE(seen.wait_for(1 + during));
  flusher.reset(); // the thread ends: nothing waits
  check_two_flushes(seen, gate, during); // eleven requests, two flushes
}

TEST_CASE("image files stored while a flush runs are made durable by one following flush before any store completes") {
  temp_images tmp;
  gated_flush gate;
  completions seen;
  images::image_files_options o;
  o.dir = tmp.dir.string();
  o.fsync = true;
  o.flush = gate.fn();
  auto files = std::make_shared<images::image_files>(o);

  files->store({png_base64(0)}, t0, [&](core::stored_images r) {
    seen.add(gate.finished, r.error == core::error_class::none ? "" : r.message);
  });
  REQUIRE(gate.wait_started(1)); // flush 1 runs for image 0, and is held

  constexpr std::size_t during = 16;
  for (std::size_t i = 1; i <= during; ++i)
    files->store({png_base64(static_cast<int>(i))}, t0, [&](core::stored_images r) {
      seen.add(gate.finished, r.error == core::error_class::none ? "" : r.message);
    });
  REQUIRE(wait_until([&] { return files->awaiting_flush() == during; })); // all written, none yet durable
  CHECK(seen.count() == 0);

  gate.release_one();
  REQUIRE(seen.wait_for(1));
  REQUIRE(gate.wait_started(2));
  CHECK(seen.count() == 1);
  gate.release_one();
  REQUIRE(seen.wait_for(1 + during));
  check_two_flushes(seen, gate, during); // seventeen images, two flushes (not two fsyncs per image)
}

TEST_CASE("a failed flush fails every image store it covered, and the files stay readable for a retry") {
  temp_images tmp;
  gated_flush gate;
  gate.fail = true;
  gate.released = 1000; // no hold: every flush fails at once
  std::mutex m;
  std::condition_variable cv;
  std::vector<core::stored_images> results;
  images::image_files_options o;
  o.dir = tmp.dir.string();
  o.flush = gate.fn();
  auto files = std::make_shared<images::image_files>(o);
  for (int i = 0; i < 3; ++i)
    files->store({png_base64(i)}, t0, [&](core::stored_images r) {
      std::lock_guard<std::mutex> guard{m};
      results.push_back(std::move(r));
      cv.notify_all();
    });
  std::unique_lock<std::mutex> lock{m};
  REQUIRE(cv.wait_for(lock, 10s, [&] { return results.size() == 3; }));
  for (const auto& r : results) {
    CHECK(r.error == core::error_class::server);
    CHECK(r.message.find("the disk is gone") != std::string::npos);
    CHECK(r.digests.empty());
  }
  CHECK_THROWS_WITH(files->put("\x89PNG more", t0), Catch::Contains("the disk is gone"));
}

TEST_CASE("with store.synchronous off image stores complete without any flush") {
  temp_images tmp;
  gated_flush gate; // never released: a flush would hold the store forever
  images::image_files_options o;
  o.dir = tmp.dir.string();
  o.fsync = images::fsyncs_images(core::sync_mode::off);
  o.flush = gate.fn();
  auto files = std::make_shared<images::image_files>(o);
  completions seen;
  std::string digest_seen;
  files->store({png_base64(1)}, t0, [&](core::stored_images r) {
    if (r.error == core::error_class::none)
      digest_seen = r.digests.front(); // before add(): the test reads it once add() has woken it
    seen.add(0, r.error == core::error_class::none ? "" : r.message);
  });
  REQUIRE(seen.wait_for(1));
  {
    std::lock_guard<std::mutex> guard{seen.m};
    CHECK(seen.errors.front().empty());
  }
  CHECK(files->read(digest_seen).has_value());
  CHECK(gate.started == 0);
  CHECK(files->awaiting_flush() == 0);
  const auto digest = files->put("\x89PNG blocking", t0);
  CHECK(files->read(digest) == std::string{"\x89PNG blocking"});
}
