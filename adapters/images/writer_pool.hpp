#pragma once
/// The threads that write result images (private to adapters/images): blocking file writes run here, never on
/// an actor's thread nor on the HTTP clients' task threads, and several run at once.

#include <cstddef>
#include <functional>
#include <memory>

namespace cutover::images {

class writer_pool {
public:
  /// Starts `threads` threads (at least one).
  explicit writer_pool(std::size_t threads);
  /// Tasks already posted still run; the threads end after the last one. Never waits (a task may hold the owner
  /// whose destructor drops the pool, on a thread of this pool).
  ~writer_pool();
  writer_pool(const writer_pool&) = delete;
  writer_pool& operator=(const writer_pool&) = delete;

  void post(std::function<void()> task);

private:
  struct state;
  std::shared_ptr<state> state_;
};

} // namespace cutover::images
