#include "adapters/images/image_files.hpp"
#include "adapters/images/group_flush.hpp"
#include "adapters/images/writer_pool.hpp"

#include <cpprest/http_client.h>
#include <cpprest/rawptrstream.h>
#include <cpprest/containerstream.h>
#include <openssl/sha.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cutover::images {

namespace fs = std::filesystem;
using core::error_class;
using core::stored_images;

namespace {

/// How long this process remembers writing an image (see image_files::recent_): far longer than a job takes from
/// its images' write to the commit of its outcome.
constexpr core::duration remember_writes = std::chrono::hours(1);

void write_all(int fd, const std::string& bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw std::runtime_error("writing " + path + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

stored_images failed(error_class e, std::string message) {
  stored_images r;
  r.error = e;
  r.message = std::move(message);
  return r;
}

/// Reads the body up to `max` bytes; false once it grew past that (the rest is never read).
struct capped_read {
  concurrency::streams::istream in;
  concurrency::streams::container_buffer<std::string> buf;
  std::size_t max = 0;
  std::size_t total = 0; ///< bytes read (the buffer's string may be allocated ahead of them)
};
pplx::task<bool> read_more(std::shared_ptr<capped_read> r) {
  return r->in.read(r->buf, 64 * 1024).then([r](std::size_t n) -> pplx::task<bool> {
    r->total += n;
    if (r->total > r->max)
      return pplx::task_from_result(false);
    if (n == 0)
      return pplx::task_from_result(true);
    return read_more(r);
  });
}

/// Closes a file descriptor when it goes out of scope.
struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// A name beside `final_path` that no other write uses, hidden from listings.
fs::path temporary_name(const fs::path& final_path, const std::string& digest) {
  static std::atomic<std::uint64_t> seq{0};
  return final_path.parent_path() /
         ("." + digest + "." + std::to_string(::getpid()) + "." + std::to_string(++seq) + ".tmp");
}

/// Renames `tmp` over `final_path`; on failure removes `tmp` and throws.
void rename_into(const fs::path& tmp, const fs::path& final_path) {
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const auto why = std::string(std::strerror(errno));
    ::unlink(tmp.c_str());
    throw std::runtime_error("renaming into " + final_path.string() + ": " + why);
  }
}

/// ::open(path, flags, 0644) for a file in `shard`, making the shard folder again when it is gone (one made at start
/// and since removed by hand): -1 with errno set when the open fails; throws when the folder cannot be made.
int open_in_shard(const fs::path& path, int flags, const fs::path& shard) {
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  std::error_code ec;
  fs::create_directories(shard, ec);
  if (ec)
    throw std::runtime_error("cannot create " + shard.string() + ": " + ec.message());
  return ::open(path.c_str(), flags, 0644);
}

/// The whole of the file at `path` (files are named only once written whole, so its size at open is its size); none
/// when it cannot be opened or read.
std::optional<std::string> read_file(const std::string& path) {
  const fd_closer f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  struct stat st {};
  if (f.fd < 0 || ::fstat(f.fd, &st) != 0)
    return std::nullopt;
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const auto n = ::read(f.fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return std::nullopt;
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

bool is_http_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

} // namespace

std::string sha256_hex(const std::string& bytes) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

image_files::image_files(image_files_options opts)
    : opts_(std::move(opts)), writers_(std::make_shared<writer_pool>(opts_.writers)) {
  std::error_code ec;
  fs::create_directories(opts_.dir, ec);
  if (ec)
    throw std::runtime_error("cannot create the images folder " + opts_.dir + ": " + ec.message());
  // the 256 shard folders, once: a write then only makes its file (the first flush makes new folders durable)
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 256; ++i) {
    const char name[] = {hex[i >> 4], hex[i & 15], '\0'};
    fs::create_directory(fs::path(opts_.dir) / name, ec);
    if (ec)
      throw std::runtime_error("cannot create the images folder " + (fs::path(opts_.dir) / name).string() + ": " +
                               ec.message());
  }
  if (opts_.fsync)
    flush_ = std::make_unique<group_flush>(opts_.flush ? opts_.flush : syncfs_of(opts_.dir));
}

image_files::~image_files() = default;

std::size_t image_files::awaiting_flush() const { return flush_ ? flush_->waiting() : 0; }

std::string image_files::decode(const std::string& image) {
  std::string b64 = image;
  if (image.rfind("data:", 0) == 0) {
    const auto comma = image.find(',');
    if (comma == std::string::npos || image.rfind(";base64", comma) == std::string::npos)
      throw std::runtime_error("a data: URL that is not base64");
    b64 = image.substr(comma + 1);
  }
  try {
    const auto bytes = utility::conversions::from_base64(b64);
    if (bytes.empty())
      throw std::runtime_error("empty");
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception&) {
    throw std::runtime_error("image data that is not base64");
  }
}

std::string image_files::put(const std::string& bytes, core::instant now) {
  const auto digest = write(bytes, now);
  if (!flush_)
    return digest;
  std::promise<std::string> flushed;
  auto error = flushed.get_future();
  flush_->after_next_flush([&flushed](const std::string& e) { flushed.set_value(e); });
  if (const auto e = error.get(); !e.empty())
    throw std::runtime_error(e);
  return digest;
}

std::string image_files::write(const std::string& bytes, core::instant now) {
  const auto digest = sha256_hex(bytes);
  {
    std::lock_guard<std::mutex> guard{mutex_};
    recent_[digest] = now; // before the file exists: a sweep from now on leaves it alone
    auto& held = uncommitted_[digest]; // and so does an erasure, until a committed row names it
    held.first += 1;
    held.second = now;
    recent_order_.emplace_back(now, digest);
    while (!recent_order_.empty() && recent_order_.front().first < now - remember_writes) {
      const auto& [at, old] = recent_order_.front();
      if (auto it = recent_.find(old); it != recent_.end() && it->second == at) // not written again since
        recent_.erase(it);
      if (auto it = uncommitted_.find(old); it != uncommitted_.end() && it->second.second == at)
        uncommitted_.erase(it);
      recent_order_.pop_front();
    }
  }
  const fs::path final_path = fs::path(opts_.dir) / core::image_relative_path(digest);
  const fs::path shard = final_path.parent_path();
  // An unnamed file, given its name once whole: no temporary name to add to the folder and rename away.
  if (unnamed_files_.load(std::memory_order_relaxed)) {
    const fd_closer f{open_in_shard(shard, O_TMPFILE | O_WRONLY | O_CLOEXEC, shard)};
    if (f.fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      throw std::runtime_error("creating a file in " + shard.string() + ": " + std::strerror(errno));
    if (f.fd >= 0) {
      write_all(f.fd, bytes, final_path.string());
      const auto self = "/proc/self/fd/" + std::to_string(f.fd);
      if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, final_path.c_str(), AT_SYMLINK_FOLLOW) == 0)
        return digest; // durable after the next flush: it writes the file, its name and any folder made again
      if (errno == EEXIST) {
        // the name holds a file from before (these bytes, or what a crash or a failed flush left of them, which the
        // page cache may show though the disk never got them): this file takes its place, never the old one reused
        const auto tmp = temporary_name(final_path, digest);
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) == 0) {
          rename_into(tmp, final_path);
          return digest;
        }
      }
      // anything else (no /proc to name the file by, a policy that refuses): named the other way from now on
      unnamed_files_.store(false, std::memory_order_relaxed);
    } else {
      unnamed_files_.store(false, std::memory_order_relaxed); // a filesystem without unnamed files
    }
  }
  write_named(bytes, final_path, digest);
  return digest;
}

