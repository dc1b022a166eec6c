/// The timer thread of the fake provider (boost::asio steady_timers; every map is touched on that thread only).

#include "tools/fake_provider/timers.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace cutover::fake {

namespace asio = boost::asio;

struct timers::impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::mutex mu;                 // orders posts against shutdown's post
  bool closed = false;           // under mu: no more posts
  std::uint64_t next = 0;                                       // timer thread only
  std::map<std::uint64_t, std::unique_ptr<asio::steady_timer>> pending; // timer thread only
  std::set<std::uint64_t> held;                                 // timer thread only, oldest first
  std::thread thread{[this] { io.run(); }};

  void start(std::chrono::milliseconds delay, std::function<void()> fn, bool is_held) {
    std::unique_lock<std::mutex> lock{mu};
    if (closed) {
      lock.unlock();
      fn();
      return;
    }
    // Posted before shutdown's own post, so it runs (and is then cancelled) before the thread ends.
    asio::post(io, [this, delay, fn = std::move(fn), is_held]() mutable {
      const auto id = ++next;
      auto timer = std::make_unique<asio::steady_timer>(io, delay);
      timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code&) {
        // Expired or cancelled (let go early, or shutdown): the answer goes out either way.
        pending.erase(id);
        held.erase(id);
        fn();
      });
      pending.emplace(id, std::move(timer));
      if (is_held) {
        held.insert(id);
        if (held.size() > max_held) {
          const auto oldest = *held.begin();
          held.erase(held.begin());
          pending.at(oldest)->cancel();
        }
      }
    });
  }
};

timers::timers() : impl_(std::make_unique<impl>()) {}

timers::~timers() { shutdown(); }

void timers::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  impl_->start(delay, std::move(fn), false);
}

void timers::hold(std::chrono::milliseconds limit, std::function<void()> release) {
  impl_->start(limit, std::move(release), true);
}

void timers::shutdown() {
  {
    std::lock_guard<std::mutex> lock{impl_->mu};
    if (impl_->closed)
      return;
    impl_->closed = true;
  }
  asio::post(impl_->io, [i = impl_.get()] {
    for (auto& [id, timer] : i->pending)
      timer->cancel();
    i->work.reset();
  });
  impl_->thread.join();
}

} // namespace cutover::fake
