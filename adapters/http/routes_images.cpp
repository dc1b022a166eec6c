// GET /v1/images/{sha256}?exp=&sig=: a stored result image by its signed URL. The signature is the credential (as a
// presigned object URL): the route asks for no key, so OpenAI clients and browsers fetch it as it is; only a caller
// who could read the job (scope `read`, its tenant) was given the URL, and only until it expires.

#include "adapters/http/image_access.hpp"
#include "adapters/http/json_out.hpp"
#include "adapters/http/routes.hpp"
#include "adapters/images/image_files.hpp"
#include "adapters/images/url_signer.hpp"
#include "core/images.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>

namespace cutover::http {

namespace {

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

void serve_image(const api_context& c, const request& req, const reply& rep) {
  const auto& digest = req.params[0];
  const auto* images = c.opts.images.get();
  if (images == nullptr || !core::is_image_digest(digest))
    return rep.error(404, "not_found", "no image " + digest);
  // the signature first: without a valid one, the answer says nothing of whether the image exists
  switch (images->urls->check(digest, req.query_param("exp"), req.query_param("sig"), images->now())) {
    case images::url_signer::verdict::bad:
      return rep.error(403, "invalid_signature", "the image URL's signature is not valid for this image and expiry");
    case images::url_signer::verdict::expired:
      return rep.error(403, "url_expired", "the image URL has expired; read the job again for a fresh one");
    case images::url_signer::verdict::ok:
      break;
  }
  auto bytes = images->files->read(digest);
  if (!bytes)
    return rep.error(404, "not_found", "image " + digest + " is not stored (it may have passed images.retention)");
  // a cache may keep the image as long as its URL is valid, never longer: past `exp` the URL answers 403, and a
  // cached copy would outlive the expiry (and a user's erasure) that the signature promises
  const long long now_s =
    std::chrono::duration_cast<std::chrono::seconds>(images->now().time_since_epoch()).count();
  const long long left = std::max(0LL, std::stoll(req.query_param("exp")) - now_s); // checked digits above
  rep.send(200, std::move(*bytes), "image/png",
           {{"Cache-Control", "private, max-age=" + std::to_string(left) + ", immutable"}});
}

} // namespace

void image_access::append_image(std::string& out, const std::string& value, bool b64) const {
  if (!core::is_image_digest(value) || !files || !urls)
    return append_image_json(out, value);
  if (!b64) {
    out += "{\"url\":";
    append_json_string(out, urls->url(value, now()));
    out += '}';
    return;
  }
  const auto bytes = files->read(value);
  if (!bytes) {
    out += "{\"b64_json\":null,\"error\":\"image_expired\"}";
    return;
  }
  out += "{\"b64_json\":";
  append_json_string(out, base64(*bytes));
  out += '}';
}

void add_image_routes(route_table& t, api_context& c) {
  t.add({"GET", "/v1/images/{sha256}", scope::none, small_body, [&c](auto& q, auto& r) { serve_image(c, q, r); },
         tenancy::tenant});
}

} // namespace cutover::http
