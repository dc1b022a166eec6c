#pragma once
/// How the API shows and serves stored result images: a result names each image by its SHA-256; an answer gives a
/// signed, expiring URL (GET /v1/images/{sha256}?exp=&sig=, fetched without an API key) or, when asked, the image
/// itself as base64 read from its file. Values from before the image store (base64 or a provider's URL in the
/// store) are shown as they are.

#include "core/types.hpp"

#include <functional>
#include <memory>
#include <string>

namespace cutover::images {
class image_files;
class url_signer;
} // namespace cutover::images

namespace cutover::http {

struct image_access {
  std::shared_ptr<images::image_files> files;
  std::shared_ptr<const images::url_signer> urls;
  std::function<core::instant()> now; ///< the actor clock's time (the engine's one clock)

  /// Appends `{"url": ...}` or, with `b64`, `{"b64_json": ...}` for one value of a result. An image swept after
  /// images.retention has no data: `{"b64_json": null, "error": "image_expired"}`.
  void append_image(std::string& out, const std::string& value, bool b64) const;
};

} // namespace cutover::http
