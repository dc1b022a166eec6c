#pragma once
/// Durability shared by many image writes (private to adapters/images): writers write and name files without
/// flushing, then ask for the next flush; one thread runs a flush for every request waiting when it starts and
/// completes all of them together, so one flush covers as many writes as arrived during the previous one (group
/// commit, as the store does for its rows). A completion never fires before a flush that began after its request.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace cutover::images {

class group_flush {
public:
  /// Makes every write finished before the call durable; throws std::runtime_error when it cannot.
  using flush_fn = std::function<void()>;
  /// Hears the outcome of the flush that covered a request: empty when durable, else why not.
  using done_fn = std::function<void(const std::string& error)>;

  /// Starts the flushing thread.
  explicit group_flush(flush_fn flush);
  /// Requests already made are still flushed and completed; the thread ends after the last. Never waits (a
  /// completion may drop the owner whose destructor drops this, on the flushing thread).
  ~group_flush();
  group_flush(const group_flush&) = delete;
  group_flush& operator=(const group_flush&) = delete;

  /// `done` runs on the flushing thread after a flush that began after this call, i.e. once every write the caller
  /// finished before calling is durable.
  void after_next_flush(done_fn done);
  /// Requests waiting for a flush that has not begun yet (observable state, and what tests wait on).
  std::size_t waiting() const;

private:
  struct state;
  std::shared_ptr<state> state_;
};

/// The flush for a folder of image files: `syncfs` of the filesystem that holds `dir` — one device cache flush for
/// every write on it. On this machine's ext4 (no journal) each fsync is its own flush: a batch of 64 images cost
/// 24-34 ms as one fsync per file and folder, 3.6-13 ms as one syncfs (the spread is other processes' dirty data,
/// which syncfs writes too). Throws std::runtime_error when `dir` cannot be opened.
group_flush::flush_fn syncfs_of(const std::string& dir);

} // namespace cutover::images
