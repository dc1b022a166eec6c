// The `providers` section: one table per block of a provider, each field declared once.

#include "adapters/config/reader.hpp"
#include "core/http_url.hpp"

#include <algorithm>
#include <cctype>

namespace cutover::config_adapter::detail {

namespace {

using namespace std::chrono_literals;
using core::parse_http_url;
using core::provider_config;
using cost_table = std::array<core::micros, core::tier_count>;

bool check_url(std::string_view s, std::string& why) {
  if (s.empty())
    return true;
  const auto url = parse_http_url(s);
  if (url.problem.empty())
    return true;
  why = url.problem; // the text itself is not repeated when it may hold credentials
  if (s.find('@') == std::string_view::npos)
    why += ", got \"" + std::string(s) + "\"";
  return false;
}

/// The variable's name only: the error never repeats the value, in case someone pasted the key itself.
bool check_env_name(std::string_view s, std::string& why) {
  bool ok = s.size() <= 128 && (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])));
  for (char c : s)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!ok)
    why = "must be the name of an environment variable (letters, digits, _; e.g. OPENAI_API_KEY), "
          "never the key itself";
  return ok;
}

const fields<cost_table>& cost_fields() {
  auto tier_cost = [](std::string key, std::size_t index) {
    return described(required(custom<cost_table>(key, "USD per " + key + " image",
                                                  [index](auto& c, auto& n, auto& p, auto& out) {
                                                    if (auto v = read_money(c, n, p))
                                                      out[index] = *v;
                                                  })),
                     "USD >= 0");
  };
  static const fields<cost_table> f = {tier_cost("sd", 0), tier_cost("hd", 1), tier_cost("4k", 2)};
  return f;
}

const fields<core::simulated_config>& simulated_fields() {
  using s = core::simulated_config;
  static const fields<s> f = {
    duration("latency_p50", &s::latency_p50, 0s, 1h, "median latency of one call"),
    duration("latency_p95", &s::latency_p95, 0s, 1h, "95th percentile latency of one call"),
    percent("failure_rate", &s::failure_rate, "share of calls that fail with a server error"),
    number("quality", &s::quality, 0.0, 1.0, "quality score reported for each image, 0..1"),
    integer("seed", &s::seed, 0, INT64_MAX, "random seed, so runs repeat exactly"),
  };
  return f;
}

const fields<core::retry_config>& retry_fields() {
  using r = core::retry_config;
  static const fields<r> f = {
    integer("max_attempts", &r::max_attempts, 1, 10, "calls per provider attempt, the first one included"),
    duration("backoff", &r::backoff, 0s, 1h, "wait before the first retry; doubles on each retry"),
    duration("max_backoff", &r::max_backoff, 0s, 24h, "cap of the doubling wait"),
    duration("max_retry_after", &r::max_retry_after, 0s, 24h,
             "longest Retry-After waited for; a longer one fails the attempt as rate_limited (it falls back)"),
    duration("deadline", &r::deadline, 100ms, 7 * 24h,
             "overall limit of a sync attempt, calls and waits together; absent = timeout x max_attempts + "
             "max_backoff"),
  };
  return f;
}

const fields<core::breaker_config>& breaker_fields() {
  using b = core::breaker_config;
  static const fields<b> f = {
    percent("failure_rate", &b::failure_rate, "failure share within the window that opens the breaker"),
    integer("min_requests", &b::min_requests, 1, 1'000'000, "calls in the window before the rate counts"),
    duration("window", &b::window, 1s, 24h, "sliding window of the failure rate"),
    duration("open_for", &b::open_for, 1s, 24h, "time open before probing again"),
    integer("half_open_probes", &b::half_open_probes, 1, 1000, "probe calls that must succeed to close"),
  };
  return f;
}

const fields<core::poll_step>& poll_step_fields() {
  using s = core::poll_step;
  static const fields<s> f = {
    required(duration("every", &s::every, 1ms, 24h, "interval between two polls")),
    integer("times", &s::times, 1, 1'000'000, "polls at this interval; absent = until the deadline"),
  };
  return f;
}

const fields<core::polling_config>& polling_fields() {
  using p = core::polling_config;
  static const fields<p> f = {
    described(custom<p>("schedule", "poll steps in order: [{every, times}, ..., {every}]",
                        [](context& c, const YAML::Node& n, const std::string& path, p& out) {
                          for_each_item(c, n, path, [&](std::size_t, const YAML::Node& v, const std::string& ip) {
                            read_map(c, v, ip, poll_step_fields(), out.schedule.emplace_back());
                          });
                        }),
              "list of steps", keys_of(poll_step_fields, "[]")),
    duration("deadline", &p::deadline, 1s, 7 * 24h, "give up on a remote job after this long"),
  };
  return f;
}

