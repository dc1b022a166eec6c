#pragma once
/// Result images by content: a stored image is named by the SHA-256 of its bytes (64 lower-case hex digits), which
/// is what a job's result keeps instead of the image data. The port writes images where the engine keeps them
/// (files, in serve) and removes those the retention sweep gives up; core knows only names and rules.

#include "core/types.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

/// Whether `s` names a stored image: 64 lower-case hex digits. Anything else a result holds is a provider's own
/// value (base64 data or a URL, from stores written before the image store).
bool is_image_digest(std::string_view s);

/// Where image `digest` lives under the images directory: "ab/<digest>.png", one level of 256 folders made once.
/// Two levels (65,536 folders) kept each folder small, but nearly every image then made a folder of its own, and
/// making a folder cost as much as writing the image.
std::string image_relative_path(const std::string& digest);

/// Where earlier versions put image `digest`: "ab/cd/<digest>.png". Reads and removals look there too.
std::string legacy_image_relative_path(const std::string& digest);

/// The provider a job answered by the result cache shows (`provider: "cache"`, `cached: true`): no provider may
/// take this name. The cache's key is the tenant, prompt, tier and n (everything a provider is given), compared in
/// full by the store, never a hash that could collide across tenants.
inline constexpr std::string_view cache_provider = "cache";

/// What storing one item's images came to.
struct stored_images {
  error_class error = error_class::none; ///< none: every image is stored, `digests` names them in order
  std::string message;
  std::vector<std::string> digests;
};

/// The image store as the engine's actors see it. Calls return at once; `done` runs later on any thread (or at
/// once, inline), exactly once.
class image_port {
public:
  using callback = std::function<void(stored_images)>;
  virtual ~image_port() = default;
  /// Stores one item's images — base64 data, `data:` URLs or http(s) URLs to download — durably (on disk, fsynced)
  /// before `done` hears of it. A download larger or slower than the store's bounds fails the whole item.
  virtual void store(std::vector<std::string> images, instant now, callback done) = 0;
  /// Removes image `digest` unless it was stored at or after `unless_stored_since` by this process (a job that
  /// produced the same bytes again while the sweep ran). Whether it is gone.
  virtual bool remove(const std::string& digest, instant unless_stored_since) = 0;
  /// The store committed rows that name `digests`: files stored for them are no longer held back from remove().
  /// Until then a stored file no committed row names yet (its job's outcome is on its way to the store) is kept
  /// whatever the cutoff, so erasing another user's job with the same bytes cannot delete it.
  virtual void committed(const std::vector<std::string>& digests) { (void)digests; }
};

} // namespace cutover::core
