// deploy/: every metric name the alert rules and the Grafana dashboard query is one the engine declares (and so
// exports from its start: test_observability checks the scrape against the same declarations). A renamed metric
// would otherwise leave an alert that never fires and a panel that stays empty.
#include "core/metric_catalog.hpp"

#include <cpprest/json.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

using namespace cutover;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Every `cutover_...` name in `text`, a histogram's _bucket/_sum/_count taken as its family.
std::set<std::string> metric_names(const std::string& text, const std::set<std::string>& histograms) {
  std::set<std::string> out;
  static const std::regex name{"cutover_[a-z0-9_]+"};
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it) {
    std::string n = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0 &&
          histograms.count(n.substr(0, n.size() - s.size())) > 0)
        n = n.substr(0, n.size() - s.size());
    }
    out.insert(n);
  }
  return out;
}

struct declared_families {
  std::set<std::string> all, histograms;
  declared_families() {
    core::metrics_registry m;
    core::declare_engine_metrics(m, {"p"});
    const auto text = m.render();
    for (const auto& n : m.family_names()) {
      all.insert(n);
      if (text.find("# TYPE " + n + " histogram\n") != std::string::npos)
        histograms.insert(n);
    }
  }
};

void check_names_declared(const std::string& file, std::size_t at_least) {
  const declared_families d;
  REQUIRE(!d.histograms.empty());
  const auto names = metric_names(read_file(std::string(CUTOVER_SOURCE_DIR) + "/" + file), d.histograms);
  REQUIRE(names.size() >= at_least);
  for (const auto& n : names) {
    INFO(file << " queries " << n);
    CHECK(d.all.count(n) == 1);
  }
}

} // namespace

TEST_CASE("every metric the Grafana dashboard queries is one the engine exports") {
  check_names_declared("deploy/dashboard.json", 12);
}

TEST_CASE("deploy/dashboard.json is JSON that Grafana can import: an object with titled panels and their queries") {
  const auto text = read_file(std::string(CUTOVER_SOURCE_DIR) + "/deploy/dashboard.json");
  std::error_code err;
  const auto dashboard = web::json::value::parse(text, err);
  INFO(err.message());
  REQUIRE(!err);
  REQUIRE(dashboard.is_object());
  REQUIRE(dashboard.has_string_field("title"));
  REQUIRE(dashboard.has_array_field("panels"));
  const auto& panels = dashboard.at("panels").as_array();
  REQUIRE(panels.size() > 0);
  std::size_t queries = 0;
  for (const auto& p : panels) {
    REQUIRE(p.is_object());
    CHECK(p.has_string_field("title"));
    if (p.has_array_field("targets"))
      for (const auto& t : p.at("targets").as_array())
        queries += t.has_string_field("expr");
  }
  CHECK(queries >= 12);
  // the same check refuses a dashboard cut short (a bad merge, a truncated copy)
  web::json::value::parse(text.substr(0, text.size() / 2), err);
  CHECK(err);
}

TEST_CASE("every metric the alert rules query is one the engine exports") {
  check_names_declared("deploy/alerts.yml", 9);
}

TEST_CASE("the name check catches a metric the engine does not export") {
  const declared_families d;
  const auto names = metric_names("rate(cutover_job_user_wait_seconds_bucket[5m]) + cutover_no_such_thing", d.histograms);
  CHECK(names == std::set<std::string>{"cutover_job_user_wait_seconds", "cutover_no_such_thing"});
  CHECK(d.all.count("cutover_no_such_thing") == 0);
}