const fields<core::limits_config>& limits_fields() {
  using l = core::limits_config;
  static const fields<l> f = {
    integer("max_concurrent", &l::max_concurrent, 0, 100'000, "calls in flight at once; 0 = no limit"),
    integer("max_per_hour", &l::max_per_hour, 0, 1'000'000'000, "calls per rolling hour; 0 = no limit"),
    integer("max_per_day", &l::max_per_day, 0, 1'000'000'000, "calls per budget day; 0 = no limit"),
    choice("on_limit", &l::on_limit, {"fallback", "wait"},
           "an item over a limit: fallback = next provider at once; wait = until a slot or window frees"),
  };
  return f;
}

const fields<provider_config>& provider_fields() {
  using p = provider_config;
  static const fields<p> f = {
    required(choice("kind", &p::kind, {"simulated", "openai", "replicate", "gemini"}, "which API it speaks")),
    choice("mode", &p::mode, {"sync", "async"}, "sync: one call answers; async: submit, then poll"),
    text("base_url", &p::base_url, "API root, e.g. https://api.openai.com/v1", check_url),
    text("api_key_env", &p::api_key_env, "environment variable holding the API key", check_env_name),
    text("model", &p::model, "model name sent to the API"),
    duration("timeout", &p::timeout, 100ms, 1h, "limit of one call"),
    required(section("cost_per_image", &p::cost_per_image, cost_fields, "USD per image by tier {sd, hd, 4k}")),
    section("simulated", &p::simulated, simulated_fields, "behaviour of a simulated provider"),
    section("retry", &p::retry, retry_fields, "retries of one call"),
    section("breaker", &p::breaker, breaker_fields, "circuit breaker"),
    section("polling", &p::polling, polling_fields, "how async jobs are polled"),
    section("limits", &p::limits, limits_fields, "rate and concurrency limits"),
    described(custom<p>("fallback_on", "provider error classes whose failed attempt takes the fallback chain; absent = every "
                             "one but bad_request and content_policy (for the rollout's candidate: every one)",
              [](context& c, const YAML::Node& n, const std::string& path, p& out) {
                auto& list = out.fallback_on.emplace();
                for_each_item(c, n, path, [&](std::size_t, const YAML::Node& v, const std::string& ip) {
                  auto name = read_scalar(c, v, ip);
                  if (!name)
                    return;
                  core::error_class e{};
                  if (!core::parse_error_class(*name, e) || e == core::error_class::none || core::is_own_error(e)) {
                    c.error(ip, "must be a provider error class (timeout, rate_limited, auth, quota, bad_request, "
                                "content_policy, server, bad_response), got \"" + *name + "\"");
                    return;
                  }
                  if (std::find(list.begin(), list.end(), e) == list.end())
                    list.push_back(e);
                });
              }),
              "list of error classes"),
    described(custom<p>("api_key", "not allowed: secrets stay in the environment",
                        [](context& c, const YAML::Node&, const std::string& path, p&) {
                          c.error(path, "secrets do not belong in config: put the key in an environment variable "
                                        "and name that variable in api_key_env");
                        }),
              "refused (always an error)"),
  };
  return f;
}

bool valid_provider_name(const std::string& name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0])))
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

} // namespace

void list_provider_keys(const std::string& path, std::vector<config_key>& out) {
  list_keys(provider_fields(), path, out);
}

void read_providers(context& c, const YAML::Node& n, const std::string& path, std::vector<provider_config>& out) {
  bool is_map = for_each_entry(c, n, path, [&](const std::string& name, const YAML::Node& v, const std::string& p) {
    if (!valid_provider_name(name))
      c.error(p, "a provider name starts with a letter or digit and uses only letters, digits, '-', '_' and '.'");
    provider_config& provider = out.emplace_back();
    provider.name = name;
    read_map(c, v, p, provider_fields(), provider);
    if (provider.mode == core::provider_mode::async && !c.has(p + ".polling.schedule"))
      provider.polling.schedule = core::default_poll_schedule();
  });
  if (is_map && out.empty())
    c.error(path, "must define at least one provider");
}

} // namespace cutover::config_adapter::detail
