// The image store's writers (adapters/images): result images are written and fsynced on threads of their own, so a
// slow disk never holds up the task threads that carry the providers' HTTP calls (two of them in `serve`: with the
// writes on those threads, every provider answer waited behind up to two fsync pairs, which capped the whole path).

#include "adapters/images/image_files.hpp"

#include <pplx/pplxtasks.h>
#include <pplx/threadpool.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <vector>

using namespace cutover;
using namespace std::chrono_literals;

namespace {
/// An image store with fsync on, in a folder of its own removed at the end; store_one() stores one small image.
struct fsynced_images {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("cutover-writers-test-" + std::to_string(std::random_device{}()));
  std::shared_ptr<images::image_files> files = [this] {
    images::image_files_options o;
    o.dir = dir.string();
    o.fsync = true;
    return std::make_shared<images::image_files>(o);
  }();
  ~fsynced_images() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  /// Completed on the flush thread, after a writer thread wrote the file.
  std::future<core::stored_images> store_one() {
    auto written = std::make_shared<std::promise<core::stored_images>>();
    auto result = written->get_future();
    files->store({"iVBORw0KGgo="}, core::instant{std::chrono::seconds(1767225600)},
                 [written](core::stored_images r) { written->set_value(std::move(r)); });
    return result;
  }
};
} // namespace

TEST_CASE("image writes finish while every HTTP client task thread is busy") {
  constexpr std::size_t task_threads = 2; // as `serve` sizes the pool on a 2-core machine
  crossplat::threadpool::initialize_with_threads(task_threads);

  // Occupy every task thread until the write is over (or the test gave up on it).
  std::mutex m;
  std::condition_variable cv;
  std::size_t started = 0;
  bool release = false;
  std::vector<pplx::task<void>> blockers;
  for (std::size_t i = 0; i < task_threads; ++i)
    blockers.push_back(pplx::create_task([&] {
      std::unique_lock<std::mutex> lock{m};
      ++started;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }));
  {
    std::unique_lock<std::mutex> lock{m};
    REQUIRE(cv.wait_for(lock, 10s, [&] { return started == task_threads; }));
  }

  fsynced_images store;
  auto result = store.store_one();

  const bool finished = result.wait_for(10s) == std::future_status::ready;
  {
    std::lock_guard<std::mutex> guard{m};
    release = true;
  }
  cv.notify_all();
  for (auto& b : blockers)
    b.wait();
  REQUIRE(finished);
  const auto r = result.get();
  REQUIRE(r.error == core::error_class::none);
  REQUIRE(r.digests.size() == 1);
  REQUIRE(store.files->read(r.digests.front()).has_value());
}

namespace {
/// The names of this process's threads, as /proc shows them (and top -H, perf).
std::vector<std::string> thread_names() {
  std::vector<std::string> names;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(t.path() / "comm");
    std::string name;
    if (std::getline(in, name))
      names.push_back(name);
  }
  return names;
}
} // namespace

TEST_CASE("the image store's writer and flush threads carry names of their own, for profiles and top -H") {
  fsynced_images store;
  auto result = store.store_one(); // once it completes, a writer and the flusher have run (and named themselves)
  REQUIRE(result.wait_for(10s) == std::future_status::ready);
  REQUIRE(result.get().error == core::error_class::none);

  const auto names = thread_names();
  REQUIRE_FALSE(names.empty());
  CHECK(std::count(names.begin(), names.end(), "cutover-image") >= 1);
  CHECK(std::count(names.begin(), names.end(), "cutover-flush") >= 1);
}