void image_files::write_named(const std::string& bytes, const fs::path& final_path, const std::string& digest) {
  const auto tmp = temporary_name(final_path, digest);
  {
    const fd_closer f{open_in_shard(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, final_path.parent_path())};
    if (f.fd < 0)
      throw std::runtime_error("creating " + tmp.string() + ": " + std::strerror(errno));
    try {
      write_all(f.fd, bytes, tmp.string());
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  rename_into(tmp, final_path);
}

std::optional<std::string> image_files::read(const std::string& digest) const {
  if (!core::is_image_digest(digest))
    return std::nullopt;
  if (auto bytes = read_file(opts_.dir + "/" + core::image_relative_path(digest)))
    return bytes;
  return read_file(opts_.dir + "/" + core::legacy_image_relative_path(digest));
}

bool image_files::remove(const std::string& digest, core::instant unless_stored_since) {
  if (!core::is_image_digest(digest))
    return false;
  std::lock_guard<std::mutex> guard{mutex_};
  if (auto it = recent_.find(digest); it != recent_.end() && it->second >= unless_stored_since)
    return false;
  if (uncommitted_.count(digest) != 0) // a job's outcome that names it is not on disk yet
    return false;
  std::error_code ec;
  const bool removed = fs::remove(fs::path(opts_.dir) / core::image_relative_path(digest), ec);
  return fs::remove(fs::path(opts_.dir) / core::legacy_image_relative_path(digest), ec) || removed;
}

void image_files::committed(const std::vector<std::string>& digests) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto& d : digests)
    if (auto it = uncommitted_.find(d); it != uncommitted_.end() && --it->second.first <= 0)
      uncommitted_.erase(it);
}

