// `cutover simulate` on scaled-down scenarios (hours, not days): the real actor tree on virtual time, real SQLite,
// real YAML. Each story runs the command's own entry point and reads the files it wrote.

#include "adapters/config/scenario_loader.hpp"
#include "app/simulate/simulate.hpp"
#include "core/traffic.hpp"
#include "support/virtual_time.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

using namespace cutover;
using namespace std::chrono_literals;

namespace {

const std::string sim_dir = std::string(CUTOVER_SOURCE_DIR) + "/tests/sim/";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Rows of a CSV without quoted commas in the columns we read, as column -> value.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::istringstream in(slurp(path));
  std::string line;
  std::vector<std::string> head;
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& l) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (char c : l) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted)
        out.emplace_back();
      else
        out.back() += c;
    }
    return out;
  };
  while (std::getline(in, line)) {
    if (head.empty()) {
      head = split(line);
      continue;
    }
    auto cells = split(line);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < head.size() && i < cells.size(); ++i)
      row[head[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

core::instant at(const std::string& text) {
  core::instant t{};
  REQUIRE(core::parse_rfc3339(text, t));
  return t;
}

int run(const std::string& config, const std::string& scenario, const std::string& out,
        std::vector<std::string> sweeps = {}, std::uint64_t seed = 1) {
  sim::simulate_flags f;
  f.config = sim_dir + config;
  f.scenario = sim_dir + scenario;
  f.out = out;
  f.seed = seed;
  f.sweeps = std::move(sweeps);
  f.processes = 1;
  return sim::simulate(f);
}

std::vector<std::string> files = {"summary.json", "decisions.csv", "daily.csv", "timeline.csv", "report.md",
                                  "percent.svg",  "cost.svg",      "wait_p95.svg", "budget.svg"};

} // namespace

TEST_CASE("a healthy candidate reaches 100 % no earlier than its phases allow and within one tick of its gates") {
  testing::temp_dir dir;
  REQUIRE(run("config.yaml", "healthy.yaml", dir.file("out")) == 0);
  const auto rows = read_csv(dir.file("out/decisions.csv"));
  std::vector<std::map<std::string, std::string>> moves;
  for (const auto& r : rows) {
    CHECK(r.at("action") != "rollback");
    if (r.at("action") == "promote" || r.at("action") == "complete")
      moves.push_back(r);
  }
  REQUIRE(moves.size() >= 3);
  const auto start = testing::virtual_epoch;
  const auto tick = 1s;
  // 0 -> 10 % at the first tick, 10 -> 50 % once phase 0's 2 h passed, 50 -> 100 % once phase 1's 3 h passed;
  // the traffic gives each phase its samples well before, so the gates are met exactly when min_duration is
  CHECK(moves[0].at("percent") == "10");
  CHECK(at(moves[0].at("at")) == start + tick);
  CHECK(moves[1].at("percent") == "50");
  const auto to50 = at(moves[1].at("at")) - at(moves[0].at("at"));
  CHECK(to50 >= 2h);
  CHECK(to50 <= 2h + tick);
  CHECK(moves[2].at("percent") == "100");
  const auto to100 = at(moves[2].at("at")) - at(moves[1].at("at"));
  CHECK(to100 >= 3h);
  CHECK(to100 <= 3h + tick);
  const auto summary = slurp(dir.file("out/summary.json"));
  CHECK(summary.find("\"final_percent\": 100") != std::string::npos);
  CHECK(summary.find("\"reached_100_at\": \"" + moves[2].at("at") + "\"") != std::string::npos);
  CHECK(summary.find("\"rollbacks\": 0") != std::string::npos);
  for (const auto& f : files)
    CHECK(!slurp(dir.file("out/" + f)).empty());
}

TEST_CASE("a candidate that starts failing is rolled back the trigger's for window after the breach, within a tick") {
  testing::temp_dir dir;
  REQUIRE(run("config.yaml", "regresses.yaml", dir.file("out")) == 0);
  const auto summary = slurp(dir.file("out/summary.json"));
  auto field = [&](const std::string& key) {
    const auto pos = summary.find("\"" + key + "\": \"");
    REQUIRE(pos != std::string::npos);
    const auto from = pos + key.size() + 5;
    return at(summary.substr(from, summary.find('"', from) - from));
  };
  const auto onset = field("incident_at");
  const auto first_failure = field("first_candidate_failure_at");
  const auto rollback = field("rollback_at");
  CHECK(onset == testing::virtual_epoch + 3h);
  // the engine sees the onset only through the candidate's first failed item: the first batch sent after it fails,
  // and a batch waits at most its 30 s window (tests/sim/config.yaml) plus the call and the first 5 s poll
  CHECK(first_failure >= onset);
  CHECK(first_failure <= onset + 1min);
  // the error_rate trigger's window is 5 m: the breach starts at the first tick after the first failure is seen
  CHECK(rollback >= onset + 5min);
  CHECK(rollback <= onset + 1min + 5min + 1s);
  CHECK(rollback >= first_failure + 5min);
  CHECK(rollback <= first_failure + 5min + 1s);
  CHECK(summary.find("\"kind\": \"rolled_back\", \"detail\": \"error_rate") != std::string::npos);
  CHECK(summary.find("\"final_percent\": 0") != std::string::npos);
  CHECK(summary.find("\"last_candidate_job_finished_at\": \"") != std::string::npos);
}

TEST_CASE("two runs with one seed write byte-identical files, another seed other figures") {
  testing::temp_dir dir;
  REQUIRE(run("config.yaml", "regresses.yaml", dir.file("a")) == 0);
  REQUIRE(run("config.yaml", "regresses.yaml", dir.file("b")) == 0);
  REQUIRE(run("config.yaml", "regresses.yaml", dir.file("c"), {}, 2) == 0);
  for (const auto& f : files) {
    const auto a = slurp(dir.file("a/" + f));
    REQUIRE(!a.empty());
    CHECK(a == slurp(dir.file("b/" + f)));
  }
  CHECK(slurp(dir.file("a/timeline.csv")) != slurp(dir.file("c/timeline.csv")));
  CHECK(slurp(dir.file("a/summary.json")) != slurp(dir.file("c/summary.json")));
}

TEST_CASE("a sweep over a tier's max_wait gives larger batches and longer waits as the window grows") {
  testing::temp_dir dir;
  REQUIRE(run("sweep.config.yaml", "sweep.yaml", dir.file("out"), {"tiers.sd.batch.max_wait=5s,30s,2m"}) == 0);
  const auto rows = read_csv(dir.file("out/sweep.csv"));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].at("tiers.sd.batch.max_wait") == "5s");
  CHECK(rows[2].at("tiers.sd.batch.max_wait") == "2m");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    CHECK(std::stod(rows[i].at("avg_batch_items")) > std::stod(rows[i - 1].at("avg_batch_items")));
    CHECK(std::stod(rows[i].at("wait_p50_s")) > std::stod(rows[i - 1].at("wait_p50_s")));
    CHECK(std::stoll(rows[i].at("batches")) < std::stoll(rows[i - 1].at("batches")));
  }
  CHECK(!slurp(dir.file("out/sweep.svg")).empty());
}

