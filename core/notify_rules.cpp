#include "core/notify_rules.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>

namespace cutover::core {

namespace {

std::string json_number(double v) {
  if (!std::isfinite(v))
    return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// The fields after `{` of a JSON object, key and value already JSON.
class object {
public:
  object& raw(std::string_view key, const std::string& json) {
    out_ += (out_.size() > 1 ? "," : "") + json_quote(key) + ":" + json;
    return *this;
  }
  object& str(std::string_view key, std::string_view v) { return raw(key, json_quote(v)); }
  object& num(std::string_view key, std::int64_t v) { return raw(key, std::to_string(v)); }
  object& real(std::string_view key, double v) { return raw(key, json_number(v)); }
  std::string done() { return out_ + "}"; }

private:
  std::string out_ = "{";
};

notice decision_notice(const decision_record& d) {
  std::string items = "[";
  for (const auto& i : d.items)
    items += (items.size() > 1 ? "," : "") + object{}
                                                 .str("kind", i.kind)
                                                 .str("name", i.name)
                                                 .str("verdict", i.verdict)
                                                 .num("window_s", std::chrono::duration_cast<std::chrono::seconds>(i.window).count())
                                                 .num("samples", i.samples)
                                                 .real("observed", i.observed)
                                                 .real("baseline", i.baseline)
                                                 .real("threshold", i.threshold)
                                                 .str("reason", i.reason)
                                                 .done();
  items += "]";
  notice n;
  n.type = "rollout." + d.action;
  n.at = d.at;
  n.data = object{}
             .str("action", d.action)
             .str("reason", d.reason)
             .num("phase", d.phase)
             .num("percent", d.percent)
             .str("state", d.state)
             .str("config_hash", d.config_hash)
             .raw("items", items)
             .done();
  return n;
}

notice job_notice(const job_event& e) {
  notice n;
  n.type = "job." + std::string{to_string(e.status)};
  n.at = e.at;
  n.data = object{}
             .str("job", to_string(e.id))
             .str("status", to_string(e.status))
             .str("provider", e.provider)
             .raw("cost_usd", format_usd(e.cost))
             .str("error", e.text)
             .done();
  return n;
}

bool private_v4(std::uint32_t a) { // host order
  auto in = [a](std::uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8) || in(0x0a000000, 8) || in(0x64400000, 10) || in(0x7f000000, 8) ||
         in(0xa9fe0000, 16) || in(0xac100000, 12) || in(0xc0000000, 24) || in(0xc0a80000, 16) ||
         in(0xc6120000, 15) || in(0xe0000000, 4) || in(0xf0000000, 4);
}

bool private_v6(const unsigned char* b) {
  static const unsigned char zero[16] = {};
  const bool v4_mapped = std::equal(b, b + 10, zero) && b[10] == 0xff && b[11] == 0xff;
  const bool v4_compat = std::equal(b, b + 12, zero);
  const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && std::equal(b + 4, b + 12, zero);
  if (v4_mapped || v4_compat || nat64) // ::, ::1 and every embedded IPv4 address
    return private_v4((std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) | (std::uint32_t{b[14]} << 8) | b[15]);
  return (b[0] & 0xfe) == 0xfc ||                  // unique local fc00::/7
         (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || // link-local fe80::/10
         (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || // site-local fec0::/10 (deprecated, still routed inside)
         b[0] == 0xff;                              // multicast
}

} // namespace


bool event_matches(std::string_view pattern, std::string_view type) {
  if (pattern == "*" || pattern == type)
    return true;
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == ".*") {
    const auto prefix = pattern.substr(0, pattern.size() - 1); // keeps the dot
    return type.size() > prefix.size() && type.substr(0, prefix.size()) == prefix;
  }
  return false;
}

std::vector<notice_target> targets_for(const notify_config& cfg, std::string_view type) {
  std::vector<notice_target> out;
  for (const auto& t : cfg.targets) {
    const bool wanted = t.events.empty() || std::any_of(t.events.begin(), t.events.end(),
                                                         [&](const std::string& p) { return event_matches(p, type); });
    if (wanted)
      out.push_back({t.url, t.secret_env});
  }
  return out;
}

std::vector<notice> derive_notices(const write_batch& b, const notify_config& cfg, const webhook_lookup& webhook_of) {
  std::vector<notice> out;
  auto add = [&](notice n) {
    auto to = targets_for(cfg, n.type);
    n.to.insert(n.to.end(), to.begin(), to.end());
    if (n.keep || !n.to.empty())
      out.push_back(std::move(n));
  };
  for (const auto& n : b.notices) {
    auto copy = n;
    copy.to.clear();
    add(std::move(copy));
  }
  for (const auto& d : b.decisions)
    if (!d.repeat)
      add(decision_notice(d));
  for (const auto& e : b.events) {
    if (e.kind != event_kind::finished || !is_final(e.status))
      continue;
    auto n = job_notice(e);
    if (!cfg.job_secret_env.empty() && webhook_of)
      if (auto url = webhook_of(e.id); !url.empty())
        n.to.push_back({std::move(url), cfg.job_secret_env, true});
    add(std::move(n));
  }
  return out;
}

std::string notice_body(const std::string& event_id, const notice& n) {
  return object{}
    .str("id", event_id)
    .str("type", n.type)
    .str("at", format_rfc3339(n.at))
    .raw("data", n.data.empty() ? std::string{"{}"} : n.data)
    .done();
}

notice breaker_notice(const std::string& provider, std::string_view to, instant at, int requests, int failures,
                      const std::string& reason) {
  notice n;
  n.type = "breaker." + std::string{to};
  n.at = at;
  n.keep = true;
  n.data = object{}
             .str("provider", provider)
             .str("state", to)
             .num("requests", requests)
             .num("failures", failures)
             .str("reason", reason)
             .done();
  return n;
}

notice budget_notice(const std::string& provider, bool stopped, instant at, micros exposure, micros line) {
  notice n;
  n.type = stopped ? "budget.stopped" : "budget.resumed";
  n.at = at;
  n.keep = true;
  n.data = object{}
             .str("provider", provider.empty() ? std::string{"all"} : provider)
             .raw("spent_and_reserved_usd", format_usd(exposure))
             .raw("stop_line_usd", format_usd(line))
             .done();
  return n;
}

namespace {

/// The parts of an http(s) URL a webhook check needs; `problem` says why there are none.
struct url_parts {
  std::string host;
  std::string problem;
};

url_parts parse_webhook_url(std::string_view url) {
  if (url.size() > 2048)
    return {{}, "webhook_url is longer than 2048 bytes"};
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; }))
    return {{}, "webhook_url must not contain spaces or control characters"};
  std::string lower(url);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::size_t start = 0;
  if (lower.rfind("http://", 0) == 0)
    start = 7;
  else if (lower.rfind("https://", 0) == 0)
    start = 8;
  else
    return {{}, "webhook_url must be an http:// or https:// URL"};
  const auto end = lower.find_first_of("/?#", start);
  const auto authority = lower.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (authority.find('@') != std::string::npos)
    return {{}, "webhook_url must not carry credentials"};
  std::string host;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos)
      return {{}, "webhook_url has an unterminated IPv6 address"};
    host = authority.substr(1, close - 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  while (!host.empty() && host.back() == '.')
    host.pop_back();
  if (host.empty())
    return {{}, "webhook_url has no host"};
  return {host, {}};
}

/// Whether one textual address is internal; nullopt when it does not parse.
std::optional<bool> address_private(const std::string& text) {
  in_addr v4{};
  if (text.find(':') == std::string::npos) {
    if (inet_aton(text.c_str(), &v4) == 0) // also 127.1, 0x7f000001, 2130706433
      return std::nullopt;
    return private_v4(ntohl(v4.s_addr));
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.substr(0, text.find('%')).c_str(), &v6) != 1)
    return std::nullopt;
  return private_v6(v6.s6_addr) || text.find('%') != std::string::npos; // a zone: link-scoped
}

