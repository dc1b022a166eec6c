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

  std::random_device rd;
  const auto dir = std::filesystem::temp_directory_path() / ("cutover-writers-test-" + std::to_string(rd()));
  images::image_files_options o;
  o.dir = dir.string();
  o.fsync = true;
  auto files = std::make_shared<images::image_files>(o);
  std::promise<core::stored_images> written;
  auto result = written.get_future();
  files->store({"iVBORw0KGgo="}, core::instant{std::chrono::seconds(1767225600)},
               [&written](core::stored_images r) { written.set_value(std::move(r)); });

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
  REQUIRE(files->read(r.digests.front()).has_value());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
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
  std::random_device rd;
  const auto dir = std::filesystem::temp_directory_path() / ("cutover-writers-test-" + std::to_string(rd()));
  images::image_files_options o;
  o.dir = dir.string();
  o.fsync = true;
  auto files = std::make_shared<images::image_files>(o);
  std::promise<core::stored_images> written;
  auto result = written.get_future();
  // completed on the flush thread after a writer thread wrote it: both have run (and named themselves) by then
  files->store({"iVBORw0KGgo="}, core::instant{std::chrono::seconds(1767225600)},
               [&written](core::stored_images r) { written.set_value(std::move(r)); });
  REQUIRE(result.wait_for(10s) == std::future_status::ready);
  REQUIRE(result.get().error == core::error_class::none);

  const auto names = thread_names();
  REQUIRE_FALSE(names.empty());
  CHECK(std::count(names.begin(), names.end(), "cutover-image") >= 1);
  CHECK(std::count(names.begin(), names.end(), "cutover-flush") >= 1);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