TEST_CASE("a sweep over two keys runs every combination once, and its plot is well-formed SVG") {
  testing::temp_dir dir;
  REQUIRE(run("sweep.config.yaml", "sweep.yaml", dir.file("out"),
              {"tiers.sd.batch.max_wait=5s,2m", "tiers.sd.batch.max_items=10,200"}) == 0);
  const auto rows = read_csv(dir.file("out/sweep.csv"));
  REQUIRE(rows.size() == 4);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : rows) {
    seen.insert({r.at("tiers.sd.batch.max_wait"), r.at("tiers.sd.batch.max_items")});
    if (r.at("tiers.sd.batch.max_items") == "10")
      CHECK(std::stod(r.at("avg_batch_items")) <= 10.0); // the second key took effect in its runs
    // the row names the folder with that combination's full files
    const auto summary = slurp(dir.file("out/" + r.at("files") + "/summary.json"));
    REQUIRE(!summary.empty());
    CHECK(summary.find("\"jobs\"") != std::string::npos);
  }
  const std::set<std::pair<std::string, std::string>> all{{"5s", "10"}, {"5s", "200"}, {"2m", "10"}, {"2m", "200"}};
  CHECK(seen == all);
  const auto svg = dir.file("out/sweep.svg");
  REQUIRE(slurp(svg).find("<svg") != std::string::npos);
  CHECK(std::system(("xmllint --noout '" + svg + "'").c_str()) == 0);
}

