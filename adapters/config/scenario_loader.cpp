// Scenario files: read with the config machinery, then offsets, patches and the trace resolved.

#include "adapters/config/scenario_loader.hpp"

#include "adapters/config/scenario_schema.hpp"
#include "adapters/config/values.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cutover::config_adapter {

namespace {

using namespace cutover::core;

/// Instants below this were written as offsets from the start (see read_when).
constexpr instant offset_limit{std::chrono::hours(366 * 24)};

instant resolve(instant t, instant start) { return t < offset_limit ? start + t.time_since_epoch() : t; }

bool read_file(const std::string& path, std::string& out, std::string& why) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    why = "it is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return false;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  out = bytes.str();
  return true;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out(1);
  for (char ch : line) {
    if (ch == ',')
      out.emplace_back();
    else if (ch != '\r')
      out.back() += ch;
  }
  return out;
}

/// A trace CSV: a header naming the columns (timestamp, user, tier required; n, endpoint, segment, provider,
/// latency, status optional), one job per row. Every bad cell is an error with its line.
void read_trace(detail::context& c, const std::string& text, std::vector<trace_row>& out) {
  static const std::vector<std::string> known = {"timestamp", "user", "tier",    "n",     "endpoint",
                                                 "segment",   "provider", "latency", "status"};
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> cols;
  int no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (line.empty() || line == "\r")
      continue;
    auto cells = split_csv(line);
    if (cols.empty()) {
      cols = cells;
      for (const auto& col : cols)
        if (std::find(known.begin(), known.end(), col) == known.end())
          c.error(no, "trace." + col, "unknown column (known: timestamp, user, tier, n, endpoint, segment, provider, "
                                      "latency, status)");
      for (const char* need : {"timestamp", "user", "tier"})
        if (std::find(cols.begin(), cols.end(), need) == cols.end())
          c.error(no, std::string("trace.") + need, "missing column");
      if (!c.ok("trace"))
        return;
      continue;
    }
    if (cells.size() != cols.size()) {
      c.error(no, "trace", "has " + std::to_string(cells.size()) + " cells, the header " + std::to_string(cols.size()));
      continue;
    }
    trace_row r;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const auto& col = cols[i];
      const auto& v = cells[i];
      const auto path = "trace." + col;
      std::string why;
      if (col == "timestamp") {
        if (!parse_rfc3339(v, r.at))
          c.error(no, path, "must be an RFC 3339 time, got \"" + v + "\"");
      } else if (col == "user") {
        if (v.empty())
          c.error(no, path, "must not be empty");
        r.user = v;
      } else if (col == "tier") {
        if (!parse_tier(v, r.tier_))
          c.error(no, path, "must be sd, hd or 4k, got \"" + v + "\"");
      } else if (col == "n") {
        std::int64_t n = 1;
        if (!v.empty() && (!detail::parse_integer(v, n, why) || n < 1 || n > 4))
          c.error(no, path, "must be 1..4, got \"" + v + "\"");
        r.n = static_cast<int>(n);
      } else if (col == "endpoint") {
        r.endpoint = v;
      } else if (col == "segment") {
        r.segment = v;
      } else if (col == "provider") {
        r.provider = v;
      } else if (col == "latency") {
        duration d{};
        if (!v.empty() && !detail::parse_duration(v, d, why))
          c.error(no, path, why);
        else if (!v.empty())
          r.latency = d;
      } else if (col == "status") {
        if (v.empty())
          continue;
        r.has_status = true;
        if (v != "succeeded" && !(parse_error_class(v, r.status) && r.status != error_class::none))
          c.error(no, path, "must be succeeded or an error class (server, timeout, ...), got \"" + v + "\"");
        if (v == "succeeded")
          r.status = error_class::none;
      }
    }
    if (!out.empty() && r.at < out.back().at)
      c.error(no, "trace.timestamp", "rows must be in time order");
    out.push_back(std::move(r));
  }
  if (cols.empty())
    c.error(1, "trace", "is empty (a header line is required)");
}

std::string known_providers(const config& cfg) {
  std::string list;
  for (const auto& p : cfg.providers)
    list += (list.empty() ? "" : ", ") + p.name;
  return list;
}

} // namespace

