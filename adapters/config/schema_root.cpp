// The top-level sections of config.yaml other than `providers` and `rollout`, each field declared once.

#include "adapters/config/reader.hpp"
#include "adapters/config/values.hpp"

namespace cutover::config_adapter::detail {

namespace {

using namespace std::chrono_literals;
using core::config;
using tier_table = std::array<core::tier_config, core::tier_count>;

bool check_origin(std::string_view s, std::string& why) {
  auto scheme = s.find("://");
  bool ok = s == "*" || ((s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) &&
                         s.size() > scheme + 3 && s.find('/', scheme + 3) == std::string_view::npos);
  if (!ok)
    why = "must be \"*\" or an origin like https://app.example.com (scheme, host, optional port; no path), got \"" +
          std::string(s) + "\"";
  return ok;
}

bool check_public_url(std::string_view s, std::string& why) {
  const bool ok = (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) && s.find_first_of(" ?#") == s.npos &&
                  s.size() > s.find("://") + 3 && s.back() != '/';
  if (!ok)
    why = "must be an absolute http(s) URL without a trailing slash, query or fragment, like https://img.example.com, "
          "got \"" + std::string(s) + "\"";
  return ok;
}

const fields<core::images_config>& images_fields() {
  using i = core::images_config;
  static const fields<i> f = {
    text("dir", &i::dir, "folder of the result images; absent = `images` beside the store's database file",
         check_not_empty),
    duration("retention", &i::retention, 1s, 3650 * 24h,
             "an image is deleted this long after the last job that refers to it finished"),
    duration("url_ttl", &i::url_ttl, 1s, 7 * 24h, "how long a signed image URL given in a result stays valid"),
    integer("max_download_bytes", &i::max_download_bytes, 1024, 1024 * 1024 * 1024,
            "largest image downloaded from a provider's URL; a larger one fails the item"),
    duration("download_timeout", &i::download_timeout, 100ms, 1h,
             "the longest an item's images may take to download and store; longer fails the item (timeout)"),
  };
  return f;
}

const fields<core::cache_config>& cache_fields() {
  using k = core::cache_config;
  static const fields<k> f = {
    boolean("enabled", &k::enabled, "answer a tenant's repeated request (prompt, tier, n) from the stored images"),
    duration("ttl", &k::ttl, 1s, 3650 * 24h, "a result answers repeats this long after it was made (<= images.retention)"),
  };
  return f;
}

const fields<core::user_rate_config>& user_rate_fields() {
  using u = core::user_rate_config;
  static const fields<u> f = {
    integer("per_minute", &u::per_minute, 0, 1'000'000, "jobs one user may submit per minute; 0 = no limit"),
    integer("burst", &u::burst, 1, 1'000'000, "jobs one user may submit at once"),
  };
  return f;
}

const fields<core::tls_config>& tls_fields() {
  using t = core::tls_config;
  static const fields<t> f = {
    required(text("cert_file", &t::cert_file,
                  "PEM certificate (chain) the API presents; relative to the config file's folder", check_not_empty)),
    required(text("key_file", &t::key_file, "PEM private key of that certificate; relative to the config file's folder",
                  check_not_empty)),
  };
  return f;
}

const fields<core::server_config>& server_fields() {
  using s = core::server_config;
  static const fields<s> f = {
    text("listen", &s::listen, "HOST:PORT of the HTTP API", check_listen),
    integer("max_body_bytes", &s::max_body_bytes, 1024, 16 * 1024 * 1024, "largest request body accepted"),
    section("user_rate", &s::user_rate, user_rate_fields, "per-user request rate at intake (429 + Retry-After)"),
    duration("drain_timeout", &s::drain_timeout, 0s, 1h,
             "at SIGTERM/SIGINT: how long provider calls already made may take to end before the engine stops"),
    integer("threads", &s::threads, 0, 64, "I/O threads serving the HTTP API; 0 = one per core"),
    integer("max_headers", &s::max_headers, 8, 10'000, "most headers one request may carry (431 beyond)"),
    integer("max_header_bytes", &s::max_header_bytes, 1024, 1024 * 1024,
            "largest request line and headers together, in bytes (431 beyond)"),
    integer("max_json_depth", &s::max_json_depth, 2, 1000,
            "deepest nesting of arrays and objects in a JSON body, checked before parsing (400 beyond)"),
    duration("header_timeout", &s::header_timeout, 10ms, 10min,
             "a request's headers must arrive within this from its first byte, or the connection closes"),
    duration("idle_timeout", &s::idle_timeout, 10ms, 24h,
             "a keep-alive connection with no request (or a body that stops arriving) closes after this"),
    integer("max_connections", &s::max_connections, 1, 1'000'000,
            "open connections at once; a connection beyond gets 503 and is closed (open-files limit raised to fit)"),
    section("tls", &s::tls, tls_fields, "HTTPS on the API's port; absent = plain HTTP"),
    text("public_url", &s::public_url,
         "the engine's address as clients reach it, http(s)://host[:port][/prefix]; prefixed to image URLs",
         check_public_url),
  };
  return f;
}

const fields<core::store_config>& store_fields() {
  using s = core::store_config;
  static const fields<s> f = {
    text("path", &s::path, "SQLite database file", check_not_empty),
    choice("synchronous", &s::synchronous, {"off", "normal", "full"},
           "SQLite durability of each commit: full survives power loss, normal only a crash of the engine"),
  };
  return f;
}

const fields<core::batch_config>& batch_fields() {
  using b = core::batch_config;
  static const fields<b> f = {
    integer("max_items", &b::max_items, 1, 512, "a batch is sent when it holds this many items"),
    duration("max_wait", &b::max_wait, 0s, 1h, "a batch is sent when its first item has waited this long"),
  };
  return f;
}

const fields<core::tier_config>& tier_fields() {
  using t = core::tier_config;
  static const fields<t> f = {
    section("batch", &t::batch, batch_fields, "batching of jobs of this tier"),
    boolean("upscale", &t::upscale, "images are upscaled after generation"),
  };
  return f;
}

/// A tier absent from the file keeps its defaults.
const fields<tier_table>& tiers_fields() {
  auto tier = [](std::string key, std::size_t index) {
    return described(custom<tier_table>(key, key + " images", [index](auto& c, auto& n, auto& p, auto& out) {
                       read_map(c, n, p, tier_fields(), out[index]);
                     }),
                     "mapping", keys_of(tier_fields));
  };
  static const fields<tier_table> f = {tier("sd", 0), tier("hd", 1), tier("4k", 2)};
  return f;
}

const fields<core::budget_config>& budget_fields() {
  using b = core::budget_config;
  static const fields<b> f = {
    money("daily_usd", &b::daily, "global spend per budget day; absent = no global limit"),
    percent("stop_at", &b::stop_at, "share of a daily limit at which new work stops"),
    described(custom<b>("day_starts", "UTC time at which a budget day begins, \"HH:MMZ\"",
                        [](context& c, const YAML::Node& n, const std::string& p, b& out) {
                          std::string why;
                          if (auto s = read_scalar(c, n, p); s && !parse_day_start(*s, out.day_starts, why))
                            c.error(p, why);
                        }),
              "time of day HH:MMZ"),
    described(custom<b>("providers", "daily USD limit per provider",
                        [](context& c, const YAML::Node& n, const std::string& path, b& out) {
                          for_each_entry(c, n, path,
                                         [&](const std::string& name, const YAML::Node& v, const std::string& p) {
                                           if (auto usd = read_money(c, v, p))
                                             out.providers[name] = *usd;
                                         });
                        }),
              "mapping provider name -> USD"),
  };
  return f;
}

const fields<core::dead_letter_config>& dead_letter_fields() {
  using d = core::dead_letter_config;
  static const fields<d> f = {
    integer("max_attempts", &d::max_attempts, 1, 20, "provider attempts across the fallback chain"),
    duration("retention", &d::retention, 1h, 3650 * 24h, "how long dead letters are kept"),
  };
  return f;
}

const fields<core::rollback_config>& rollback_fields() {
  using r = core::rollback_config;
  static const fields<r> f = {
    duration("cancel_in_flight_after", &r::cancel_in_flight_after, 0s, 24h,
             "async candidate jobs still running this long after a rollback are cancelled and sent to the baseline"),
  };
  return f;
}

const fields<core::auth_config>& auth_fields() {
  static const fields<core::auth_config> f = {
    text("keys_file", &core::auth_config::keys_file,
         "API keys file (name, key | key_env | sha256, scopes, tenant?); absent = listen on loopback only",
         check_not_empty),
    boolean("metrics_open", &core::auth_config::metrics_open, "with keys: GET /metrics needs no key"),
  };
  return f;
}

const fields<core::health_config>& health_fields() {
  static const fields<core::health_config> f = {
    percent("degraded_fallback_rate", &core::health_config::degraded_fallback_rate,
            "/readyz says degraded when fallbacks per finished job over the last 5 minutes exceed this"),
  };
  return f;
}

const fields<core::jobs_config>& jobs_fields() {
  static const fields<core::jobs_config> f = {
    duration("retention", &core::jobs_config::retention, 1h, 3650 * 24h,
             "final jobs (prompt, attempts, result) are deleted this long after they ended"),
  };
  return f;
}

const fields<core::log_config>& log_fields() {
  static const fields<core::log_config> f = {
    choice("format", &core::log_config::format, {"text", "json"},
           "log lines on stderr: key=value text, or one JSON object per line"),
  };
  return f;
}

const fields<core::cors_config>& cors_fields() {
  using k = core::cors_config;
  static const fields<k> f = {
    described(custom<k>("allow_origins", "browser origins allowed to call the API",
                        [](context& c, const YAML::Node& n, const std::string& path, k& out) {
                          for_each_item(c, n, path, [&](std::size_t, const YAML::Node& v, const std::string& p) {
                            if (auto s = read_text(c, v, p, check_origin))
                              out.allow_origins.push_back(*s);
                          });
                        }),
              "list of origins (\"*\" or scheme://host[:port])"),
  };
  return f;
}

void read_fallback(context& c, const YAML::Node& n, const std::string& path, config& out) {
  for_each_entry(c, n, path, [&](const std::string& from, const YAML::Node& v, const std::string& p) {
    auto& chain = out.fallback[from];
    for_each_item(c, v, p, [&](std::size_t, const YAML::Node& entry, const std::string& ip) {
      if (auto name = read_text(c, entry, ip, check_not_empty))
        chain.push_back(*name);
    });
  });
}

} // namespace

const fields<config>& root_fields() {
  static const fields<config> f = {
    section("server", &config::server, server_fields, "the HTTP API"),
    section("store", &config::store, store_fields, "the job store"),
    described(required(custom<config>("providers", "at least one provider, by name",
                                      [](auto& c, auto& n, auto& p, config& out) {
                                        read_providers(c, n, p, out.providers);
                                      })),
              "mapping name -> provider",
              [](const std::string& path, std::vector<config_key>& out) { list_provider_keys(path + ".<name>", out); }),
    section("tiers", &config::tiers, tiers_fields, "batching per tier {sd, hd, 4k}"),
    described(custom<config>("fallback", "provider -> providers to try next, in order", read_fallback),
              "mapping provider name -> list of provider names"),
    section("budget", &config::budget, budget_fields, "daily spend limits"),
    section("dead_letter", &config::dead_letter, dead_letter_fields, "when a job is given up"),
    required(section("rollout", &config::rollout, rollout_fields, "the rollout from baseline to candidate")),
    section("rollback", &config::rollback, rollback_fields, "work already at the candidate when it rolls back"),
    section("auth", &config::auth, auth_fields, "API keys"),
    section("cors", &config::cors, cors_fields, "browser access"),
    section("notify", &config::notify, notify_fields, "webhooks: rollout decisions, budget stops, breakers, jobs"),
    section("health", &config::health, health_fields, "readiness"),
    section("images", &config::images, images_fields, "result images as files: where, how long, download bounds"),
    section("cache", &config::cache, cache_fields, "the result cache per tenant"),
    section("jobs", &config::jobs, jobs_fields, "how long final jobs are kept"),
    section("log", &config::log, log_fields, "the engine's log lines"),
  };
  return f;
}

} // namespace cutover::config_adapter::detail