TEST_CASE("every plot is well-formed SVG (xmllint parses it)") {
  testing::temp_dir dir;
  REQUIRE(run("config.yaml", "regresses.yaml", dir.file("out")) == 0);
  int checked = 0;
  for (const auto& f : files) {
    if (f.size() < 4 || f.substr(f.size() - 4) != ".svg")
      continue;
    const auto text = slurp(dir.file("out/" + f));
    REQUIRE(text.find("<svg") != std::string::npos);
    CHECK(text.find("<path") + text.find("<rect") != std::string::npos);
    const auto cmd = "xmllint --noout '" + dir.file("out/" + f) + "'";
    CHECK(std::system(cmd.c_str()) == 0);
    ++checked;
  }
  CHECK(checked == 4);
}

TEST_CASE("a bad scenario gives every error with its line and key path, and no run") {
  auto r = config_adapter::load_scenario(sim_dir + "bad.yaml", sim_dir + "config.yaml");
  CHECK(!r.scenario);
  std::vector<std::string> lines;
  for (const auto& e : r.errors)
    lines.push_back(config_adapter::to_string(e));
  REQUIRE(!lines.empty());
  auto has = [&](const std::string& text) {
    for (const auto& l : lines)
      if (l.find(text) != std::string::npos)
        return true;
    return false;
  };
  CHECK(has("bad.yaml:4: traffic.tiers: shares must add up to 100%"));
  CHECK(has("bad.yaml:6: providers.gemini.failure_rat: unknown key, did you mean \"failure_rate\"?"));
  CHECK(has("bad.yaml:7: providers.nosuch: not a provider of"));
  CHECK(has("bad.yaml:9: incidents[0].kind: must be latency, errors"));
  CHECK(has("bad.yaml:11: tiers.sd.batch.max_items: must be between 1 and 512, got 0"));
}

TEST_CASE("generated traffic follows the per-hour rate and is the same for the same seed") {
  core::scenario s;
  s.length = 24h;
  s.traffic.per_hour.fill(0);
  s.traffic.per_hour[10] = 3600; // one a second from 10:00 to 11:00 UTC
  core::traffic_generator a(s, 7), b(s, 7);
  std::int64_t n = 0;
  while (auto x = a.next()) {
    auto y = b.next();
    REQUIRE(y);
    CHECK(x->at == y->at);
    CHECK(x->at >= s.start + 10h);
    CHECK(x->at < s.start + 11h);
    ++n;
  }
  CHECK(n > 3400);
  CHECK(n < 3800);
}

TEST_CASE("a trace replays its observed outcome only when the job goes to the observed provider") {
  testing::temp_dir dir;
  REQUIRE(run("config.yaml", "trace.yaml", dir.file("out")) == 0);
  const auto rows = read_csv(dir.file("out/daily.csv"));
  std::map<std::string, std::map<std::string, std::string>> by;
  for (const auto& r : rows)
    by[r.at("provider")] = r;
  REQUIRE(by.count("photomaker"));
  REQUIRE(by.count("gemini"));
  // every job routed to photomaker was refused as recorded (content policy: no fallback); gemini's followed its model
  CHECK(std::stoi(by["photomaker"]["requests"]) > 0);
  CHECK(by["photomaker"]["failed"] == by["photomaker"]["requests"]);
  CHECK(std::stoi(by["gemini"]["requests"]) > 0);
  CHECK(by["gemini"]["failed"] == "0");
  const auto summary = slurp(dir.file("out/summary.json"));
  CHECK(summary.find("\"jobs\": 80") != std::string::npos);
}

TEST_CASE("the shipped config takes a healthy candidate to 100 % without a rollback over 14 days, noisy or not") {
  // the shipped scenarios of a healthy candidate, at about 4,000-6,000 images a day, with config.yaml itself
  for (const std::string scenario : {"seed-healthy-14d.yaml", "noisy-healthy.yaml"}) {
    INFO(scenario);
    testing::temp_dir out;
    sim::simulate_flags f;
    f.config = std::string(CUTOVER_SOURCE_DIR) + "/config.yaml";
    f.scenario = std::string(CUTOVER_SOURCE_DIR) + "/bench/scenarios/" + scenario;
    f.out = out.path.string();
    f.seed = 1;
    f.processes = 1;
    REQUIRE(sim::simulate(f) == 0);
    const auto summary = slurp(out.file("summary.json"));
    CHECK(summary.find("\"rollbacks\": 0,") != std::string::npos);
    CHECK(summary.find("\"final_state\": \"completed\"") != std::string::npos);
    CHECK(summary.find("\"final_percent\": 100,") != std::string::npos);
  }
}