std::string refusal_for(const std::string& host) {
  return "webhook_url names a loopback or private host (" + host + "); only public hosts unless notify.allow_private";
}

} // namespace

std::string webhook_url_problem(std::string_view url, bool allow_private) {
  auto parts = parse_webhook_url(url);
  if (!parts.problem.empty())
    return parts.problem;
  if (allow_private)
    return {};
  const auto& host = parts.host;
  if (host == "localhost" || (host.size() > 10 && host.substr(host.size() - 10) == ".localhost"))
    return refusal_for(host);
  if (host.find(':') != std::string::npos) {
    const auto internal = address_private(host);
    if (!internal)
      return "webhook_url has a malformed IPv6 address";
    return *internal ? refusal_for(host) : std::string{};
  }
  if (const auto internal = address_private(host))
    return *internal ? refusal_for(host) : std::string{};
  return {}; // a name: resolved_host_problem judges what it resolves to
}

std::string webhook_host(std::string_view url) { return parse_webhook_url(url).host; }

bool is_address_literal(const std::string& host) { return address_private(host).has_value(); }

std::string resolved_host_problem(const std::string& host, const std::vector<std::string>& addresses) {
  if (addresses.empty())
    return "webhook_url's host " + host + " resolves to no address";
  for (const auto& a : addresses) {
    const auto internal = address_private(a);
    if (!internal)
      return "webhook_url's host " + host + " resolved to an address that does not parse (" + a + ")";
    if (*internal)
      return "webhook_url's host " + host + " resolves to a loopback or private address (" + a +
             "); only public hosts unless notify.allow_private";
  }
  return {};
}

} // namespace cutover::core
