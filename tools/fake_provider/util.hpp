#pragma once
/// Small JSON and hashing helpers shared by the api files of the fake provider (cpprestsdk's JSON).

#include <cpprest/json.h>

#include <cstdint>
#include <string>

namespace cutover::fake {

/// The body as a JSON value; null when it is not JSON.
inline web::json::value parse_object(const std::string& body) {
  std::error_code ec;
  auto v = web::json::value::parse(body, ec);
  return ec ? web::json::value::null() : v;
}

/// FNV-1a of the prompt: the colour of its images.
inline std::uint32_t prompt_seed(const std::string& prompt) {
  std::uint32_t h = 2166136261u;
  for (unsigned char ch : prompt)
    h = (h ^ ch) * 16777619u;
  return h;
}

/// The first field of `obj` named one of `names` (camelCase or snake_case), or null.
inline web::json::value field(const web::json::value& obj, std::initializer_list<const char*> names) {
  if (!obj.is_object())
    return web::json::value::null();
  for (const char* n : names)
    if (obj.has_field(n))
      return obj.at(n);
  return web::json::value::null();
}

} // namespace cutover::fake
