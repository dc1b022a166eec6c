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

std::string image_relative_path(const std::string& digest) { return digest.substr(0, 2) + "/" + digest + ".png"; }

std::string legacy_image_relative_path(const std::string& digest) {
  return digest.substr(0, 2) + "/" + digest.substr(2, 2) + "/" + digest + ".png";
}

} // namespace cutover::core
