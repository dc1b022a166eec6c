#pragma once
/// The configuration model: one immutable, validated snapshot of config.yaml.
/// Built by adapters/config (yaml-cpp), shared as `std::shared_ptr<const config>`; a reload makes a new one.
/// Every default is a named constant here, so the loader and the docs agree.

#include "core/types.hpp"

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cutover::core {

using namespace std::chrono_literals;

namespace defaults {
constexpr const char* listen = "127.0.0.1:8080";
constexpr std::size_t max_body_bytes = 65536;
constexpr duration drain_timeout = 30s;
constexpr std::size_t http_threads = 0; ///< 0: one per core
constexpr std::size_t max_headers = 100;
constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::size_t max_json_depth = 32;
constexpr duration header_timeout = 10s;
constexpr duration idle_timeout = 60s;
constexpr std::size_t max_connections = 4096;
constexpr const char* store_path = "data/cutover.db";
constexpr duration provider_timeout = 60s;
constexpr int retry_max_attempts = 3;
constexpr duration retry_backoff = 1s;
constexpr duration retry_max_backoff = 30s;
constexpr duration retry_max_retry_after = 60s;
constexpr ppm breaker_failure_rate = 500'000;
constexpr int breaker_min_requests = 20;
constexpr duration breaker_window = 60s;
constexpr duration breaker_open_for = 30s;
constexpr int breaker_half_open_probes = 3;
constexpr duration polling_deadline = 30min;
constexpr int batch_max_items = 50;
constexpr duration batch_max_wait = 45s;
constexpr ppm budget_stop_at = 900'000;
/// Readiness says degraded above this many fallbacks per finished job over the last 5 minutes (10 %).
constexpr ppm degraded_fallback_rate = 100'000;
constexpr int dead_letter_max_attempts = 3;
constexpr duration dead_letter_retention = 14 * 24h;
constexpr duration rollback_cancel_in_flight_after = 5min;
/// Final jobs (and their prompts) are deleted this long after they ended.
constexpr duration jobs_retention = 90 * 24h;
constexpr std::uint64_t simulated_seed = 1;
constexpr duration notify_max_age = 24h;
constexpr duration notify_backoff = 1s;
constexpr duration notify_max_backoff = 10min;
constexpr duration notify_timeout = 10s;
constexpr duration images_retention = 30 * 24h; ///< the lifecycle of stored results (30 days)
constexpr duration images_url_ttl = 1h;
constexpr std::size_t images_max_download_bytes = 32 * 1024 * 1024;
constexpr duration images_download_timeout = 60s;
constexpr duration cache_ttl = 30 * 24h;
} // namespace defaults

enum class provider_kind : std::uint8_t { simulated, openai, replicate, gemini };
enum class provider_mode : std::uint8_t { sync, async };
std::string_view to_string(provider_kind k);
std::string_view to_string(provider_mode m);

struct retry_config {
  int max_attempts = defaults::retry_max_attempts; ///< calls per provider attempt, first one included
  duration backoff = defaults::retry_backoff;
  duration max_backoff = defaults::retry_max_backoff;
  /// A provider asking to wait longer than this (Retry-After) is not waited for: the attempt fails as
  /// rate_limited and the item takes its fallback chain.
  duration max_retry_after = defaults::retry_max_retry_after;
  /// Overall limit of a sync attempt, its calls and waits together; absent: timeout x max_attempts + max_backoff.
  std::optional<duration> deadline{};
};

struct breaker_config {
  ppm failure_rate = defaults::breaker_failure_rate;
  int min_requests = defaults::breaker_min_requests;
  duration window = defaults::breaker_window;
  duration open_for = defaults::breaker_open_for;
  int half_open_probes = defaults::breaker_half_open_probes;
};

/// One step of the poll schedule: poll every `every`, `times` times (0 = until the deadline).
struct poll_step {
  duration every{};
  int times = 0;
};

struct polling_config {
  std::vector<poll_step> schedule; ///< default: 5 s x6, 15 s x4, then 60 s
  duration deadline = defaults::polling_deadline;
};
std::vector<poll_step> default_poll_schedule();

/// What happens to an item that a provider's limits will not take now.
enum class on_limit_action : std::uint8_t { fallback, wait };

/// 0 means "no limit" for each field.
struct limits_config {
  int max_concurrent = 0; ///< remote calls in flight (an async job holds its slot until it ends)
  int max_per_hour = 0;   ///< items per rolling hour
  int max_per_day = 0;    ///< items per budget day
  on_limit_action on_limit = on_limit_action::fallback; ///< fallback: next provider at once; wait: until it frees
};

/// How a simulated provider behaves. Latency is drawn from a log-normal fitted to p50/p95.
struct simulated_config {
  duration latency_p50 = 0s;
  duration latency_p95 = 0s;
  ppm failure_rate = 0;
  double quality = 0.9;
  std::uint64_t seed = defaults::simulated_seed;
};

struct provider_config {
  std::string name;
  provider_kind kind = provider_kind::simulated;
  provider_mode mode = provider_mode::sync;
  std::string base_url;
  std::string api_key_env; ///< the name of the environment variable holding the key, never the key
  std::string model;
  duration timeout = defaults::provider_timeout;
  std::array<micros, tier_count> cost_per_image{}; ///< indexed by tier
  simulated_config simulated;
  retry_config retry;
  breaker_config breaker;
  polling_config polling;
  limits_config limits;
  /// Error classes whose failed attempt takes the fallback chain; absent: the default (see core/lifecycle.hpp).
  std::optional<std::vector<error_class>> fallback_on{};
};

/// The overall deadline of one sync attempt at `p`: retry.deadline, or timeout x max_attempts + max_backoff.
duration retry_deadline(const provider_config& p);

struct batch_config {
  int max_items = defaults::batch_max_items;
  duration max_wait = defaults::batch_max_wait;
};

struct tier_config {
  batch_config batch;
  bool upscale = false;
};

struct budget_config {
  std::optional<micros> daily;                ///< global daily limit; absent = none
  ppm stop_at = defaults::budget_stop_at;     ///< applies to the global and each provider's limit
  duration day_starts = 0s;                   ///< offset from 00:00 UTC at which a budget day begins
  std::map<std::string, micros> providers;    ///< per-provider daily limits
};

struct dead_letter_config {
  int max_attempts = defaults::dead_letter_max_attempts; ///< provider attempts across the fallback chain
  duration retention = defaults::dead_letter_retention;
};

/// What a rollback does to work already routed to the candidate.
struct rollback_config {
  /// YAML `cancel_in_flight_after`: async jobs still running at the candidate this long after a rollback are
  /// cancelled at the provider and sent to the baseline (the recovery time objective bounds it).
  duration cancel_in_flight_after = defaults::rollback_cancel_in_flight_after;
};

/// Which latency a gate or trigger judges: the provider call (attempt started -> finished), or the wait users see
/// (job created -> final, batch windows, retries and fallbacks included), counted by the job's route cohort.
enum class latency_kind : std::uint8_t { provider, user };

/// Gates of one phase; an absent gate is not checked.
struct gates_config {
  std::optional<micros> cost_per_image_max;
  std::optional<duration> p95_max;      ///< provider latency p95 (YAML `p95_max: 60s`, or `latency: provider`)
  std::optional<duration> user_p95_max; ///< user wait p95 (YAML `p95_max: {max: 120s, latency: user}`)
  std::optional<ppm> failure_rate_max;
  std::optional<double> quality_parity_min;
  std::optional<int> breaker_trips_max;
};

struct phase_config {
  int percent = 0;
  duration min_duration = 0s;
  int min_samples = 0;
  gates_config gates;
};

struct rate_trigger {
  ppm above = 0;
  duration window = 0s; ///< YAML key `for`
  int min_samples = 0;
};
struct factor_trigger {
  double factor = 0;
  duration window = 0s; ///< YAML key `for`
  int min_samples = 0;  ///< each side, over the breach; 0 = the evaluator's default
  /// provider by default: the batch wait both cohorts share dilutes a ratio of user waits
  latency_kind latency = latency_kind::provider;
};
struct count_trigger {
  int above = 0;
  duration window = 0s; ///< YAML key `for`
};

/// YAML `sequential`: always-valid tests of candidate - baseline (core/sequential_test.hpp). A figure without its
/// margin is not tested.
struct sequential_trigger {
  std::optional<ppm> error_rate_margin; ///< fires when candidate - baseline failure rate is surely above this
  std::optional<double> latency_factor; ///< fires when candidate / baseline geometric-mean latency is surely above
  ppm alpha = 1000;                     ///< 0.1 %: the chance one test fires on a candidate within the margins
  duration window = std::chrono::hours(24); ///< each test's life; a new one starts every half window
  int min_samples = 200;                ///< per side and test before it may fire
};

/// Rollback triggers; an absent trigger is not checked.
struct triggers_config {
  std::optional<rate_trigger> error_rate;
  std::optional<factor_trigger> p95_vs_baseline;
  std::optional<factor_trigger> p99_vs_baseline;
  std::optional<ppm> cost_over_budget;
  std::optional<count_trigger> auth_failures;
  std::optional<count_trigger> breaker_trips; ///< more than `above` trips of the candidate's breaker within `for`
  std::optional<rate_trigger> content_policy_rate;
  bool quota_exhausted = false;
  std::optional<duration> silence; ///< YAML `silence: {for: 2m}`
  std::optional<sequential_trigger> sequential;
};

enum class on_trigger_action : std::uint8_t { immediate, gradual };
/// Where an override sends matching jobs.
enum class override_target : std::uint8_t { baseline, candidate };

struct rollout_config {
  std::string name;
  std::string baseline;
  std::string candidate;
  bool enabled = true;
  int percent = 0;
  std::vector<phase_config> phases;
  triggers_config triggers;
  on_trigger_action on_trigger = on_trigger_action::immediate;
  duration gradual_dwell = 10min; ///< YAML `gradual_dwell`: time at each step of a gradual rollback
  duration tick = 1s;             ///< YAML `tick`: how often the controller evaluates (our addition)
  std::map<std::string, override_target> endpoint_overrides;
  std::map<std::string, override_target> segment_overrides;
};

/// Per-user request rate at intake (a token bucket); per_minute 0 = off.
struct user_rate_config {
  int per_minute = 0;
  int burst = 20;
};

/// HTTPS on the API's own port (`server.tls`); both files empty: plain HTTP.
struct tls_config {
  std::string cert_file; ///< PEM certificate chain, the server's first; relative: from the config file's folder
  std::string key_file;  ///< PEM private key of that certificate
  bool enabled() const { return !cert_file.empty(); }
};

struct server_config {
  std::string listen = defaults::listen; ///< HOST:PORT
  std::size_t max_body_bytes = defaults::max_body_bytes;
  user_rate_config user_rate;
  duration drain_timeout = defaults::drain_timeout; ///< at SIGTERM: how long calls on the wire may take to end
  std::size_t threads = defaults::http_threads;            ///< the API's I/O threads; 0: one per core
  std::size_t max_headers = defaults::max_headers;         ///< per request (431 beyond)
  std::size_t max_header_bytes = defaults::max_header_bytes; ///< request line and headers together (431 beyond)
  std::size_t max_json_depth = defaults::max_json_depth;   ///< nesting of a JSON body (400 beyond)
  duration header_timeout = defaults::header_timeout;      ///< from a request's first byte to its last header
  duration idle_timeout = defaults::idle_timeout;          ///< a connection between requests (and a body's read)
  std::size_t max_connections = defaults::max_connections; ///< open at once; beyond: 503 and close
  tls_config tls;
  /// The engine's address as clients reach it (`https://img.example.com`), prefixed to the image URLs of results;
  /// empty: those URLs are relative (`/v1/images/...`).
  std::string public_url;
};

/// SQLite's `PRAGMA synchronous` for each commit (WAL mode). full: a 202'd job survives power loss and OS crashes;
/// normal: it survives the engine's own crash (kill -9), not the machine's; off: the same, but a machine's crash
/// may also corrupt the file.
enum class sync_mode : std::uint8_t { off, normal, full };
struct store_config {
  std::string path = defaults::store_path; ///< relative paths are taken from the data directory's parent
  /// full by default: a 202 promises the job is on disk, and only an fsync per commit keeps that promise through
  /// a power loss; the group commit shares that fsync among every job of the commit.
  sync_mode synchronous = sync_mode::full;
};

struct auth_config {
  /// API keys with scopes (and tenants); empty: no keys, and the engine listens on loopback only. A relative path is
  /// taken from the config file's folder.
  std::string keys_file;
  bool metrics_open = false; ///< with keys: GET /metrics without a key (a scraper on a trusted network)
};
struct health_config {
  ppm degraded_fallback_rate = defaults::degraded_fallback_rate;
};
struct jobs_config {
  /// A final job (its prompt, attempts and result rows) is deleted once it ended longer ago than this.
  duration retention = defaults::jobs_retention;
};
struct log_config {
  log_format format = log_format::text;
};
struct cors_config {
  std::vector<std::string> allow_origins;
};

/// One receiver of the engine's events (rollout decisions, budget stops, breaker changes, dead letters).
struct notify_target {
  std::string url;                 ///< http(s) URL the events are POSTed to (the operator's own: any host)
  std::vector<std::string> events; ///< event types or `prefix.*` patterns (`*`: all); empty: all
  std::string secret_env;          ///< the environment variable holding the signing secret, never the secret
};

/// Webhooks: where events go, how deliveries are signed, retried and given up.
struct notify_config {
  std::vector<notify_target> targets;
  /// The environment variable whose secret signs deliveries to a job's own `webhook_url`; empty: jobs may not
  /// ask for one (nothing to sign with).
  std::string job_secret_env;
  /// A job's `webhook_url` may name a loopback or private host (else a submitter could aim it at the admin API).
  bool allow_private = false;
  duration max_age = defaults::notify_max_age;         ///< a delivery not answered 2xx within this is dropped
  duration backoff = defaults::notify_backoff;         ///< wait after the first failure, doubled after each next
  duration max_backoff = defaults::notify_max_backoff; ///< the longest wait between two tries
  duration timeout = defaults::notify_timeout;         ///< one try's HTTP exchange
};

/// Result images as files (`images`): where they live, how long they are kept, how downloads are bounded.
struct images_config {
  std::string dir; ///< empty: `images` beside the store's database file (the data directory)
  duration retention = defaults::images_retention; ///< counted from the last job that refers to the image
  duration url_ttl = defaults::images_url_ttl;     ///< how long a signed image URL stays valid once given
  std::size_t max_download_bytes = defaults::images_max_download_bytes; ///< one image a provider gives as a URL
  duration download_timeout = defaults::images_download_timeout;        ///< all the images of one item
};

/// The result cache (`cache`): the same request of the same tenant answered from the stored images.
struct cache_config {
  bool enabled = false;
  duration ttl = defaults::cache_ttl; ///< a result answers repeats this long after it was made (<= images.retention)
};

/// The whole validated configuration. Immutable once built.
struct config {
  server_config server;
  store_config store;
  std::vector<provider_config> providers; ///< in file order
  std::array<tier_config, tier_count> tiers;
  std::map<std::string, std::vector<std::string>> fallback; ///< provider -> ordered chain
  budget_config budget;
  dead_letter_config dead_letter;
  rollout_config rollout;
  rollback_config rollback;
  auth_config auth;
  health_config health;
  cors_config cors;
  notify_config notify;
  images_config images;
  cache_config cache;
  jobs_config jobs;
  log_config log;
  std::string hash; ///< content hash of the source file (hex), names this snapshot in decisions

  /// The provider of that name, or nullptr.
  const provider_config* provider(std::string_view name) const;
  /// Index of the provider in `providers`, or -1.
  int provider_index(std::string_view name) const;
  /// The fallback chain after `name` (empty when none).
  const std::vector<std::string>& chain_after(const std::string& name) const;
};

using config_ptr = std::shared_ptr<const config>;

} // namespace cutover::core
