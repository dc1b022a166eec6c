#pragma once
/// The image store on disk: one file per image, named by the SHA-256 of its bytes, in one of 256 folders made at
/// start (`<dir>/ab/<sha256>.png`; files an earlier version left at `<dir>/ab/cd/<sha256>.png` are read and removed
/// too). Each is written as an unnamed file and named once whole (where the filesystem has no unnamed files: to a
/// temporary name, renamed into place); then one flush makes every write finished so far durable together
/// (group_flush), and only then does each write's caller hear of it, so an image a job names survives a crash or a
/// power loss once its job's outcome is reported.
/// Images a provider gives as URLs are downloaded first, within a size bound (the HTTP client's timeout bounds each
/// read; the worker bounds the whole item on the actor clock). Thread-safe: workers store, the store actor sweeps,
/// the HTTP edge reads.

#include "core/config.hpp"
#include "core/images.hpp"

#include <atomic>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
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
  /// Flush the files and their folders before a write is reported (fsyncs_images below: unless store.synchronous
  /// is off), so a job row that survives a power loss never names a file that did not.
  bool fsync = true;
  /// How writes are made durable together when `fsync` is on; empty: syncfs_of(dir) (group_flush.hpp). Tests
  /// inject their own to see when, and how often, it runs.
  std::function<void()> flush;
  /// Threads that write images, apart from the HTTP clients' task threads (which carry the providers' sockets).
  /// While each writer fsynced its own files, 8 writers took bench/http_bench.sh from about 3,000 to 1,500
  /// accepted jobs/s on this 2-core machine, and 4 kept it; writers no longer flush, but 4 stayed.
  std::size_t writers = 4;
};

class writer_pool;
class group_flush;

class image_files final : public core::image_port, public std::enable_shared_from_this<image_files> {
public:
  /// Creates `dir` when missing; throws std::runtime_error when it cannot.
  explicit image_files(image_files_options opts);
  ~image_files() override;

  void store(std::vector<std::string> images, core::instant now, callback done) override;
  bool remove(const std::string& digest, core::instant unless_stored_since) override;
  void committed(const std::vector<std::string>& digests) override;

  /// Writes `bytes` durably and returns their digest (blocking: waits for the flush that covers the write, so never
  /// call it from a store() completion, which runs on the flushing thread).
  std::string put(const std::string& bytes, core::instant now);
  /// Writes finished and waiting for a flush that has not begun yet.
  std::size_t awaiting_flush() const;
  /// The bytes of image `digest`; none when it is not stored (or `digest` is not a digest).
  std::optional<std::string> read(const std::string& digest) const;
  const std::string& dir() const { return opts_.dir; }

private:
  /// One image as the provider gave it, turned into bytes: base64 (plain or a data: URL) decoded; an http(s) URL is
  /// not handled here. Throws std::runtime_error for data that is not base64.
  static std::string decode(const std::string& image);
  void download(const std::string& url, std::function<void(core::stored_images)> done);
  /// Writes `bytes` as a file in place (not yet durable) and returns their digest.
  std::string write(const std::string& bytes, core::instant now);
  /// Writes `bytes` to a temporary name beside `final_path` and renames it into place.
  void write_named(const std::string& bytes, const std::filesystem::path& final_path, const std::string& digest);

  image_files_options opts_;
  std::shared_ptr<writer_pool> writers_; ///< runs store()'s writes; its threads end once it is dropped and drained
  std::unique_ptr<group_flush> flush_;   ///< none when `fsync` is off; its thread ends once dropped and drained
  /// Whether images are written as unnamed files (O_TMPFILE) and then named; false once the filesystem or the
  /// process could not (no O_TMPFILE, no /proc): then each is written to a temporary name and renamed.
  std::atomic<bool> unnamed_files_{true};
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