void image_files::download(const std::string& url, std::function<void(stored_images)> done) {
  const auto max = opts_.max_download_bytes;
  web::http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(opts_.download_timeout));
  std::shared_ptr<web::http::client::http_client> client;
  try {
    client = std::make_shared<web::http::client::http_client>(url, cfg);
  } catch (const std::exception& e) {
    done(failed(error_class::bad_response, "the provider's image URL is not usable: " + std::string(e.what())));
    return;
  }
  client->request(web::http::methods::GET)
    .then([client, max, url](web::http::http_response resp) -> pplx::task<stored_images> {
      if (resp.status_code() != 200)
        return pplx::task_from_result(failed(error_class::bad_response, "downloading the image at " + url +
                                                                          " answered HTTP " +
                                                                          std::to_string(resp.status_code())));
      if (resp.headers().content_length() > max)
        return pplx::task_from_result(failed(error_class::bad_response, "the image at " + url + " is larger than " +
                                                                          "images.max_download_bytes (" +
                                                                          std::to_string(max) + " bytes)"));
      auto r = std::make_shared<capped_read>();
      r->in = resp.body();
      r->max = max;
      return read_more(r).then([r, url, max](bool complete) {
        if (!complete)
          return failed(error_class::bad_response, "the image at " + url + " is larger than " +
                                                     "images.max_download_bytes (" + std::to_string(max) + " bytes)");
        stored_images ok;
        ok.digests.push_back(r->buf.collection().substr(0, r->total)); // the bytes, for now: the caller writes them
        return ok;
      });
    })
    .then([done, url](pplx::task<stored_images> t) {
      try {
        done(t.get());
      } catch (const std::exception& e) {
        const std::string what = e.what();
        const bool timed_out = what.find("timed out") != std::string::npos;
        done(failed(timed_out ? error_class::timeout : error_class::bad_response,
                    "downloading the image at " + url + " failed: " + what));
      }
    });
}

void image_files::store(std::vector<std::string> images, core::instant now, callback done) {
  // Every image of the item becomes bytes (decoded here, or downloaded), then all are written by the writer pool
  // and made durable by the next group flush: neither runs on an actor's thread, nor on the task threads that carry
  // the providers' HTTP calls (two of them: an fsync there held every provider answer behind it and capped the
  // whole path at 2 fsync pairs). `done` hears of the item only once its files are durable.
  if (images.empty())
    return done(failed(error_class::bad_response, "no image to store"));
  struct gather {
    std::mutex m;
    std::vector<std::string> bytes;
    std::size_t left = 0;
    stored_images failure;
    callback done;
  };
  auto g = std::make_shared<gather>();
  g->bytes.resize(images.size());
  g->left = images.size();
  g->done = std::move(done);
  auto self = shared_from_this();
  auto finish_one = [g, self, now](std::size_t i, stored_images r) {
    bool last = false;
    {
      std::lock_guard<std::mutex> guard{g->m};
      if (r.error != error_class::none && g->failure.error == error_class::none)
        g->failure = std::move(r);
      else if (r.error == error_class::none)
        g->bytes[i] = std::move(r.digests.front());
      last = --g->left == 0;
    }
    if (!last)
      return;
    if (g->failure.error != error_class::none)
      return g->done(std::move(g->failure));
    self->writers_->post([g, self, now] {
      stored_images out;
      try {
        for (const auto& b : g->bytes)
          out.digests.push_back(self->write(b, now));
      } catch (const std::exception& e) {
        return g->done(failed(error_class::server, std::string{"storing the image failed: "} + e.what()));
      }
      if (!self->flush_)
        return g->done(std::move(out));
      self->flush_->after_next_flush([g, out = std::move(out)](const std::string& error) mutable {
        if (!error.empty())
          return g->done(failed(error_class::server, "storing the image failed: " + error));
        g->done(std::move(out));
      });
    });
  };
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (is_http_url(images[i])) {
      download(images[i], [finish_one, i](stored_images r) { finish_one(i, std::move(r)); });
      continue;
    }
    stored_images r;
    try {
      r.digests.push_back(decode(images[i]));
      if (r.digests.front().size() > opts_.max_download_bytes)
        r = failed(error_class::bad_response, "an image larger than images.max_download_bytes (" +
                                                std::to_string(opts_.max_download_bytes) + " bytes)");
    } catch (const std::exception& e) {
      r = failed(error_class::bad_response, std::string{"the provider's image: "} + e.what());
    }
    finish_one(i, std::move(r));
  }
}

} // namespace cutover::images
