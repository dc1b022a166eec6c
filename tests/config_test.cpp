#include "adapters/config/loader.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace cutover;
using namespace std::chrono_literals;
using config_adapter::config_error;
using config_adapter::load_config_text;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string seed_path = std::string(CUTOVER_SOURCE_DIR) + "/config.yaml";
const std::string seed = read_file(seed_path);

/// A small valid config for tests that change one thing.
const std::string minimal = R"(providers:
  a: {kind: simulated, cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}}
  b: {kind: simulated, cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}}
rollout: {name: r, baseline: a, candidate: b}
)";

/// `text` with the first `from` replaced by `to` (which must be there).
std::string with(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

/// 1-based line of the first occurrence of `needle`.
int line_with(const std::string& text, const std::string& needle) {
  auto pos = text.find(needle);
  REQUIRE(pos != std::string::npos);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

std::vector<config_error> errors_of(const std::string& yaml) { return load_config_text(yaml, "c.yaml").errors; }

std::string all(const std::vector<config_error>& errors) {
  std::string s;
  for (const auto& e : errors)
    s += config_adapter::to_string(e) + "\n";
  return s;
}

/// The error at `path`; fails the test when there is none.
config_error error_at(const std::vector<config_error>& errors, const std::string& path) {
  INFO(all(errors));
  auto it = std::find_if(errors.begin(), errors.end(), [&](const config_error& e) { return e.path == path; });
  REQUIRE(it != errors.end());
  return *it;
}

/// The single error of `yaml`, which must have exactly one.
config_error only_error(const std::string& yaml) {
  auto errors = errors_of(yaml);
  INFO(all(errors));
  REQUIRE(errors.size() == 1);
  return errors[0];
}

core::config_ptr load(const std::string& yaml) {
  auto r = load_config_text(yaml, "c.yaml");
  INFO(all(r.errors));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config);
  return r.config;
}

std::filesystem::path temp_file(const std::string& name, const std::string& bytes) {
  auto unique = std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  auto path = std::filesystem::temp_directory_path() / ("cutover-config-test-" + unique + "-" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

} // namespace

TEST_CASE("the default config.yaml loads with the seed values") {
  auto r = config_adapter::load_config_file(seed_path);
  INFO(all(r.errors));
  REQUIRE(r.errors.empty());
  const core::config& c = *r.config;
  CHECK(c.server.listen == "127.0.0.1:8080");
  CHECK(c.server.max_body_bytes == 65536);
  CHECK(c.server.drain_timeout == 30s);
  CHECK(c.store.path == "data/cutover.db");
  CHECK(c.store.synchronous == core::sync_mode::full);
  CHECK(c.rollback.cancel_in_flight_after == 5min);

  REQUIRE(c.providers.size() == 3); // in file order
  CHECK((c.providers[0].name == "gemini" && c.providers[1].name == "photomaker" && c.providers[2].name == "sdxl"));
  const auto& g = *c.provider("gemini");
  CHECK(g.kind == core::provider_kind::simulated);
  CHECK(g.mode == core::provider_mode::async);
  CHECK(g.api_key_env == "GEMINI_API_KEY");
  CHECK(g.model == "imagen-3.0-generate-002");
  CHECK(g.timeout == 60s);
  CHECK(g.cost_per_image == std::array<core::micros, 3>{30'000, 39'000, 60'000});
  CHECK(g.simulated.latency_p95 == 20s);
  CHECK(g.simulated.failure_rate == 10'000);
  CHECK(g.simulated.quality == Approx(0.93));
  CHECK(g.retry.max_backoff == 30s);
  CHECK(g.breaker.failure_rate == 500'000);
  CHECK(g.breaker.half_open_probes == 3);
  std::string schedule;
  for (const auto& step : g.polling.schedule)
    schedule += std::to_string(step.every.count() / 1'000'000) + "s x" + std::to_string(step.times) + " ";
  CHECK(schedule == "5s x6 15s x4 60s x0 ");
  CHECK(g.polling.deadline == 30min);
  CHECK(g.limits.max_per_hour == 1000);
  CHECK(g.limits.max_per_day == 5000);
  const auto& pm = *c.provider("photomaker");
  CHECK(pm.mode == core::provider_mode::sync);
  CHECK(pm.cost_per_image[static_cast<int>(core::tier::k4)] == 80'000);
  CHECK(pm.limits.max_concurrent == 20);
  CHECK(pm.retry.max_attempts == core::defaults::retry_max_attempts);
  CHECK(c.provider("sdxl")->simulated.failure_rate == 20'000);

  CHECK(c.tiers[1].batch.max_wait == 45s);
  CHECK(c.tiers[2].batch.max_items == 20);
  CHECK((c.tiers[2].upscale && !c.tiers[0].upscale));
  CHECK(c.chain_after("gemini") == std::vector<std::string>{"photomaker", "sdxl"});
  CHECK(c.chain_after("photomaker") == std::vector<std::string>{"sdxl"});
  CHECK(c.budget.stop_at == 900'000);
  CHECK(c.budget.providers.at("gemini") == 200'000'000);
  // the candidate's budget is the one that stops: no global line stops every provider, and the baseline's traffic
  // has no line of its own, so reaching the candidate's line sends its traffic to the baseline
  CHECK_FALSE(c.budget.daily);
  CHECK(c.budget.providers.count(c.rollout.candidate) == 1);
  CHECK(c.budget.providers.count(c.rollout.baseline) == 0);
  CHECK(c.dead_letter.retention == 14 * 24h);

  const auto& ro = c.rollout;
  CHECK(ro.name == "gemini-imagen3");
  CHECK((ro.baseline == "photomaker" && ro.candidate == "gemini" && ro.enabled && ro.percent == 0));
  REQUIRE(ro.phases.size() == 4);
  // a day of verification at 0 %, gated by time only (only the internal segment reaches the candidate)
  CHECK(ro.phases[0].percent == 0);
  CHECK(ro.phases[0].min_duration == 24h);
  CHECK(ro.phases[0].min_samples == 0);
  CHECK_FALSE(ro.phases[0].gates.cost_per_image_max);
  CHECK_FALSE(ro.phases[0].gates.p95_max);
  CHECK_FALSE(ro.phases[0].gates.failure_rate_max);
  CHECK_FALSE(ro.phases[0].gates.quality_parity_min);
  CHECK_FALSE(ro.phases[0].gates.breaker_trips_max);
  CHECK(ro.segment_overrides.at("internal") == core::override_target::candidate);
  CHECK(ro.phases[1].percent == 10);
  CHECK(ro.phases[1].min_duration == 3 * 24h);
  CHECK(ro.phases[2].min_samples == 2000);
  CHECK(ro.phases[1].gates.cost_per_image_max == 50'000);
  CHECK(ro.phases[1].gates.p95_max == 60s);
  CHECK(ro.phases[1].gates.failure_rate_max == 50'000);
  CHECK(ro.phases[1].gates.quality_parity_min == Approx(0.9));
  CHECK_FALSE(ro.phases[1].gates.breaker_trips_max);
  CHECK(ro.phases[2].gates.breaker_trips_max == 0);
  CHECK(ro.phases[3].percent == 100);
  CHECK_FALSE(ro.phases[3].gates.p95_max);
  REQUIRE(ro.triggers.breaker_trips);
  CHECK(ro.triggers.breaker_trips->above == 3);
  CHECK(ro.triggers.breaker_trips->window == 1h);
  REQUIRE(ro.triggers.error_rate);
  CHECK(ro.triggers.error_rate->above == 50'000);
  CHECK(ro.triggers.error_rate->window == 5min);
  CHECK(ro.triggers.p95_vs_baseline->factor == Approx(3));
  CHECK(ro.triggers.p95_vs_baseline->latency == core::latency_kind::provider);
  // every phase with gates also holds on what users wait (created -> final)
  CHECK(ro.phases[1].gates.p95_max == 60s);
  CHECK(ro.phases[1].gates.user_p95_max == 120s);
  CHECK(ro.phases[2].gates.user_p95_max == 120s);
  CHECK_FALSE(ro.phases[3].gates.user_p95_max);
  CHECK(ro.triggers.cost_over_budget == 500'000);
  CHECK(ro.triggers.auth_failures->above == 10);
  CHECK(ro.triggers.quota_exhausted);
  CHECK(ro.triggers.silence == 5min);
  REQUIRE(ro.triggers.sequential); // see docs/decision-quality.md
  CHECK(ro.triggers.sequential->error_rate_margin == 10'000);
  CHECK(ro.triggers.sequential->latency_factor == Approx(2.3));
  CHECK(ro.triggers.sequential->alpha == 1000);
  CHECK(ro.triggers.sequential->window == 24h);
  CHECK(ro.on_trigger == core::on_trigger_action::immediate);
  CHECK(ro.gradual_dwell == 10min);
  CHECK(ro.endpoint_overrides.at("/v1/avatars") == core::override_target::baseline);
  CHECK(ro.segment_overrides.at("enterprise") == core::override_target::baseline);
  CHECK((c.auth.keys_file.empty() && c.cors.allow_origins.empty()));
  CHECK(c.hash.size() == 16);
}

TEST_CASE("absent config keys keep the defaults of core::defaults") {
  auto c = load(minimal);
  const auto& a = c->providers[0];
  CHECK(a.mode == core::provider_mode::sync);
  CHECK(a.timeout == core::defaults::provider_timeout);
  CHECK(a.breaker.min_requests == core::defaults::breaker_min_requests);
  CHECK(a.polling.schedule.empty());
  CHECK(c->server.listen == core::defaults::listen);
  CHECK(c->server.max_connections == 4096);
  CHECK(c->server.header_timeout == core::defaults::header_timeout);
  CHECK(c->server.idle_timeout == core::defaults::idle_timeout);
  CHECK(c->server.max_json_depth == core::defaults::max_json_depth);
  CHECK(c->tiers[2].batch.max_items == core::defaults::batch_max_items); // a missing tier gets defaults
  CHECK_FALSE(c->budget.daily);
  CHECK(c->budget.stop_at == core::defaults::budget_stop_at);
  CHECK(c->dead_letter.retention == core::defaults::dead_letter_retention);
  CHECK_FALSE(c->rollout.triggers.error_rate);
  CHECK(c->rollout.phases.empty());
}

TEST_CASE("an async provider in the config without a poll schedule gets the default schedule") {
  auto c = load(with(minimal, "a: {kind: simulated,", "a: {kind: simulated, mode: async,"));
  const auto& steps = c->providers[0].polling.schedule;
  REQUIRE(steps.size() == core::default_poll_schedule().size());
  CHECK(steps[0].every == 5s);
  CHECK(steps.back().times == 0);
}

TEST_CASE("every config error carries its key path and its 1-based line") {
  auto text = with(seed, "4k: {batch: {max_items: 20", "4k: {batch: {max_items: 0");
  auto e = only_error(text);
  CHECK(e.path == "tiers.4k.batch.max_items");
  CHECK(e.line == line_with(text, "max_items: 0"));
  CHECK(e.message == "must be between 1 and 512, got 0");
  CHECK(config_adapter::to_string(e) ==
        "c.yaml:" + std::to_string(e.line) + ": tiers.4k.batch.max_items: must be between 1 and 512, got 0");

  text = with(seed, "{every: 15s, times: 4}", "{every: 15x, times: 4}");
  e = only_error(text);
  CHECK(e.path == "providers.gemini.polling.schedule[1].every");
  CHECK(e.line == line_with(text, "15x"));
}

TEST_CASE("gates and triggers choose their latency: provider (default) or user, and a bad one is a line-numbered error") {
  const std::string phases = R"(rollout:
  name: r
  baseline: a
  candidate: b
  phases:
    - {percent: 10, gates: {p95_max: GATE}}
    - {percent: 100}
  triggers:
    p95_vs_baseline: {factor: 3, for: 10m, latency: TRIGGER}
)";
  auto text = [&](const std::string& gate, const std::string& trigger) {
    return with(minimal, "rollout: {name: r, baseline: a, candidate: b}\n",
                with(with(phases, "GATE", gate), "TRIGGER", trigger));
  };
  auto c = load(text("{max: 120s, latency: user}", "user"));
  CHECK_FALSE(c->rollout.phases[0].gates.p95_max);
  CHECK(c->rollout.phases[0].gates.user_p95_max == 120s);
  CHECK(c->rollout.triggers.p95_vs_baseline->latency == core::latency_kind::user);
  c = load(text("[45s, {max: 2m, latency: user}]", "provider"));
  CHECK(c->rollout.phases[0].gates.p95_max == 45s);
  CHECK(c->rollout.phases[0].gates.user_p95_max == 2min);
  CHECK(c->rollout.triggers.p95_vs_baseline->latency == core::latency_kind::provider);
  c = load(text("{max: 30s}", "provider"));
  CHECK(c->rollout.phases[0].gates.p95_max == 30s);
  CHECK_FALSE(c->rollout.phases[0].gates.user_p95_max);

  auto t = text("{max: 120s, latency: users}", "provider");
  auto e = only_error(t);
  CHECK(e.path == "rollout.phases[0].gates.p95_max.latency");
  CHECK(e.line == line_with(t, "latency: users"));
  CHECK(e.message.find("provider") != std::string::npos); // it names the choices
  t = text("60s", "wall");
  e = only_error(t);
  CHECK(e.path == "rollout.triggers.p95_vs_baseline.latency");
  CHECK(e.line == line_with(t, "latency: wall"));
  t = text("[60s, {max: 90s, latency: provider}]", "provider");
  e = only_error(t);
  CHECK(e.path == "rollout.phases[0].gates.p95_max[1]");
  CHECK(e.message == "a second p95 gate for latency provider (one per latency)");
}

TEST_CASE("several config errors are all reported at once, in line order") {
  auto text = with(with(with(seed, "max_body_bytes: 65536", "max_body_bytes: 10"), "retention: 14d", "retention: 14"),
                   "percent: 0 ", "percent: 101 ");
  auto errors = errors_of(text);
  INFO(all(errors));
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].path == "server.max_body_bytes");
  CHECK(errors[1].path == "dead_letter.retention");
  CHECK(errors[1].message.find("needs a unit") != std::string::npos);
  CHECK(errors[2].path == "rollout.percent");
  CHECK(errors[2].line == line_with(text, "percent: 101"));
}

TEST_CASE("the HTTP edge's bounds in the config are checked with their key paths") {
  auto text = with(with(with(seed, "max_connections: 4096", "max_connections: 0"), "max_json_depth: 32", "max_json_depth: 1"),
                   "header_timeout: 10s", "header_timeout: 0s");
  auto errors = errors_of(text);
  INFO(all(errors));
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].path == "server.max_json_depth");
  CHECK(errors[1].path == "server.header_timeout");
  CHECK(errors[2].path == "server.max_connections");
  CHECK(errors[2].line == line_with(text, "max_connections: 0"));
}

TEST_CASE("unknown config keys are errors at every level, with the nearest known key suggested") {
  auto text = with(seed, "server:", "sever: {}\nserver:");
  auto e = only_error(text);
  CHECK(e.path == "sever");
  CHECK(e.line == line_with(text, "sever"));
  CHECK(e.message == "unknown key, did you mean \"server\"?");

  text = with(seed, "4k: {batch: {max_items", "4k: {batch: {max_item");
  auto errors = errors_of(text);
  CHECK(error_at(errors, "tiers.4k.batch.max_item").message == "unknown key, did you mean \"max_items\"?");

  e = only_error(with(seed, "quota_exhausted: true", "quota_exhausted: true\n    colour: blue"));
  CHECK(e.path == "rollout.triggers.colour");
  CHECK(e.message.find("known keys here: error_rate,") != std::string::npos);

  e = only_error(with(seed, "  hd: {batch", "  8k: {batch"));
  CHECK(e.path == "tiers.8k");
  CHECK(e.message.find("did you mean \"4k\"?") != std::string::npos);
}

TEST_CASE("missing required config keys and duplicate keys are reported") {
  auto errors = errors_of("rollout: {name: r, baseline: a}\n");
  CHECK(error_at(errors, "providers").message.find("missing required key") == 0);
  CHECK(error_at(errors, "rollout.candidate").line == 1);

  errors = errors_of(with(minimal, "4k: 0.03}}\n  b", "4k: 0.03, hd: 1}}\n  b"));
  CHECK(error_at(errors, "providers.a.cost_per_image.hd").message == "duplicate key (first written at line 2)");

  errors = errors_of(with(minimal, "cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}}\n  b", "cost_per_image: {sd: 1}}\n  b"));
  CHECK(errors.size() == 2);
  CHECK(error_at(errors, "providers.a.cost_per_image.hd").line == 2);
  CHECK(error_at(errors, "providers.a.cost_per_image.4k").message == "missing required key (USD per 4k image)");
}

TEST_CASE("config durations take an integer or an exact decimal and a unit") {
  auto wait = [](const std::string& v) { return minimal + "tiers: {sd: {batch: {max_wait: " + v + "}}}\n"; };
  CHECK(load(wait("500ms"))->tiers[0].batch.max_wait == 500ms);
  CHECK(load(wait("1.5s"))->tiers[0].batch.max_wait == 1500ms);
  CHECK(load(wait("250us"))->tiers[0].batch.max_wait == 250us);
  CHECK(load(wait("0"))->tiers[0].batch.max_wait == 0s);
  auto dwell = [](const std::string& v) { return with(minimal, "candidate: b}", "candidate: b, gradual_dwell: " + v + "}"); };
  CHECK(load(dwell("2h"))->rollout.gradual_dwell == 2h);
  CHECK(load(dwell("3d"))->rollout.gradual_dwell == 72h);
  CHECK(only_error(dwell("5x")).message == "unknown unit \"x\" in \"5x\" (units: ms, s, m, h, d)");
  CHECK(only_error(dwell("5")).message.find("needs a unit") != std::string::npos);
  CHECK(only_error(dwell("-5s")).message == "must not be negative, got -5s");
  CHECK(only_error(dwell("1.0000001s")).message.find("not a whole number of microseconds") != std::string::npos);
  CHECK(only_error(dwell("s")).message.find("must be a duration") == 0);
  CHECK(only_error(dwell("8d")).message == "must be between 1s and 7d, got 8d");
}

TEST_CASE("config percentages are exact: 5%, 0.5% or an integer percent, never above 100%") {
  auto stop = [](const std::string& v) { return minimal + "budget: {stop_at: " + v + "}\n"; };
  CHECK(load(stop("5%"))->budget.stop_at == 50'000);
  CHECK(load(stop("0.5%"))->budget.stop_at == 5'000);
  CHECK(load(stop("0.0001%"))->budget.stop_at == 1);
  CHECK(load(stop("90"))->budget.stop_at == 900'000);
  CHECK(load(stop("100%"))->budget.stop_at == 1'000'000);
  CHECK(only_error(stop("101%")).message == "must be between 0% and 100%, got 101%");
  CHECK(only_error(stop("101")).message == "must be between 0% and 100%, got 101%");
  CHECK(only_error(stop("-1%")).message == "must be between 0% and 100%, got -1%");
  CHECK(only_error(stop("0.5")).message.find("ambiguous") != std::string::npos);
  CHECK(only_error(stop("0.00001%")).message.find("more precise") != std::string::npos);
  CHECK(only_error(stop("five%")).message.find("must be a percentage") == 0);
}

TEST_CASE("config money is parsed exactly from the decimal text") {
  auto daily = [](const std::string& v) { return minimal + "budget: {daily_usd: " + v + "}\n"; };
  CHECK(load(daily("0.039"))->budget.daily == 39'000);
  CHECK(load(daily("200"))->budget.daily == 200'000'000);
  CHECK(load(daily("0.000001"))->budget.daily == 1);
  CHECK(load(daily("0.1000000"))->budget.daily == 100'000); // trailing zeros are exact
  CHECK(load(daily("1234567.891234"))->budget.daily == 1'234'567'891'234);
  CHECK(only_error(daily("0.0000001")).message.find("more than 6 decimals") != std::string::npos);
  CHECK(only_error(daily("-1")).message == "must not be negative, got -1");
  CHECK(only_error(daily("1e3")).message.find("must be an amount in USD") == 0);
  CHECK(only_error(daily("$5")).message.find("must be an amount in USD") == 0);
}

TEST_CASE("without store.synchronous a commit is fsynced (full): a 202'd job survives power loss") {
  CHECK(load(minimal)->store.synchronous == core::sync_mode::full);
  CHECK(load(minimal + "store: {path: x.db}\n")->store.synchronous == core::sync_mode::full);
  CHECK(load(minimal + "store: {synchronous: normal}\n")->store.synchronous == core::sync_mode::normal);
  CHECK(load(minimal + "store: {synchronous: \"off\"}\n")->store.synchronous == core::sync_mode::off);
}

TEST_CASE("a listen address off loopback needs auth.keys_file, loopback and keyed addresses do not") {
  auto e = only_error(minimal + "server: {listen: \"0.0.0.0:8080\"}\n");
  CHECK(e.path == "server.listen");
  CHECK(e.message.find("server.listen \"0.0.0.0:8080\" is reachable from other machines; without auth.keys_file") == 0);
  CHECK(only_error(minimal + "server: {listen: \"[::]:8080\"}\n").path == "server.listen");
  CHECK(only_error(minimal + "server: {listen: \"10.1.2.3:8080\"}\n").path == "server.listen");
  CHECK(load(minimal + "server: {listen: \"localhost:8080\"}\n"));
  CHECK(load(minimal + "server: {listen: \"127.0.0.2:8080\"}\n"));
  auto keyed = load(minimal + "server: {listen: \"0.0.0.0:8080\"}\nauth: {keys_file: keys.yaml, metrics_open: true}\n");
  REQUIRE(keyed);
  CHECK(keyed->auth.metrics_open);
  CHECK_FALSE(load(minimal)->auth.metrics_open);
}

TEST_CASE("config booleans, names, integers and times of day are checked") {
  CHECK(only_error(minimal + "tiers: {4k: {upscale: yes}}\n").message == "must be true or false, got \"yes\"");
  CHECK(only_error(minimal + "store: {synchronous: ful}\n").message ==
        "must be off, normal or full, got \"ful\" (did you mean \"full\"?)");
  CHECK(only_error(minimal + "dead_letter: {max_attempts: 2.5}\n").message == "must be an integer, got \"2.5\"");
  CHECK(only_error(minimal + "server: {listen: localhost}\n").message.find("must be HOST:PORT") == 0);
  CHECK(only_error(minimal + "server: {listen: \"127.0.0.1:70000\"}\n").message.find("port must be") == 0);
  CHECK(load(minimal + "server: {listen: \"[::1]:9000\"}\n")->server.listen == "[::1]:9000");
  CHECK(load(minimal + "budget: {day_starts: \"06:30Z\"}\n")->budget.day_starts == 6h + 30min);
  CHECK(only_error(minimal + "budget: {day_starts: \"24:00Z\"}\n").path == "budget.day_starts");
  CHECK(only_error(minimal + "budget: {day_starts: \"06:30\"}\n").message.find("HH:MMZ") != std::string::npos);
  CHECK(only_error(minimal + "server: {listen: [a, b]}\n").message == "must be a single value, got a list");
  CHECK(only_error(minimal + "tiers: 5\n").message == "must be a mapping (key: value), got \"5\"");
  CHECK(only_error(minimal + "dead_letter: {max_attempts: 99999999999999999999}\n").message.find("too many digits") == 4);
  CHECK(only_error(minimal + "dead_letter: {max_attempts: }\n").message == "has no value");
  CHECK(only_error("providers: [a, b]\nrollout: {name: r, baseline: a, candidate: b}\n").message ==
        "must be a mapping (key: value), got a list");
  CHECK(only_error(minimal + "---\nserver: {}\n").message == "expected one YAML document, found 2");
}

TEST_CASE("a YAML syntax error in the config is one error at yaml-cpp's line") {
  auto text = with(seed, "  hd: {batch: {max_items: 50, max_wait: 45s}}", "  hd: {batch: {max_items: 50, max_wait: 45s}");
  auto e = only_error(text);
  CHECK(e.path.empty());
  CHECK(e.message.find("YAML syntax error") == 0);
  CHECK(e.line >= line_with(text, "  hd: {batch"));
  CHECK(e.line <= line_with(text, "4k: {batch") + 1);
  CHECK(only_error("a: [1, 2\nb: 3\n").line > 0);
}

TEST_CASE("a replicate provider must be async and an openai provider sync, with the line of the key at fault") {
  const std::string base = R"(providers:
  rep:
    kind: replicate
    base_url: https://api.replicate.com/v1
    api_key_env: REPLICATE_API_TOKEN
    model: owner/name
    cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}
  oai:
    kind: openai
    base_url: https://api.openai.com/v1
    api_key_env: OPENAI_API_KEY
    cost_per_image: {sd: 0.01, hd: 0.02, 4k: 0.03}
rollout: {name: r, baseline: oai, candidate: rep}
)";
  // as a user would write it: replicate with no mode (sync by default) is refused at its kind
  auto e = only_error(base);
  CHECK(e.path == "providers.rep.kind");
  CHECK(e.line == 3);
  CHECK(e.message == "kind replicate is asynchronous (its predictions are polled): set mode: async");
  const auto fixed = with(base, "    model: owner/name\n", "    model: owner/name\n    mode: async\n");
  load(fixed); // no error
  e = only_error(with(fixed, "    api_key_env: OPENAI_API_KEY\n", "    api_key_env: OPENAI_API_KEY\n    mode: async\n"));
  CHECK(e.path == "providers.oai.mode");
  CHECK(e.line == 13);
  CHECK(e.message == "kind openai answers in the call itself: mode must be sync");
}

TEST_CASE("a config poll schedule has positive steps, an open step only last and a deadline beyond its total") {
  auto e = only_error(with(seed, "deadline: 30m", "deadline: 90s"));
  CHECK(e.path == "providers.gemini.polling.deadline");
  CHECK(e.message == "polling.deadline (1m30s) must exceed polling.schedule total (1m30s)");
  e = only_error(with(seed, "{every: 5s, times: 6}", "{every: 0s, times: 6}"));
  CHECK(e.path == "providers.gemini.polling.schedule[0].every");
  e = only_error(with(seed, "{every: 15s, times: 4}", "{every: 15s}"));
  CHECK(e.path == "providers.gemini.polling.schedule[1].times");
  CHECK(e.message.find("only the last step of polling.schedule may omit times") == 0);
  CHECK(only_error(with(seed, "schedule: [{every: 5s, times: 6}, {every: 15s, times: 4}, {every: 60s}]",
                        "schedule: []")).message.find("polling.schedule must list at least one step") == 0);
  CHECK(only_error(with(seed, "mode: sync\n    cost_per_image: {sd: 0.04",
                        "mode: sync\n    polling: {deadline: 1h}\n    cost_per_image: {sd: 0.04"))
          .message == "polling is only used when mode is async (mode is sync)");
}

TEST_CASE("config latency p95 below p50 and max_backoff below backoff name both fields") {
  auto text = with(seed, "latency_p95: 20s", "latency_p95: 5s");
  auto e = only_error(text);
  CHECK(e.path == "providers.gemini.simulated.latency_p95");
  CHECK(e.line == line_with(text, "latency_p95: 5s"));
  CHECK(e.message == "simulated.latency_p95 (5s) must be >= simulated.latency_p50 (8s)");
  e = only_error(with(seed, "max_backoff: 30s", "max_backoff: 500ms"));
  CHECK(e.path == "providers.gemini.retry.max_backoff");
  CHECK(e.message == "retry.max_backoff (500ms) must be >= retry.backoff (1s)");
}

TEST_CASE("a real provider kind in the config needs base_url and api_key_env and may not have a simulated block") {
  auto text = with(seed, "kind: simulated\n    mode: async", "kind: gemini\n    mode: async");
  auto errors = errors_of(text);
  INFO(all(errors));
  CHECK(errors.size() == 2);
  CHECK(error_at(errors, "providers.gemini.base_url").message == "base_url is required when kind is gemini");
  CHECK(error_at(errors, "providers.gemini.simulated").message ==
        "simulated is only allowed when kind is simulated (kind is gemini)");
  errors = errors_of(with(minimal, "a: {kind: simulated", "a: {kind: openai, base_url: \"https://x/v1\""));
  CHECK(error_at(errors, "providers.a.api_key_env").message == "api_key_env is required when kind is openai");
}

TEST_CASE("a provider's base_url that no client could call is a config error, and one with credentials is not echoed") {
  const std::string real = "a: {kind: openai, api_key_env: A_KEY, base_url: ";
  auto e = only_error(with(minimal, "a: {kind: simulated", real + "\"https://api.example.com:99999/v1\""));
  CHECK(e.path == "providers.a.base_url");
  CHECK(e.message == "has a port outside 1..65535, got \"https://api.example.com:99999/v1\"");
  e = only_error(with(minimal, "a: {kind: simulated", real + "\"https://api.example.com/v1?key=1\""));
  CHECK(e.message == "must not have a query or fragment, got \"https://api.example.com/v1?key=1\"");
  e = only_error(with(minimal, "a: {kind: simulated", real + "\"https://user:sk-secret123@api.example.com/v1\""));
  CHECK(e.message == "must not carry credentials (a key comes from api_key_env)");
  CHECK(errors_of(with(minimal, "a: {kind: simulated", real + "\"http://[::1]:8080/v1/\"")).empty());
}

TEST_CASE("secrets are refused by the config loader and never echoed") {
  auto e = only_error(with(minimal, "a: {kind: simulated", "a: {kind: simulated, api_key: sk-secret123"));
  CHECK(e.path == "providers.a.api_key");
  CHECK(e.message.find("secrets do not belong in config") == 0);
  e = only_error(with(minimal, "a: {kind: simulated", "a: {kind: simulated, api_key_env: sk-secret123"));
  CHECK(e.path == "providers.a.api_key_env");
  CHECK(e.message.find("sk-secret123") == std::string::npos);
}

TEST_CASE("the config's rollout baseline and candidate must be defined providers and differ") {
  auto e = only_error(with(seed, "baseline: photomaker", "baseline: photomakr"));
  CHECK(e.path == "rollout.baseline");
  CHECK(e.message == "rollout.baseline \"photomakr\" is not defined in providers (did you mean \"photomaker\"?)");
  e = only_error(with(seed, "candidate: gemini", "candidate: photomaker"));
  CHECK(e.path == "rollout.candidate");
  CHECK(e.message == "rollout.candidate must differ from rollout.baseline (both are \"photomaker\")");
}

TEST_CASE("config fallback keys and entries must be defined providers, without itself or repeats") {
  auto text = with(seed, "fallback: {gemini: [photomaker, sdxl], photomaker: [sdxl]}",
                   "fallback: {gemini: [photomaker, gemini, photomaker, dalle], nope: [sdxl]}");
  auto errors = errors_of(text);
  INFO(all(errors));
  CHECK(errors.size() == 4);
  CHECK(error_at(errors, "fallback.gemini[1]").message == "the fallback chain of \"gemini\" may not contain \"gemini\" itself");
  CHECK(error_at(errors, "fallback.gemini[2]").message == "\"photomaker\" appears twice in the fallback chain of \"gemini\"");
  CHECK(error_at(errors, "fallback.gemini[3]").message.find("\"dalle\" is not defined in providers") == 0);
  CHECK(error_at(errors, "fallback.nope").line == line_with(text, "fallback:"));
}

TEST_CASE("a config fallback cycle across chains is reported with its path") {
  auto text = with(seed, "fallback: {gemini: [photomaker, sdxl], photomaker: [sdxl]}",
                   "fallback:\n  gemini: [photomaker, sdxl]\n  photomaker: [gemini]");
  auto e = only_error(text);
  CHECK(e.path == "fallback.photomaker[0]");
  CHECK(e.line == line_with(text, "photomaker: [gemini]"));
  CHECK(e.message == "fallback chains form a cycle: gemini -> photomaker -> gemini");
  e = only_error(with(seed, "photomaker: [sdxl]}", "photomaker: [sdxl], sdxl: [gemini]}"));
  CHECK(e.message == "fallback chains form a cycle: gemini -> photomaker -> sdxl -> gemini");
}

TEST_CASE("config budget providers must be defined providers") {
  auto e = only_error(with(seed, "providers: {gemini: 200}", "providers: {gemini: 200, gemni: 5}"));
  CHECK(e.path == "budget.providers.gemni");
  CHECK(e.message.find("which is not defined in providers (did you mean \"gemini\"?)") != std::string::npos);
}

TEST_CASE("config phase percents increase strictly within 0..100 and the last is 100") {
  auto e = only_error(with(seed, "{percent: 50,", "{percent: 10,"));
  CHECK(e.path == "rollout.phases[2].percent");
  CHECK(e.message == "rollout.phases[2].percent (10) must be greater than rollout.phases[1].percent (10)");
  e = only_error(with(seed, "- {percent: 100}", "- {percent: 90}"));
  CHECK(e.path == "rollout.phases[3].percent");
  CHECK(e.message == "the last phase of rollout.phases must be 100, got 90");
  e = only_error(with(seed, "{percent: 10,", "{percent: 0,")); // only the first phase can be at 0 %
  CHECK(e.message == "rollout.phases[1].percent (0) must be greater than rollout.phases[0].percent (0)");
  CHECK(only_error(with(seed, "{percent: 10,", "{percent: -1,")).message == "must be between 0 and 100, got -1");
  CHECK(only_error(with(seed, "{percent: 10,", "{percent: 12.5%,")).message.find("whole percentage") != std::string::npos);
  CHECK(load(with(seed, "percent: 0 ", "percent: 10% "))->rollout.percent == 10);
}

namespace {
/// `minimal` with its rollout written as a block, and `extra` lines in it.
std::string rollout_block(const std::string& extra) {
  return with(minimal, "rollout: {name: r, baseline: a, candidate: b}\n",
              "rollout:\n  name: r\n  baseline: a\n  candidate: b\n" + extra);
}
} // namespace

TEST_CASE("a phase at 0 % is a verification phase with its own min_duration and gates") {
  auto c = load(rollout_block("  phases: [{percent: 0, min_duration: 2d, min_samples: 50, gates: {p95_max: 30s}}, {percent: 100}]\n"));
  REQUIRE(c->rollout.phases.size() == 2);
  CHECK(c->rollout.phases[0].percent == 0);
  CHECK(c->rollout.phases[0].min_duration == 48h);
  CHECK(c->rollout.phases[0].min_samples == 50);
  CHECK(c->rollout.phases[0].gates.p95_max == 30s);
}

TEST_CASE("the breaker_trips trigger takes above and for, with for at most the hour the rollout's window keeps") {
  auto c = load(rollout_block("  triggers: {breaker_trips: {above: 2, for: 30m}}\n"));
  REQUIRE(c->rollout.triggers.breaker_trips);
  CHECK(c->rollout.triggers.breaker_trips->above == 2);
  CHECK(c->rollout.triggers.breaker_trips->window == 30min);
  CHECK_FALSE(load(minimal)->rollout.triggers.breaker_trips); // absent: not checked
  auto text = rollout_block("  triggers: {breaker_trips: {above: 2, for: 2h}}\n");
  auto e = only_error(text);
  CHECK(e.path == "rollout.triggers.breaker_trips.for");
  CHECK(e.line == line_with(text, "breaker_trips"));
  CHECK(only_error(rollout_block("  triggers: {breaker_trips: {above: 2}}\n")).path == "rollout.triggers.breaker_trips.for");
  CHECK(only_error(rollout_block("  triggers: {breaker_trips: {above: -1, for: 1h}}\n")).path ==
        "rollout.triggers.breaker_trips.above");
}

TEST_CASE("the sequential trigger takes margins, alpha, window and min_samples, and bad values are line-numbered errors") {
  auto c = load(rollout_block("  triggers: {sequential: {error_rate_margin: 1%}}\n"));
  REQUIRE(c->rollout.triggers.sequential);
  const auto& s = *c->rollout.triggers.sequential;
  CHECK(s.error_rate_margin == 10'000);
  CHECK_FALSE(s.latency_factor); // absent: not tested
  CHECK(s.alpha == 1000);        // the defaults: 0.1 %, 1 d, 200
  CHECK(s.window == 24h);
  CHECK(s.min_samples == 200);
  CHECK_FALSE(load(minimal)->rollout.triggers.sequential);
  c = load(rollout_block(
    "  triggers: {sequential: {latency_factor: 2.5, alpha: 1%, window: 6h, min_samples: 50}}\n"));
  CHECK(c->rollout.triggers.sequential->latency_factor == Approx(2.5));
  CHECK(c->rollout.triggers.sequential->alpha == 10'000);
  CHECK(c->rollout.triggers.sequential->window == 6h);
  CHECK(c->rollout.triggers.sequential->min_samples == 50);

  auto text = rollout_block("  triggers:\n    sequential: {alpha: 1%}\n");
  auto e = only_error(text);
  CHECK(e.path == "rollout.triggers.sequential");
  CHECK(e.line == line_with(text, "sequential"));
  CHECK(e.message.find("tests nothing") != std::string::npos);
  text = rollout_block("  triggers:\n    sequential: {error_rate_margin: 1%, alpha: 0%}\n");
  e = only_error(text);
  CHECK(e.path == "rollout.triggers.sequential.alpha");
  CHECK(e.line == line_with(text, "alpha: 0%"));
  CHECK(only_error(rollout_block("  triggers: {sequential: {latency_factor: 0.5}}\n")).path ==
        "rollout.triggers.sequential.latency_factor");
  CHECK(only_error(rollout_block("  triggers: {sequential: {error_rate_margin: 1%, window: 10s}}\n")).path ==
        "rollout.triggers.sequential.window");
  CHECK(only_error(rollout_block("  triggers: {sequential: {error_rate_margin: 1%, colour: red}}\n")).path ==
        "rollout.triggers.sequential.colour");
}

TEST_CASE("check-config prints ok and the hash for a valid file and exits 0") {
  std::ostringstream out, err;
  CHECK(config_adapter::run_check_config(seed_path, out, err) == 0);
  CHECK(err.str().empty());
  auto text = out.str();
  REQUIRE(text.size() == 3 + 16 + 1);
  CHECK(text.rfind("ok ", 0) == 0);
  CHECK(text.find_first_not_of("0123456789abcdef", 3) == 19);
}

TEST_CASE("check-config prints one file:line: path: message line per error and exits 2") {
  auto path = temp_file("invalid.yaml", with(with(seed, "max_items: 50", "max_items: 0"), "stop_at: 90%", "stop_at: 190%"));
  std::ostringstream out, err;
  CHECK(config_adapter::run_check_config(path.string(), out, err) == 2);
  CHECK(out.str().empty());
  auto text = read_file(path.string());
  CHECK(err.str() == path.string() + ":" + std::to_string(line_with(text, "max_items: 0")) +
                         ": tiers.sd.batch.max_items: must be between 1 and 512, got 0\n" + path.string() + ":" +
                         std::to_string(line_with(text, "stop_at: 190%")) +
                         ": budget.stop_at: must be between 0% and 100%, got 190%\n");
  std::filesystem::remove(path);
}

TEST_CASE("check-config exits 1 with one line when the file cannot be read") {
  std::ostringstream out, err;
  CHECK(config_adapter::run_check_config("/nonexistent/config.yaml", out, err) == 1);
  CHECK(err.str() == "/nonexistent/config.yaml: cannot read the file: No such file or directory\n");
  CHECK(config_adapter::load_config_file("/nonexistent/config.yaml").unreadable);
}

TEST_CASE("the same config bytes give the same hash and a one-byte change gives another") {
  auto a = load(seed)->hash;
  CHECK(a == load(seed)->hash);
  CHECK(a == config_adapter::load_config_file(seed_path).config->hash);
  CHECK(a != load(seed + " ")->hash);
  CHECK(a != load(with(seed, "max_items: 20", "max_items: 21"))->hash);
}

TEST_CASE("config retry.max_retry_after and retry.deadline have defaults and bounds") {
  auto loaded = load_config_text(minimal, "c.yaml");
  REQUIRE(loaded.errors.empty());
  const auto& a = *loaded.config->provider("a");
  CHECK(a.retry.max_retry_after == core::defaults::retry_max_retry_after);
  CHECK(a.retry.max_retry_after == 60s);
  CHECK_FALSE(a.retry.deadline);
  CHECK(core::retry_deadline(a) == a.timeout * 3 + 30s); // timeout x max_attempts + max_backoff

  auto set = with(minimal, "a: {kind: simulated,", "a: {kind: simulated, retry: {max_retry_after: 2m, deadline: 90s},");
  auto l2 = load_config_text(set, "c.yaml");
  REQUIRE(l2.errors.empty());
  CHECK(l2.config->provider("a")->retry.max_retry_after == 2min);
  CHECK(core::retry_deadline(*l2.config->provider("a")) == 90s);

  auto bad = with(minimal, "a: {kind: simulated,", "a: {kind: simulated, retry: {max_retry_after: 2d},");
  auto e = only_error(bad);
  CHECK(e.path == "providers.a.retry.max_retry_after");
  CHECK(e.line == 2);
  auto async_deadline = with(minimal, "a: {kind: simulated,", "a: {kind: simulated, mode: async, retry: {deadline: 1m},");
  e = only_error(async_deadline);
  CHECK(e.path == "providers.a.retry.deadline");
  CHECK(e.message.find("bounds a sync attempt") != std::string::npos);
}

TEST_CASE("config fallback_on lists provider error classes and rejects others with their line") {
  auto text = with(minimal, "b: {kind: simulated,", "b: {kind: simulated, fallback_on: [server, timeout, server],");
  auto loaded = load_config_text(text, "c.yaml");
  REQUIRE(loaded.errors.empty());
  REQUIRE(loaded.config->provider("b")->fallback_on);
  CHECK(*loaded.config->provider("b")->fallback_on ==
        std::vector<core::error_class>{core::error_class::server, core::error_class::timeout});
  CHECK_FALSE(loaded.config->provider("a")->fallback_on); // absent: the default set

  for (const char* wrong : {"servr", "breaker_open", "none"}) {
    auto bad = with(minimal, "b: {kind: simulated,", std::string("b: {kind: simulated, fallback_on: [server, ") + wrong + "],");
    auto e = only_error(bad);
    CHECK(e.path == "providers.b.fallback_on[1]");
    CHECK(e.line == 3);
    CHECK(e.message.find(std::string("must be a provider error class")) == 0);
    CHECK(e.message.find(wrong) != std::string::npos);
  }
}

TEST_CASE("rollback.cancel_in_flight_after defaults to 5m and is bounded") {
  CHECK(load(minimal)->rollback.cancel_in_flight_after == 5min);
  CHECK(load(minimal)->rollback.cancel_in_flight_after == core::defaults::rollback_cancel_in_flight_after);
  CHECK(load(minimal + "rollback: {cancel_in_flight_after: 90s}\n")->rollback.cancel_in_flight_after == 90s);
  auto e = only_error(minimal + "rollback: {cancel_in_flight_after: 2d}\n");
  CHECK(e.path == "rollback.cancel_in_flight_after");
  CHECK(e.message.find("must be between 0") == 0);
  CHECK(only_error(minimal + "rollback: {cancel_after: 5m}\n").path == "rollback.cancel_after");
}
