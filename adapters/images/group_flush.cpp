#include "adapters/images/group_flush.hpp"
#include "core/thread_name.hpp"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace cutover::images {

struct group_flush::state {
  flush_fn flush;
  mutable std::mutex m;
  std::condition_variable cv;
  std::vector<done_fn> waiting; ///< requests for the next flush, in arrival order
  bool stopping = false;
};

group_flush::group_flush(flush_fn flush) : state_(std::make_shared<state>()) {
  state_->flush = std::move(flush);
  std::thread([s = state_] { // keeps the state (and the flush function) alive until the last request is completed
    core::name_this_thread("cutover-flush");
    for (;;) {
      std::vector<done_fn> batch;
      {
        std::unique_lock<std::mutex> lock{s->m};
        s->cv.wait(lock, [&] { return s->stopping || !s->waiting.empty(); });
        if (s->waiting.empty())
          return; // stopping, and nothing left to flush
        batch.swap(s->waiting); // every request from here on waits for the next flush: this one may have begun late
      }
      std::string error;
      try {
        s->flush();
      } catch (const std::exception& e) {
        error = e.what();
        if (error.empty())
          error = "the flush failed";
      }
      for (auto& done : batch)
        done(error);
    }
  }).detach();
}

group_flush::~group_flush() {
  {
    std::lock_guard<std::mutex> guard{state_->m};
    state_->stopping = true;
  }
  state_->cv.notify_all();
}

void group_flush::after_next_flush(done_fn done) {
  {
    std::lock_guard<std::mutex> guard{state_->m};
    state_->waiting.push_back(std::move(done));
  }
  state_->cv.notify_one();
}

std::size_t group_flush::waiting() const {
  std::lock_guard<std::mutex> guard{state_->m};
  return state_->waiting.size();
}

group_flush::flush_fn syncfs_of(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("opening " + dir + ": " + std::strerror(errno));
  auto held = std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  return [held, dir] {
    if (::syncfs(*held) != 0)
      throw std::runtime_error("syncfs of " + dir + ": " + std::strerror(errno));
  };
}

} // namespace cutover::images
