// The scenario file of `cutover simulate`: each field declared once, read with config.yaml's machinery.

#include "adapters/config/reader.hpp"
#include "adapters/config/scenario_schema.hpp"
#include "adapters/config/values.hpp"

namespace cutover::config_adapter::detail {

namespace {

using namespace std::chrono_literals;
using namespace cutover::core;

constexpr core::duration longest = 366 * 24h;

/// `2d6h30m`: durations of one unit each, added up (a plain duration too).
bool parse_offset(const std::string& text, core::duration& out) {
  out = core::duration{0};
  std::size_t pos = 0;
  if (text.empty())
    return false;
  while (pos < text.size()) {
    auto unit = text.find_first_not_of("0123456789.", pos);
    if (unit == std::string::npos || unit == pos)
      return pos == 0 && text == "0";
    auto next = text.find_first_of("0123456789", unit);
    if (next == std::string::npos)
      next = text.size();
    core::duration part{};
    std::string why;
    if (!parse_duration(text.substr(pos, next - pos), part, why))
      return false;
    out += part;
    pos = next;
  }
  return true;
}

/// An instant: an offset from the scenario's start (`2d6h`) or an RFC 3339 time. Offsets are kept as they are and
/// resolved once `start` is known (read_scenario).
void read_when(context& c, const YAML::Node& n, const std::string& path, instant& out) {
  auto s = read_scalar(c, n, path);
  if (!s)
    return;
  core::duration d{};
  std::string why;
  if (parse_offset(*s, d)) {
    out = instant{} + d; // an offset, marked by an epoch-based value below any real start
    return;
  }
  instant t{};
  if (parse_rfc3339(*s, t)) {
    out = t;
    return;
  }
  c.error(line_of(n), path, "must be an offset from the start like 2d6h or an RFC 3339 time, got \"" + *s + "\"");
}

const fields<latency_model>& latency_fields() {
  using l = latency_model;
  static const fields<l> f = {
    required(duration("p50", &l::p50, 0s, 24h, "median")),
    required(duration("p95", &l::p95, 0s, 24h, "95th percentile (>= p50)")),
  };
  return f;
}

void read_errors(context& c, const YAML::Node& n, const std::string& path, std::vector<error_share>& out) {
  static const std::vector<std::string> names = {"timeout", "rate_limited", "auth", "quota", "bad_request",
                                                 "content_policy", "server", "bad_response"};
  ppm total = 0;
  for_each_entry(c, n, path, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
    error_class e{};
    if (!parse_error_class(key, e) || std::find(names.begin(), names.end(), key) == names.end()) {
      std::string list;
      for (const auto& x : names)
        list += (list.empty() ? "" : ", ") + x;
      c.error(p, "not an error class (one of: " + list + ")");
      return;
    }
    if (auto share = read_percent(c, v, p)) {
      out.push_back({e, *share});
      total += *share;
    }
  });
  if (c.ok(path) && !out.empty() && total != ppm_one)
    c.error(path, "shares must add up to 100%, they add up to " + std::to_string(total / 10'000.0) + "%");
}

const fields<tier_model>& tier_model_fields() {
  using t = tier_model;
  static const fields<t> f = {
    section("latency", &t::latency, latency_fields, "latency of one call {p50, p95} (async: of the submit call)"),
    section("run_time", &t::run_time, latency_fields, "async: time from submit until the remote job is done"),
    percent("failure_rate", &t::failure_rate, "share of items that fail"),
    described(custom<t>("errors", "error classes of the failures, shares of 100% (default: server)",
              [](context& c, const YAML::Node& n, const std::string& p, t& out) { read_errors(c, n, p, out.errors); }), "mapping error class -> percent"),
    number("quality", &t::quality, 0.0, 1.0, "mean quality score of an image, 0..1"),
  };
  return f;
}

const fields<provider_scenario>& provider_fields() {
  using p = provider_scenario;
  static auto f = [] {
    fields<p> out;
    for (const auto& t : tier_model_fields()) // the provider-wide model has the tier model's keys
      out.push_back(described(custom<p>(t.key, t.meaning,
                                        [read = t.read](context& c, const YAML::Node& n, const std::string& path,
                                                        p& o) { read(c, n, path, o.model.all); }),
                              t.type, t.below));
    out.push_back(described(custom<p>("cost", "USD per image by tier {sd, hd, 4k}: patches the config's cost_per_image",
                            [](context& c, const YAML::Node& n, const std::string& path, p& o) {
                              for_each_entry(c, n, path, [&](const std::string& k, const YAML::Node& v,
                                                             const std::string& kp) {
                                tier t{};
                                if (!parse_tier(k, t))
                                  return c.error(kp, "not a tier (sd, hd, 4k)");
                                if (read_money(c, v, kp)) // the tier, resolved to a config path by the loader
                                  o.cost.push_back({k, v.Scalar(), c.file(), c.line_of(kp)});
                              });
                            }), "mapping tier -> USD"));
    out.push_back(described(custom<p>("tiers", "per tier {sd, hd, 4k}: the keys above, over the provider-wide ones",
                            [](context& c, const YAML::Node& n, const std::string& path, p& o) {
                              for_each_entry(c, n, path, [&](const std::string& k, const YAML::Node& v,
                                                             const std::string& kp) {
                                tier t{};
                                if (!parse_tier(k, t))
                                  return c.error(kp, "not a tier (sd, hd, 4k)");
                                read_map(c, v, kp, tier_model_fields(),
                                         o.model.tiers[static_cast<std::size_t>(t)].emplace());
                              });
                            }), "mapping tier -> model", keys_of(tier_model_fields, ".<tier>")));
    return out;
  }();
  return f;
}

template <class T, class Parse>
void read_mix(context& c, const YAML::Node& n, const std::string& path, mix<T>& out, bool whole, Parse parse) {
  out.shares.clear();
  ppm total = 0;
  for_each_entry(c, n, path, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
    T value{};
    std::string why;
    if (!parse(key, value, why))
      return c.error(p, why);
    if (auto share = read_percent(c, v, p)) {
      out.shares.push_back({value, *share});
      total += *share;
    }
  });
  if (!c.ok(path) || out.shares.empty())
    return;
  if (whole && total != ppm_one)
    c.error(path, "shares must add up to 100%, they add up to " + std::to_string(total / 10'000.0) + "%");
  else if (total > ppm_one)
    c.error(path, "shares must add up to at most 100%, they add up to " + std::to_string(total / 10'000.0) + "%");
}

const fields<traffic_model>& traffic_fields() {
  using t = traffic_model;
  static const fields<t> f = {
    described(required(custom<t>("per_hour", "mean jobs per hour (Poisson): one number, or 24 numbers for the UTC hours",
                       [](context& c, const YAML::Node& n, const std::string& p, t& out) {
                         if (n.IsSequence()) {
                           if (n.size() != 24)
                             return c.error(line_of(n), p, "must list 24 numbers (hours 00..23 UTC), got " +
                                                               std::to_string(n.size()));
                           for (std::size_t h = 0; h < 24; ++h)
                             if (auto v = read_number(c, n[h], item(p, h), 0, 1e7))
                               out.per_hour[h] = *v;
                           return;
                         }
                         if (auto v = read_number(c, n, p, 0, 1e7))
                           out.per_hour.fill(*v);
                       })), "number 0..10000000, or a list of 24"),
    integer("users", &t::users, 1, 10'000'000, "how many distinct users submit"),
    number("skew", &t::skew, 0, 5, "Zipf exponent of user activity: 0 = all alike, 1 = a few users dominate"),
    described(custom<t>("tiers", "share of jobs per tier, adding up to 100%", [](context& c, auto& n, auto& p, t& out) {
      read_mix<tier>(c, n, p, out.tiers, true, [](const std::string& k, tier& v, std::string& why) {
        if (!parse_tier(k, v))
          why = "not a tier (sd, hd, 4k)";
        return why.empty();
      });
    }), "mapping tier -> percent"),
    described(custom<t>("n", "share of jobs per images asked (1..4), adding up to 100%", [](context& c, auto& n, auto& p, t& out) {
      read_mix<int>(c, n, p, out.n, true, [](const std::string& k, int& v, std::string& why) {
        std::int64_t i = 0;
        if (!parse_integer(k, i, why) || i < 1 || i > 4)
          why = "n must be 1, 2, 3 or 4";
        v = static_cast<int>(i);
        return why.empty();
      });
    }), "mapping 1..4 -> percent"),
    described(custom<t>("endpoints", "share of jobs per endpoint (the rest: none)", [](context& c, auto& n, auto& p, t& out) {
      read_mix<std::string>(c, n, p, out.endpoints, false, [](const std::string& k, std::string& v, std::string&) {
        v = k;
        return true;
      });
    }), "mapping endpoint -> percent"),
    described(custom<t>("segments", "share of jobs per segment (the rest: none)", [](context& c, auto& n, auto& p, t& out) {
      read_mix<std::string>(c, n, p, out.segments, false, [](const std::string& k, std::string& v, std::string&) {
        v = k;
        return true;
      });
    }), "mapping segment -> percent"),
  };
  return f;
}

const fields<incident>& incident_fields() {
  using i = incident;
  static const fields<i> f = {
    required(text("provider", &i::provider, "the provider affected")),
    required(choice("kind", &i::kind, {"latency", "errors", "rate_limit", "hang", "auth", "quota", "outage"},
                    "what goes wrong")),
    described(required(custom<i>("at", "onset: offset from the start (2d6h) or RFC 3339",
                       [](context& c, const YAML::Node& n, const std::string& p, i& out) { read_when(c, n, p, out.from); })), "offset (2d6h) or RFC 3339 time"),
    described(required(custom<i>("for", "how long it lasts", [](context& c, const YAML::Node& n, const std::string& p, i& out) {
      if (auto d = read_duration(c, n, p, 1s, longest))
        out.to = instant{} + *d; // a length until read_scenario resolves it
    })), "duration 1s..366d"),
    number("factor", &i::factor, 1, 1000, "latency: latency and run time are multiplied by this"),
    percent("rate", &i::rate, "share of calls affected (errors: of items); default 100%"),
    described(custom<i>("error", "errors: the class of the injected failures (default server)",
              [](context& c, const YAML::Node& n, const std::string& p, i& out) {
                auto s = read_scalar(c, n, p);
                if (s && !parse_error_class(*s, out.error))
                  c.error(line_of(n), p, "not an error class, got \"" + *s + "\"");
              }), "error class"),
    duration("retry_after", &i::retry_after, 0s, 24h, "rate_limit: the Retry-After the provider sends"),
  };
  return f;
}

const fields<action_scenario>& action_fields() {
  using a = action_scenario;
  static const fields<a> f = {
    described(required(custom<a>("at", "when: offset from the start (2d6h) or RFC 3339",
                       [](context& c, const YAML::Node& n, const std::string& p, a& out) { read_when(c, n, p, out.step.at); })), "offset (2d6h) or RFC 3339 time"),
    described(required(custom<a>("action", "hold, resume, rollback, promote, step_down or reload",
                       [](context& c, const YAML::Node& n, const std::string& p, a& out) {
                         if (auto v = read_name(c, n, p, {"hold", "resume", "rollback", "promote", "step_down", "reload"}))
                           out.step.action = std::vector<std::string>{"hold", "resume", "rollback", "promote",
                                                                      "step_down", "reload"}[*v];
                       })), "one of: hold, resume, rollback, promote, step_down, reload"),
    described(custom<a>("percent", "step_down: the phase percent to step down to",
              [](context& c, const YAML::Node& n, const std::string& p, a& out) {
                if (auto v = read_integer(c, n, p, 0, 100))
                  out.step.percent = static_cast<int>(*v);
              }), "integer 0..100"),
    described(custom<a>("patch", "reload: config key paths and their new values, e.g. {tiers.sd.batch.max_wait: 30s}",
              [](context& c, const YAML::Node& n, const std::string& p, a& out) { read_patch(c, n, p, "", out.patch); }), "mapping key path -> value"),
  };
  return f;
}

} // namespace

void read_patch(context& c, const YAML::Node& n, const std::string& path, const std::string& prefix,
                std::vector<patch_entry>& out) {
  for_each_entry(c, n, path, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
    const std::string full = prefix.empty() ? key : prefix + "." + key;
    if (v.IsMap()) // nested mappings are key paths too: {tiers: {sd: ...}} = tiers.sd...
      return read_patch(c, v, p, full, out);
    YAML::Emitter e;
    e << YAML::Flow << v;
    out.push_back({full, e.c_str(), c.file(), c.line_of(p)});
  });
}

const fields<scenario_file>& scenario_fields() {
  using s = scenario_file;
  static const fields<s> f = {
    described(custom<s>("start", "RFC 3339 instant the simulation starts at (default 2026-01-01T00:00:00Z)",
              [](context& c, const YAML::Node& n, const std::string& p, s& out) {
                auto v = read_scalar(c, n, p);
                if (v && !parse_rfc3339(*v, out.sc.start))
                  c.error(line_of(n), p, "must be an RFC 3339 time like 2026-01-01T00:00:00Z, got \"" + *v + "\"");
              }), "RFC 3339 time"),
    described(required(custom<s>("duration", "how long traffic arrives (e.g. 14d, 4d12h)",
                       [](context& c, const YAML::Node& n, const std::string& p, s& out) {
                         auto v = read_scalar(c, n, p);
                         if (v && (!parse_offset(*v, out.sc.length) || out.sc.length < 1s || out.sc.length > longest))
                           c.error(line_of(n), p, "must be a duration between 1s and 366d like 14d or 4d12h, got \"" +
                                                    *v + "\"");
                       })), "offset 1s..366d (14d, 4d12h)"),
    described(custom<s>("drain", "after the end: no new jobs, the ones in flight finish (default 1h)",
              [](context& c, auto& n, auto& p, s& out) {
                if (auto d = read_duration(c, n, p, 0s, 7 * 24h))
                  out.sc.drain = *d;
              }), "duration 0s..7d"),
    described(custom<s>("traffic", "generated arrivals (or give a trace)", [](context& c, auto& n, auto& p, s& out) {
      out.has_traffic = true;
      read_map(c, n, p, traffic_fields(), out.sc.traffic);
    }), "mapping", keys_of(traffic_fields)),
    text("trace", &s::trace, "a recorded trace (CSV) to replay instead of generated traffic", check_not_empty),
    described(custom<s>("providers", "how each provider behaves, by name", [](context& c, auto& n, auto& p, s& out) {
      for_each_entry(c, n, p, [&](const std::string& name, const YAML::Node& v, const std::string& pp) {
        auto& ps = out.providers.emplace_back();
        ps.model.name = name;
        ps.path = pp;
        read_map(c, v, pp, provider_fields(), ps);
      });
    }), "mapping name -> behaviour", keys_of(provider_fields, ".<name>")),
    described(custom<s>("incidents", "what goes wrong, when", [](context& c, auto& n, auto& p, s& out) {
      for_each_item(c, n, p, [&](std::size_t, const YAML::Node& v, const std::string& ip) {
        out.incident_paths.push_back(ip);
        read_map(c, v, ip, incident_fields(), out.sc.incidents.emplace_back());
      });
    }), "list of incidents", keys_of(incident_fields, "[]")),
    described(custom<s>("actions", "operator actions at given times", [](context& c, auto& n, auto& p, s& out) {
      for_each_item(c, n, p, [&](std::size_t, const YAML::Node& v, const std::string& ip) {
        auto& a = out.actions.emplace_back();
        a.path = ip;
        read_map(c, v, ip, action_fields(), a);
      });
    }), "list of actions", keys_of(action_fields, "[]")),
  };
  return f;
}

} // namespace cutover::config_adapter::detail
