// The `notify` section: webhook targets and how deliveries are signed, retried and given up.

#include "adapters/config/reader.hpp"
#include "adapters/config/values.hpp"
#include "core/notify_rules.hpp"

#include <algorithm>
#include <cctype>

namespace cutover::config_adapter::detail {

namespace {

using namespace std::chrono_literals;

bool check_target_url(std::string_view s, std::string& why) {
  why = core::webhook_url_problem(s, true); // the operator's own receivers may be anywhere
  if (!why.empty())
    why.replace(0, std::string_view{"webhook_url"}.size(), "url");
  return why.empty();
}

bool check_env_name(std::string_view s, std::string& why) {
  const bool ok = !s.empty() && !std::isdigit(static_cast<unsigned char>(s.front())) &&
                  std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
  if (!ok)
    why = "must name an environment variable (letters, digits, _), got \"" + std::string(s) + "\"";
  return ok;
}

/// `*`, `<group>.*` or `<group>.<name>`, for a group the engine notifies.
bool check_event_pattern(std::string_view s, std::string& why) {
  static const std::vector<std::string> groups{"rollout", "budget", "breaker", "job"};
  if (s == "*")
    return true;
  const auto dot = s.find('.');
  const auto group = s.substr(0, dot);
  if (dot != std::string_view::npos && dot + 1 < s.size() &&
      std::find(groups.begin(), groups.end(), group) != groups.end())
    return true;
  why = "must be \"*\", \"<group>.*\" or \"<group>.<event>\" with group rollout, budget, breaker or job, got \"" +
        std::string(s) + "\"";
  return false;
}

const fields<core::notify_target>& target_fields() {
  using t = core::notify_target;
  static const fields<t> f = {
    required(text("url", &t::url, "http(s) URL the events are POSTed to", check_target_url)),
    described(custom<t>("events", "event types or patterns sent to this target; absent or empty = all",
                        [](context& c, const YAML::Node& n, const std::string& path, t& out) {
                          for_each_item(c, n, path, [&](std::size_t, const YAML::Node& v, const std::string& p) {
                            if (auto s = read_text(c, v, p, check_event_pattern))
                              out.events.push_back(*s);
                          });
                        }),
              "list of event types (rollout.*, budget.*, breaker.*, job.dead_lettered, ...)"),
    required(text("secret_env", &t::secret_env, "environment variable holding the secret that signs deliveries",
                  check_env_name)),
  };
  return f;
}

} // namespace

const fields<core::notify_config>& notify_fields() {
  using n = core::notify_config;
  static const fields<n> f = {
    described(custom<n>("targets", "receivers of the engine's events",
                        [](context& c, const YAML::Node& node, const std::string& path, n& out) {
                          for_each_item(c, node, path, [&](std::size_t, const YAML::Node& v, const std::string& p) {
                            read_map(c, v, p, target_fields(), out.targets.emplace_back());
                          });
                        }),
              "list of targets", keys_of(target_fields, "[]")),
    text("job_secret_env", &n::job_secret_env,
         "environment variable holding the secret that signs calls of a job's webhook_url; absent = jobs may not "
         "name one",
         check_env_name),
    boolean("allow_private", &n::allow_private, "a job's webhook_url may name a loopback or private host"),
    duration("max_age", &n::max_age, 1min, 30 * 24h, "a delivery not answered 2xx within this is dropped"),
    duration("backoff", &n::backoff, 10ms, 1h, "wait after a failed delivery, doubled after each next failure"),
    duration("max_backoff", &n::max_backoff, 10ms, 24h, "longest wait between two tries of a delivery"),
    duration("timeout", &n::timeout, 100ms, 5min, "one try's HTTP exchange"),
  };
  return f;
}

void check_notify(context& c, const core::notify_config& n) {
  if (c.ok("notify.backoff") && c.ok("notify.max_backoff") && n.backoff > n.max_backoff)
    c.error("notify.backoff", "notify.backoff (" + format_duration(n.backoff) + ") must not exceed notify.max_backoff (" +
                                format_duration(n.max_backoff) + ")");
}

} // namespace cutover::config_adapter::detail
