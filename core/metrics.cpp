#include "core/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

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

std::string seconds(duration d) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", std::chrono::duration<double>(d).count());
  return buf;
}

/// `{a="b"}` + le -> `{a="b",le="0.5"}`.
std::string with_le(const std::string& rendered, const std::string& le) {
  if (rendered.empty())
    return "{le=\"" + le + "\"}";
  return rendered.substr(0, rendered.size() - 1) + ",le=\"" + le + "\"}";
}

const char* type_name(metric_type t) {
  switch (t) {
  case metric_type::counter: return "counter";
  case metric_type::histogram: return "histogram";
  case metric_type::summary: return "summary";
  case metric_type::gauge: break;
  }
  return "gauge";
}

} // namespace

histogram::histogram(std::vector<duration> bounds)
  : bounds_(std::move(bounds)), counts_(new std::atomic<std::int64_t>[bounds_.size() + 1]) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) || bounds_.front() <= duration{0} ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::invalid_argument("histogram bounds must be positive and strictly ascending");
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(duration d) {
  // le semantics: a value equal to a bound counts in that bound's bucket
  const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), d) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(std::max<std::int64_t>(d.count(), 0), std::memory_order_relaxed);
}

histogram::reading histogram::read() const {
  reading r;
  std::int64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    r.cumulative.push_back(total);
  }
  r.count = total;
  r.sum = duration{sum_us_.load(std::memory_order_relaxed)};
  return r;
}

const std::vector<duration>& wait_buckets() {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  static const std::vector<duration> b{milliseconds(100), milliseconds(250), milliseconds(500), seconds(1),
                                       milliseconds(2500), seconds(5),        seconds(10),       seconds(20),
                                       seconds(30),        seconds(60),       seconds(120),      seconds(300),
                                       seconds(600),       seconds(1800)};
  return b;
}

metrics_registry::family& metrics_registry::family_of(const std::string& name, metric_type type,
                                                      const std::string& help) {
  auto [it, fresh] = families_.try_emplace(name);
  if (fresh) {
    it->second.type = type;
    it->second.help = help.empty() ? name : help;
  }
  return it->second;
}

void metrics_registry::declare(const std::string& name, metric_type type, const std::string& help,
                               std::int64_t scale) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& f = family_of(name, type, help);
  if (scale != 1)
    f.scale = scale;
}

counter& metrics_registry::get_counter(const std::string& name, const labels& l, const std::string& help) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& slot = family_of(name, metric_type::counter, help).counters[render_labels(l)];
  if (!slot)
    slot = std::make_unique<counter>();
  return *slot;
}

gauge& metrics_registry::get_gauge(const std::string& name, const labels& l, const std::string& help) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& slot = family_of(name, metric_type::gauge, help).gauges[render_labels(l)];
  if (!slot)
    slot = std::make_unique<gauge>();
  return *slot;
}

gauge& metrics_registry::get_scaled_gauge(const std::string& name, const labels& l, const std::string& help,
                                          std::int64_t scale) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& f = family_of(name, metric_type::gauge, help);
  f.scale = scale;
  auto& slot = f.gauges[render_labels(l)];
  if (!slot)
    slot = std::make_unique<gauge>();
  return *slot;
}

histogram& metrics_registry::get_histogram(const std::string& name, const labels& l, const std::string& help,
                                           const std::vector<duration>& bounds) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& slot = family_of(name, metric_type::histogram, help).histograms[render_labels(l)];
  if (!slot)
    slot = std::make_unique<histogram>(bounds);
  return *slot;
}

std::vector<std::string> metrics_registry::family_names() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<std::string> out;
  for (const auto& [name, f] : families_)
    out.push_back(name);
  return out;
}

std::string metrics_registry::render() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::string out;
  out.reserve(families_.size() * 160);
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + type_name(f.type) + "\n";
    for (const auto& [l, c] : f.counters)
      out += name + l + " " + std::to_string(c->value()) + "\n";
    for (const auto& [l, g] : f.gauges)
      out += name + l + " " + format_value(g->value(), f.scale) + "\n";
    for (const auto& [l, h] : f.histograms) {
      const auto r = h->read();
      for (std::size_t i = 0; i < h->bounds().size(); ++i)
        out += name + "_bucket" + with_le(l, seconds(h->bounds()[i])) + " " + std::to_string(r.cumulative[i]) + "\n";
      out += name + "_bucket" + with_le(l, "+Inf") + " " + std::to_string(r.count) + "\n";
      out += name + "_sum" + l + " " + format_value(r.sum.count(), 1'000'000) + "\n";
      out += name + "_count" + l + " " + std::to_string(r.count) + "\n";
    }
  }
  return out;
}

user_wait_gauges user_wait_metrics(metrics_registry& m, const std::string& cohort) {
  static const std::string help = "User wait (job created -> final) of the succeeded jobs routed to the cohort, "
                                  "since the rollout phase began.";
  m.declare("cutover_user_wait_seconds", metric_type::summary, help, 1'000'000);
  auto q = [&](const char* quantile) {
    return &m.get_scaled_gauge("cutover_user_wait_seconds", {{"cohort", cohort}, {"quantile", quantile}}, help,
                               1'000'000); // kept in microseconds, shown in seconds
  };
  return user_wait_gauges{q("0.5"), q("0.95"), q("0.99"),
                          &m.get_gauge("cutover_user_wait_jobs", {{"cohort", cohort}},
                                       "Succeeded jobs behind cutover_user_wait_seconds.")};
}

} // namespace cutover::core
