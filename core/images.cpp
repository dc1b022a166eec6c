#include "core/images.hpp"

namespace cutover::core {

bool is_image_digest(std::string_view s) {
  if (s.size() != 64)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string image_relative_path(const std::string& digest) {
  return digest.substr(0, 2) + "/" + digest.substr(2, 2) + "/" + digest + ".png";
}

std::string cache_key(const std::string& tenant, const std::string& prompt, tier t, int n) {
  // length-prefixed, so no field can run into the next
  std::string key;
  for (const auto& f : {tenant, std::string{to_string(t)}, std::to_string(n), prompt})
    key.append(std::to_string(f.size())).append(":").append(f);
  return key;
}

} // namespace cutover::core
