#include "adapters/images/writer_pool.hpp"
#include "core/thread_name.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace cutover::images {

struct writer_pool::state {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::function<void()>> tasks;
  bool stopping = false;
};

writer_pool::writer_pool(std::size_t threads) : state_(std::make_shared<state>()) {
  for (std::size_t i = 0; i < (threads == 0 ? 1 : threads); ++i)
    std::thread([s = state_] { // each thread keeps the queue alive until it ends
      core::name_this_thread("cutover-image");
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock<std::mutex> lock{s->m};
          s->cv.wait(lock, [&] { return s->stopping || !s->tasks.empty(); });
          if (s->tasks.empty())
            return; // stopping, and nothing left to write
          task = std::move(s->tasks.front());
          s->tasks.pop_front();
        }
        task();
      }
    }).detach();
}

writer_pool::~writer_pool() {
  {
    std::lock_guard<std::mutex> guard{state_->m};
    state_->stopping = true;
  }
  state_->cv.notify_all();
}

void writer_pool::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> guard{state_->m};
    state_->tasks.push_back(std::move(task));
  }
  state_->cv.notify_one();
}

} // namespace cutover::images