scenario_result load_scenario(const std::string& scenario_path, const std::string& config_path,
                              const std::vector<patch_entry>& extra) {
  scenario_result result;
  std::string text, config_text, why;
  if (!read_file(scenario_path, text, why)) {
    result.unreadable = true;
    result.errors.push_back({scenario_path, 0, "", "cannot read the file: " + why});
    return result;
  }
  if (!read_file(config_path, config_text, why)) {
    result.unreadable = true;
    result.errors.push_back({config_path, 0, "", "cannot read the file: " + why});
    return result;
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    result.errors.push_back({scenario_path, e.mark.line + 1, "", "YAML syntax error: " + e.msg});
    return result;
  }
  detail::context c(scenario_path);
  auto file = std::make_shared<detail::scenario_file>();
  auto& sc = file->sc;
  sc.file = scenario_path;
  try {
    detail::read_map(c, root, "", detail::scenario_fields(), *file);
  } catch (const std::exception& e) {
    c.error(0, "", std::string("internal error while reading the scenario: ") + e.what());
  }
  if (file->has_traffic == !file->trace.empty())
    c.error(0, "traffic", file->has_traffic ? "give traffic or trace, not both" : "give traffic or a trace");

  // the config it runs with: the sweep's values, then the scenario's prices
  std::vector<patch_entry> patches = extra;
  for (auto& p : file->providers)
    for (auto& e : p.cost)
      patches.push_back({"providers." + p.model.name + ".cost_per_image." + e.path, e.value, e.origin, e.line});
  auto base = load_patched_config(config_text, config_path, patches);
  for (auto& e : base.errors)
    result.errors.push_back(e);
  if (base.config) {
    sc.config = base.config;
    for (const auto& p : file->providers)
      if (!base.config->provider(p.model.name))
        c.error(p.path, "not a provider of " + config_path + " (providers: " + known_providers(*base.config) + ")");
    for (std::size_t i = 0; i < sc.incidents.size(); ++i)
      if (c.ok(file->incident_paths[i] + ".provider") && !base.config->provider(sc.incidents[i].provider))
        c.error(file->incident_paths[i] + ".provider", "not a provider of " + config_path + " (providers: " +
                                                           known_providers(*base.config) + ")");
  }
  for (const auto& p : file->providers)
    sc.providers.push_back(p.model);
  for (auto& i : sc.incidents) {
    i.from = resolve(i.from, sc.start);
    i.to = i.from + i.to.time_since_epoch();
  }
  // operator actions in time order; a reload's config carries every patch up to it
  std::stable_sort(file->actions.begin(), file->actions.end(),
                   [&](const auto& a, const auto& b) { return resolve(a.step.at, sc.start) < resolve(b.step.at, sc.start); });
  for (auto& a : file->actions) {
    a.step.at = resolve(a.step.at, sc.start);
    if (a.step.action == "reload") {
      if (a.patch.empty()) {
        c.error(a.path + ".patch", "a reload needs a patch (the config keys it changes)");
        continue;
      }
      for (const auto& e : a.patch) {
        patches.push_back(e);
        a.step.patch_text += (a.step.patch_text.empty() ? "" : ", ") + e.path + ": " + e.value;
      }
      if (!base.config)
        continue;
      auto r = load_patched_config(config_text, config_path, patches);
      for (auto& e : r.errors)
        result.errors.push_back(e);
      a.step.config = r.config;
    } else if (!a.patch.empty()) {
      c.error(a.path + ".patch", "only a reload takes a patch");
    }
    if (a.step.action == "step_down" && c.ok(a.path) && !c.has(a.path + ".percent"))
      c.error(a.path + ".percent", "step_down needs the percent to step down to");
    sc.actions.push_back(a.step);
  }
  if (!file->trace.empty()) {
    auto trace_path = std::filesystem::path(file->trace);
    if (trace_path.is_relative())
      trace_path = std::filesystem::path(scenario_path).parent_path() / trace_path;
    std::string trace_text;
    if (!read_file(trace_path.string(), trace_text, why)) {
      c.error("trace", "cannot read " + trace_path.string() + ": " + why);
    } else {
      detail::context tc(trace_path.string());
      read_trace(tc, trace_text, sc.trace);
      for (auto& e : tc.take_errors())
        result.errors.push_back(e);
    }
  }
  auto errors = c.take_errors();
  errors.insert(errors.end(), result.errors.begin(), result.errors.end());
  result.errors = std::move(errors);
  if (result.errors.empty())
    result.scenario = std::shared_ptr<const scenario>(file, &file->sc);
  return result;
}

std::vector<config_key> scenario_keys() {
  std::vector<config_key> out;
  detail::list_keys(detail::scenario_fields(), "", out);
  return out;
}

} // namespace cutover::config_adapter
