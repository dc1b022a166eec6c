#include "adapters/http/job_request.hpp"

#include <cpprest/json.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>
#include <set>

namespace cutover::http {

namespace {

request_error bad(std::string field, std::string message, std::string code = "invalid_field") {
  return request_error{400, std::move(code), std::move(message), std::move(field)};
}

/// FNV-1a, 64 bits, over the canonical fields separated by NUL.
std::string fingerprint(const core::job_spec& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const std::string& part) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    h ^= 0xff;
    h *= 0x100000001b3ull;
  };
  mix(s.user_id);
  mix(s.prompt);
  mix(std::string{core::to_string(s.tier_)});
  mix(std::to_string(s.n));
  mix(s.endpoint);
  mix(s.segment);
  mix(s.metadata);
  if (!s.webhook_url.empty()) // mixed only when present: keys stored before it keep their hashes
    mix(s.webhook_url);
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

/// `v` as canonical JSON text: the keys of every object in byte order, at every depth, and no whitespace; scalars
/// as cpprestsdk writes them. The same JSON gives the same text whatever key order or spacing the client sent and
/// whatever order a parser keeps (cpprestsdk sorts keys unless told to keep their order; this does not rely on
/// it). The text is what cpprestsdk's sorted serialisation gave, so fingerprints stored before still match.
void append_canonical(std::string& out, const web::json::value& v) {
  if (v.is_object()) {
    std::vector<const std::pair<utility::string_t, web::json::value>*> fields;
    for (const auto& kv : v.as_object())
      fields.push_back(&kv);
    std::stable_sort(fields.begin(), fields.end(), [](auto* a, auto* b) { return a->first < b->first; });
    out += '{';
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0)
        out += ',';
      out += web::json::value::string(fields[i]->first).serialize();
      out += ':';
      append_canonical(out, fields[i]->second);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    const auto& items = v.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0)
        out += ',';
      append_canonical(out, items.at(i));
    }
    out += ']';
  } else {
    out += v.serialize();
  }
}

const std::set<std::string> known_fields{"user_id",  "prompt",  "tier",    "n",
                                         "endpoint", "segment", "metadata", "webhook_url"};

} // namespace

std::variant<parsed_job, request_error> parse_job_request(const std::string& body) {
  std::error_code ec;
  auto doc = web::json::value::parse(body, ec);
  if (ec)
    return request_error{400, "malformed_json", "the body is not valid JSON: " + ec.message(), ""};
  if (!doc.is_object())
    return request_error{400, "malformed_json", "the body must be a JSON object", ""};
  const auto& obj = doc.as_object();
  for (const auto& kv : obj)
    if (known_fields.count(kv.first) == 0)
      return bad(kv.first, "unknown field \"" + kv.first + "\"", "unknown_field");

  parsed_job out;
  auto& spec = out.spec;
  auto text = [&](const char* name, std::string& into, std::size_t max, bool required) -> std::optional<request_error> {
    auto it = obj.find(name);
    if (it == obj.end() || it->second.is_null()) {
      if (required)
        return bad(name, std::string{name} + " is required", "missing_field");
      return std::nullopt;
    }
    if (!it->second.is_string())
      return bad(name, std::string{name} + " must be a string");
    into = it->second.as_string();
    if (required && into.empty())
      return bad(name, std::string{name} + " must not be empty", "missing_field");
    if (into.size() > max)
      return bad(name, std::string{name} + " is longer than " + std::to_string(max) + " bytes");
    return std::nullopt;
  };
  if (auto e = text("user_id", spec.user_id, limits::user_id_max, true))
    return *e;
  if (auto e = text("prompt", spec.prompt, limits::prompt_max, true))
    return *e;
  std::string tier_name;
  if (auto e = text("tier", tier_name, 8, true))
    return *e;
  if (!core::parse_tier(tier_name, spec.tier_))
    return bad("tier", "tier must be one of sd, hd, 4k; got \"" + tier_name + "\"");
  if (auto it = obj.find("n"); it != obj.end() && !it->second.is_null()) {
    const auto& v = it->second;
    if (!v.is_number() || !v.as_number().is_int32())
      return bad("n", "n must be an integer");
    spec.n = v.as_number().to_int32();
    if (spec.n < limits::n_min || spec.n > limits::n_max)
      return bad("n", "n must be between 1 and 4, got " + std::to_string(spec.n));
  }
  if (auto e = text("endpoint", spec.endpoint, limits::label_max, false))
    return *e;
  if (auto e = text("segment", spec.segment, limits::label_max, false))
    return *e;
  if (auto it = obj.find("metadata"); it != obj.end() && !it->second.is_null()) {
    if (!it->second.is_object())
      return bad("metadata", "metadata must be a JSON object");
    spec.metadata.clear();
    append_canonical(spec.metadata, it->second); // stored and fingerprinted in one canonical form
  }
  // checked against the config (scheme, private hosts) by intake, which holds it
  if (auto e = text("webhook_url", spec.webhook_url, limits::webhook_url_max, false))
    return *e;
  out.body_hash = fingerprint(spec);
  return out;
}

bool valid_idempotency_key(const std::string& key) {
  if (key.empty() || key.size() > limits::idempotency_key_max)
    return false;
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      return false;
  return true;
}

std::string scoped_idempotency_key(std::string_view endpoint, std::string_view tenant, const std::string& key) {
  if (key.empty() || (endpoint == "/v1/jobs" && tenant.empty()))
    return key;
  std::string out;
  out.reserve(endpoint.size() + tenant.size() + key.size() + 2);
  out.append(endpoint).append(" ").append(tenant).append(" ").append(key);
  return out;
}

} // namespace cutover::http

namespace cutover::http {

std::optional<double> parse_feedback(const std::string& body) {
  std::error_code ec;
  try {
    auto v = web::json::value::parse(body, ec);
    if (!ec && v.is_object() && v.has_field("quality") && v.at("quality").is_number()) {
      const double q = v.at("quality").as_double();
      if (q >= 0 && q <= 1)
        return q;
    }
  } catch (...) {
  }
  return std::nullopt;
}

std::optional<int> parse_percent(const std::string& body) {
  std::error_code ec;
  try {
    auto v = web::json::value::parse(body, ec);
    if (!ec && v.is_object() && v.has_field("percent") && v.at("percent").is_integer()) {
      const auto n = v.at("percent").as_number();
      if (n.is_int32() && n.to_int32() >= 0 && n.to_int32() <= 100)
        return n.to_int32();
    }
  } catch (...) {
  }
  return std::nullopt;
}

} // namespace cutover::http