TEST_CASE("the shipped config rolls back a candidate whose latency doubles, by its sequential trigger") {
  // at 50 %, latency and run time x2 from 2h: p95 about 2x the baseline's, under p95_vs_baseline's 3x; the
  // geometric mean goes from about 1.9x to 3.1x the baseline's, over the sequential trigger's 2.5
  testing::temp_dir out;
  sim::simulate_flags f;
  f.config = std::string(CUTOVER_SOURCE_DIR) + "/config.yaml";
  f.scenario = sim_dir + "slower.yaml";
  f.out = out.path.string();
  f.seed = 1;
  f.processes = 1;
  REQUIRE(sim::simulate(f) == 0);
  const auto summary = slurp(out.file("summary.json"));
  CHECK(summary.find("\"kind\": \"rolled_back\", \"detail\": \"sequential_latency\"") != std::string::npos);
  const auto rows = read_csv(out.file("decisions.csv"));
  REQUIRE_FALSE(rows.empty());
  std::vector<std::map<std::string, std::string>> rollbacks;
  for (const auto& r : rows)
    if (r.at("action") == "rollback")
      rollbacks.push_back(r);
  REQUIRE(rollbacks.size() == 1);
  CHECK(at(rollbacks[0].at("at")) > testing::virtual_epoch + 2h); // after the onset
  CHECK(rollbacks[0].at("items").find("trigger:sequential_latency=fired") != std::string::npos);
  CHECK(rollbacks[0].at("items").find("trigger:p95_vs_baseline=quiet") != std::string::npos);
}

TEST_CASE("every shipped scenario loads with the config it is meant for") {
  const std::string dir = std::string(CUTOVER_SOURCE_DIR) + "/bench/scenarios/";
  const std::string shipped = std::string(CUTOVER_SOURCE_DIR) + "/config.yaml";
  const std::vector<std::pair<std::string, std::string>> all = {
    {"seed-healthy-14d.yaml", shipped},        {"candidate-regresses-at-50.yaml", shipped},
    {"budget-exhausted-midday.yaml", shipped}, {"provider-outage-fallback.yaml", shipped},
    {"noisy-healthy.yaml", shipped},           {"composite-limits.yaml", shipped},
    {"drill.yaml", shipped},                   {"load-14d-2rps.yaml", dir + "load.config.yaml"},
    {"dq-healthy.yaml", shipped},              {"dq-p95x1.5.yaml", shipped},
    {"dq-p95x2.yaml", shipped},                {"dq-p95x4.yaml", shipped},
    {"dq-err2.yaml", shipped},                 {"dq-err5.yaml", shipped}};
  for (const auto& [scenario, config] : all) {
    auto r = config_adapter::load_scenario(dir + scenario, config);
    for (const auto& e : r.errors)
      FAIL_CHECK(config_adapter::to_string(e));
    CHECK(r.scenario);
  }
  auto drill = config_adapter::load_scenario(dir + "drill.yaml", shipped);
  REQUIRE(drill.scenario);
  REQUIRE(!drill.scenario->incidents.empty());
  CHECK(drill.scenario->incidents.front().from == testing::virtual_epoch + 4 * 24h + 2h);
  CHECK(drill.scenario->length == 4 * 24h + 12h);
}

TEST_CASE("several runs (--runs K) use seeds N..N+K-1 in two processes and count the outcomes") {
  testing::temp_dir dir;
  sim::simulate_flags f;
  f.config = sim_dir + "config.yaml";
  f.scenario = sim_dir + "regresses.yaml";
  f.out = dir.file("out");
  f.seed = 5;
  f.runs = 3;
  f.processes = 2;
  REQUIRE(sim::simulate(f) == 0);
  const auto rows = read_csv(dir.file("out/runs.csv"));
  REQUIRE(rows.size() == 3);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].at("seed") == std::to_string(5 + i));
    CHECK(rows[i].at("outcome") == "rolled_back");
    CHECK(!rows[i].at("onset_to_rollback_s").empty());
  }
  CHECK(rows[0].at("jobs") != rows[1].at("jobs")); // other seeds, other traffic
  const auto summary = slurp(dir.file("out/summary.json"));
  CHECK(summary.find("\"runs\": 3") != std::string::npos);
  CHECK(summary.find("\"rolled_back\": {\"count\": 3") != std::string::npos);
  CHECK(summary.find("\"seed\": 5") != std::string::npos);
}
