/// Fault JSON parsing (with every error named by its key path) and the seeded draws.

#include "tools/fake_provider/faults.hpp"

#include <cpprest/json.h>

#include <algorithm>
#include <cmath>

namespace cutover::fake {

namespace {

using web::json::value;

constexpr std::array<const char*, api_count> api_names{"openai", "replicate", "imagen", "gemini_batch"};
/// z of the 95th percentile of the standard normal distribution.
constexpr double z95 = 1.6448536269514722;
/// No drawn latency exceeds this (a log-normal tail is unbounded).
constexpr double max_latency_ms = 600000;

bool read_rate(const value& v, const std::string& path, double& out, std::string& err) {
  if (!v.is_number() || v.as_double() < 0 || v.as_double() > 1) {
    err = path + ": must be a number between 0 and 1";
    return false;
  }
  out = v.as_double();
  return true;
}

bool read_ms(const value& v, const std::string& path, double& out, std::string& err) {
  if (!v.is_number() || v.as_double() < 0 || v.as_double() > max_latency_ms) {
    err = path + ": must be milliseconds between 0 and 600000";
    return false;
  }
  out = v.as_double();
  return true;
}

bool read_latency(const value& v, const std::string& path, latency_spec& out, std::string& err) {
  if (v.is_number())
    return read_ms(v, path, out.p50_ms, err) && read_ms(v, path, out.p95_ms, err);
  if (!v.is_object() || !v.has_field("p50")) {
    err = path + ": must be milliseconds or {\"p50\": ms, \"p95\": ms}";
    return false;
  }
  for (const auto& [k, f] : v.as_object())
    if (k != "p50" && k != "p95") {
      err = path + "." + k + ": unknown field";
      return false;
    }
  if (!read_ms(v.at("p50"), path + ".p50", out.p50_ms, err))
    return false;
  out.p95_ms = out.p50_ms;
  if (v.has_field("p95") && !read_ms(v.at("p95"), path + ".p95", out.p95_ms, err))
    return false;
  if (out.p95_ms < out.p50_ms || (out.p50_ms == 0 && out.p95_ms > 0)) {
    err = path + ": p95 must be at least p50, and p50 above 0 when p95 is";
    return false;
  }
  return true;
}

bool is_api_name(const std::string& key) {
  return std::find(api_names.begin(), api_names.end(), key) != api_names.end();
}

/// Applies the fault fields of `obj` onto `s`; at the top level "seed", "default" and api names are left alone.
bool apply(const value& obj, const std::string& path, fault_settings& s, std::string& err, bool top_level) {
  const std::map<std::string, double*> rates{
      {"empty_data_rate", &s.empty_data_rate}, {"hang_rate", &s.hang_rate},
      {"malformed_rate", &s.malformed_rate},   {"content_policy_rate", &s.content_policy_rate},
      {"quota_rate", &s.quota_rate},           {"async_failure_rate", &s.async_failure_rate},
      {"item_error_rate", &s.item_error_rate}, {"async_expire_rate", &s.async_expire_rate}};
  for (const auto& [key, v] : obj.as_object()) {
    if (top_level && (key == "seed" || key == "default" || is_api_name(key)))
      continue;
    const std::string at = path.empty() ? key : path + "." + key;
    if (auto it = rates.find(key); it != rates.end()) {
      if (!read_rate(v, at, *it->second, err))
        return false;
    } else if (key == "latency_ms") {
      if (!read_latency(v, at, s.latency, err))
        return false;
    } else if (key == "retry_after_s") {
      if (!v.is_number() || v.as_double() < 0 || v.as_double() > 86400) {
        err = at + ": must be seconds between 0 and 86400";
        return false;
      }
      s.retry_after_s = v.as_double();
    } else if (key == "hang_ms") {
      double ms = 0;
      if (!read_ms(v, at, ms, err))
        return false;
      s.hang_for = std::chrono::milliseconds(static_cast<long long>(ms));
    } else if (key == "async_polls_before_done" || key == "async_polls_queued") {
      if (!v.is_integer() || v.as_integer() < 0 || v.as_integer() > 1000000) {
        err = at + ": must be a whole number between 0 and 1000000";
        return false;
      }
      (key == "async_polls_queued" ? s.async_polls_queued : s.async_polls_before_done) = v.as_integer();
    } else if (key == "error_rates") {
      if (!v.is_object()) {
        err = at + ": must be an object of \"status\": probability";
        return false;
      }
      for (const auto& [status_text, rate] : v.as_object()) {
        int status = 0;
        try {
          status = std::stoi(status_text);
        } catch (...) {
        }
        if (status < 400 || status > 599 || std::to_string(status) != status_text) {
          err = at + "." + status_text + ": must be an HTTP error status 400..599";
          return false;
        }
        if (!read_rate(rate, at + "." + status_text, s.error_rates[status], err))
          return false;
      }
    } else {
      err = at + ": unknown field";
      return false;
    }
  }
  return true;
}

} // namespace

const char* to_string(api_kind api) {
  return api == api_kind::unknown ? "unknown" : api_names[static_cast<std::size_t>(api)];
}

const char* to_string(fault f) {
  switch (f) {
  case fault::none: return "none";
  case fault::hang: return "hang";
  case fault::error: return "error";
  case fault::quota: return "quota";
  case fault::content_policy: return "content_policy";
  case fault::malformed: return "malformed";
  case fault::empty_data: return "empty_data";
  }
  return "none";
}

const fault_settings& fault_config::of(api_kind api) const {
  return per_api[api == api_kind::unknown ? 0 : static_cast<std::size_t>(api)];
}

std::string parse_faults(const std::string& text, fault_config& out) {
  std::error_code ec;
  auto root = value::parse(text, ec);
  if (ec || !root.is_object())
    return "faults: must be a JSON object";
  fault_config cfg;
  std::string err;
  for (const auto& [key, v] : root.as_object()) {
    if (key == "seed") {
      if (!v.is_integer() || (v.as_number().is_int64() && v.as_number().to_int64() < 0))
        return "seed: must be a whole number of at least 0";
      cfg.seed = v.as_number().to_uint64();
    } else if ((key == "default" || is_api_name(key)) && !v.is_object()) {
      return key + ": must be an object of fault fields";
    }
  }
  fault_settings base;
  if (!apply(root, "", base, err, true))
    return err;
  if (root.has_field("default") && !apply(root.at("default"), "default", base, err, false))
    return err;
  for (std::size_t i = 0; i < api_count; ++i) {
    cfg.per_api[i] = base;
    if (root.has_field(api_names[i]) && !apply(root.at(api_names[i]), api_names[i], cfg.per_api[i], err, false))
      return err;
  }
  out = std::move(cfg);
  return {};
}

double random_source::uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }

fault_draw random_source::draw_fault(const fault_settings& s) {
  double u = uniform();
  auto take = [&u](double p) {
    u -= p;
    return u < 0;
  };
  if (take(s.hang_rate))
    return {fault::hang, 0};
  for (const auto& [status, p] : s.error_rates)
    if (take(p))
      return {fault::error, status};
  if (take(s.quota_rate))
    return {fault::quota, 0};
  if (take(s.content_policy_rate))
    return {fault::content_policy, 0};
  if (take(s.malformed_rate))
    return {fault::malformed, 0};
  if (take(s.empty_data_rate))
    return {fault::empty_data, 0};
  return {};
}

std::chrono::milliseconds random_source::draw_latency(const latency_spec& l) {
  if (l.p50_ms <= 0)
    return std::chrono::milliseconds(0);
  double ms = l.p50_ms;
  if (l.p95_ms > l.p50_ms) {
    // Box-Muller by hand: std::normal_distribution differs between standard libraries.
    const double u1 = 1.0 - uniform(), u2 = uniform();
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    const double sigma = std::log(l.p95_ms / l.p50_ms) / z95;
    ms = std::min(max_latency_ms, std::exp(std::log(l.p50_ms) + sigma * z));
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

} // namespace cutover::fake
