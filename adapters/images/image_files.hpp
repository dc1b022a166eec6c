#pragma once
/// The image store on disk: one file per image, named by the SHA-256 of its bytes and sharded two levels deep
/// (`<dir>/ab/cd/<sha256>.png`), each written to a temporary file, fsynced, renamed into place and its folder
/// fsynced, so an image a job names survives a crash or a power loss once its job's outcome is reported.
/// Images a provider gives as URLs are downloaded first, within a size bound (the HTTP client's timeout bounds each
/// read; the worker bounds the whole item on the actor clock). Thread-safe: workers store, the store actor sweeps,
/// the HTTP edge reads.

#include "core/config.hpp"
#include "core/images.hpp"

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace cutover::images {

struct image_files_options {
  std::string dir;
  std::size_t max_download_bytes = 32 * 1024 * 1024;
  core::duration download_timeout = std::chrono::seconds(60);
  /// fsync each file and its folder (fsyncs_images below: unless store.synchronous is off), so a job row that
  /// survives a power loss never names a file that did not.
  bool fsync = true;
  /// Threads that write and fsync images, apart from the HTTP clients' task threads (which carry the providers'
  /// sockets). More writers store more images at once but take the disk from the store's commits: on this 2-core
  /// machine (ext4, every fsync its own write) 8 writers took bench/http_bench.sh from about 3,000 to 1,500
  /// accepted jobs/s; 4 kept it and still doubled bench/openai_path.sh over writes on the task threads.
  std::size_t writers = 4;
};

class writer_pool;

class image_files final : public core::image_port, public std::enable_shared_from_this<image_files> {
public:
  /// Creates `dir` when missing; throws std::runtime_error when it cannot.
  explicit image_files(image_files_options opts);
  ~image_files() override;

  void store(std::vector<std::string> images, core::instant now, callback done) override;
  bool remove(const std::string& digest, core::instant unless_stored_since) override;
  void committed(const std::vector<std::string>& digests) override;

  /// Writes `bytes` durably and returns their digest (blocking: the caller's thread does the fsyncs).
  std::string put(const std::string& bytes, core::instant now);
  /// The bytes of image `digest`; none when it is not stored (or `digest` is not a digest).
  std::optional<std::string> read(const std::string& digest) const;
  const std::string& dir() const { return opts_.dir; }

private:
  /// One image as the provider gave it, turned into bytes: base64 (plain or a data: URL) decoded; an http(s) URL is
  /// not handled here. Throws std::runtime_error for data that is not base64.
  static std::string decode(const std::string& image);
  void download(const std::string& url, std::function<void(core::stored_images)> done);

  image_files_options opts_;
  std::shared_ptr<writer_pool> writers_; ///< runs store()'s writes; its threads end once it is dropped and drained
  std::mutex mutex_;
  /// Images written by this process within the last hour, and when: the sweep leaves them alone, since a job that
  /// produced the same bytes again has not yet committed the row that would keep them.
  std::map<std::string, core::instant> recent_;
  /// The same writes in the order they were made, so those past the hour are forgotten from the front: a scan of
  /// recent_ at every write cost O(writes per hour) each, quadratic over a busy hour (seconds of CPU under the
  /// lock at 25,000 images, past images.download_timeout on a loaded machine).
  std::deque<std::pair<core::instant, std::string>> recent_order_;
  /// Writes not yet named by a committed row, per digest (a guard against remove()): how many, and the last one.
  /// One whose row never comes (an item that failed after storing an image) is let go with recent_, after the hour.
  std::map<std::string, std::pair<int, core::instant>> uncommitted_;
};

/// Whether result image files and their folders are fsynced before the worker reports the outcome: unless the
/// store itself is `off`. With `normal` the job's row may lose its last commits in a power loss, but a row that
/// survives must not name a file that did not (a file is written once, and rows point at it for its retention).
constexpr bool fsyncs_images(core::sync_mode m) { return m != core::sync_mode::off; }

/// SHA-256 of `bytes` as 64 lower-case hex digits.
std::string sha256_hex(const std::string& bytes);

} // namespace cutover::images
