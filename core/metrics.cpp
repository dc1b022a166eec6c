#include "core/metrics.hpp"

#include <cstdio>

namespace cutover::core {

namespace {

std::string render_labels(const labels& l) {
  if (l.empty())
    return {};
  std::string out = "{";
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (i > 0)
      out += ',';
    out += l[i].first + "=\"";
    for (char c : l[i].second) {
      if (c == '\\' || c == '"')
        out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string format_value(std::int64_t v, std::int64_t scale) {
  if (scale == 1)
    return std::to_string(v);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(v) / static_cast<double>(scale));
  return buf;
}

} // namespace

counter& metrics_registry::get_counter(const std::string& name, const labels& l, const std::string& help) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& f = families_[name];
  if (f.help.empty())
    f.help = help;
  f.is_counter = true;
  auto& slot = f.counters[render_labels(l)];
  if (!slot)
    slot = std::make_unique<counter>();
  return *slot;
}

gauge& metrics_registry::get_gauge(const std::string& name, const labels& l, const std::string& help) {
  return get_scaled_gauge(name, l, help, 1);
}

gauge& metrics_registry::get_scaled_gauge(const std::string& name, const labels& l, const std::string& help,
                                          std::int64_t scale) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& f = families_[name];
  if (f.help.empty())
    f.help = help;
  f.scale = scale;
  auto& slot = f.gauges[render_labels(l)];
  if (!slot)
    slot = std::make_unique<gauge>();
  return *slot;
}

std::string metrics_registry::render() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + (f.is_counter ? " counter\n" : " gauge\n");
    for (const auto& [l, c] : f.counters)
      out += name + l + " " + std::to_string(c->value()) + "\n";
    for (const auto& [l, g] : f.gauges)
      out += name + l + " " + format_value(g->value(), f.scale) + "\n";
  }
  return out;
}

user_wait_gauges user_wait_metrics(metrics_registry& m, const std::string& cohort) {
  static const std::string help = "User wait (job created -> final) of the succeeded jobs routed to the cohort, "
                                  "since the rollout phase began.";
  auto q = [&](const char* quantile) {
    return &m.get_scaled_gauge("cutover_user_wait_seconds", {{"cohort", cohort}, {"quantile", quantile}}, help,
                               1'000'000); // kept in microseconds, shown in seconds
  };
  return user_wait_gauges{q("0.5"), q("0.95"), q("0.99"),
                          &m.get_gauge("cutover_user_wait_jobs", {{"cohort", cohort}},
                                       "Succeeded jobs behind cutover_user_wait_seconds.")};
}

} // namespace cutover::core
