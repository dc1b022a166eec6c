#pragma once
/// Signed, expiring image URLs: `/v1/images/<sha256>?exp=<unix seconds>&sig=<hex HMAC-SHA256(secret,
/// "<sha256>:<exp>")>`, so an OpenAI client or a browser fetches a result image without an API key, and only
/// until the URL expires. The secret comes from the environment or a file, never from the config.

#include "core/types.hpp"

#include <string>

namespace cutover::images {

/// The environment variable that, when set, holds the signing secret (several engines serving the same images).
constexpr const char* secret_env = "CUTOVER_IMAGE_URL_SECRET";
/// The file in the data directory that holds the secret otherwise: made once (32 random bytes, hex), mode 0600.
constexpr const char* secret_file = "image-url.secret";

struct loaded_secret {
  std::string secret; ///< empty on failure
  std::string source; ///< "env CUTOVER_IMAGE_URL_SECRET" or the file's path (for the log; never the secret)
  std::string error;
};

/// The secret from `secret_env`, else from `<data_dir>/image-url.secret`, created when missing.
loaded_secret load_url_secret(const std::string& data_dir);

class url_signer {
public:
  url_signer(std::string secret, std::string public_url, core::duration ttl)
    : secret_(std::move(secret)), public_url_(std::move(public_url)), ttl_(ttl) {}
  /// The URL of image `digest`, valid until now + ttl: absolute when a public URL is set.
  std::string url(const std::string& digest, core::instant now) const;
  /// The hex signature of `digest` valid until `exp` (unix seconds).
  std::string sign(const std::string& digest, long long exp) const;
  enum class verdict { ok, bad, expired };
  /// Whether `sig` signs `digest` until `exp_text` and that time has not passed (compared in constant time).
  verdict check(const std::string& digest, const std::string& exp_text, const std::string& sig, core::instant now) const;

private:
  std::string secret_;
  std::string public_url_;
  core::duration ttl_;
};

} // namespace cutover::images
