#include "app/simulate/sim_report.hpp"

#include "app/simulate/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace cutover::sim {

using namespace cutover::core;

namespace {

std::string fixed(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string usd(micros m) { return fixed(static_cast<double>(m) / 1e6, 6); }

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20)
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}

std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void write_file(const std::string& dir, const std::string& name, const std::string& text) {
  std::ofstream out(std::filesystem::path(dir) / name, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + (std::filesystem::path(dir) / name).string());
}

double days_of(duration d) { return std::chrono::duration<double>(d).count() / 86400.0; }

std::string item_text(const decision_item& i) {
  return i.kind + ":" + i.name + "=" + i.verdict + "(" + fixed(i.observed) + "/" + fixed(i.threshold) + ",n=" +
         std::to_string(i.samples) + ")";
}

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return -1;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - (q > 0 ? 1 : 0);
  return v[std::min(k, v.size() - 1)];
}

void plots(const std::string& dir, const scenario& sc, const run_result& r) {
  const double days = days_of(sc.length + sc.drain);
  // percent over time, each decision that moved it (or an operator's) marked
  svg::line_chart pc{"Candidate share over time", "day", "percent on the candidate", 0, days, 0, 100, {}, {}};
  svg::series s{"percent", svg::colour(0), {}, true};
  s.points.push_back({0, static_cast<double>(sc.config->rollout.percent)});
  for (const auto& h : r.timeline)
    s.points.push_back({static_cast<double>(h.hour + 1) / 24.0, static_cast<double>(h.percent)});
  pc.lines.push_back(s);
  for (const auto& d : r.decisions) {
    if (d.action == "hold")
      continue;
    const bool bad = d.action == "rollback" || d.action == "operator_rollback" || d.action == "step_down";
    pc.marks.push_back({days_of(d.at - sc.start), d.action, bad ? "#d62728" : "#2ca02c"});
  }
  write_file(dir, "percent.svg", svg::render(pc));

  // cost per day per provider
  svg::bar_chart cost{"Cost per day by provider", "USD", {}, r.providers, {}, {}};
  for (std::size_t i = 0; i < r.providers.size(); ++i)
    cost.colours.push_back(svg::colour(i));
  std::map<std::string, std::vector<double>> by_day;
  for (const auto& d : r.daily) {
    auto& row = by_day[d.day];
    row.resize(r.providers.size());
    const auto it = std::find(r.providers.begin(), r.providers.end(), d.provider);
    if (it != r.providers.end())
      row[static_cast<std::size_t>(it - r.providers.begin())] += static_cast<double>(d.cost) / 1e6;
  }
  for (const auto& [day, row] : by_day) {
    cost.categories.push_back(day.substr(5));
    cost.values.push_back(row);
  }
  write_file(dir, "cost.svg", svg::render(cost));

  // user wait p95 per cohort, per hour
  double wmax = 1;
  for (const auto& h : r.timeline)
    wmax = std::max({wmax, h.wait_p95_candidate_s, h.wait_p95_baseline_s});
  svg::line_chart wc{"User wait p95 by cohort (created to final, per hour of arrival)", "day", "seconds", 0, days, 0,
                     std::ceil(wmax * 1.1), {}, {}};
  svg::series c{"candidate", svg::colour(1), {}, false}, b{"baseline", svg::colour(0), {}, false};
  for (const auto& h : r.timeline) {
    const double x = (static_cast<double>(h.hour) + 0.5) / 24.0;
    if (h.wait_p95_candidate_s >= 0)
      c.points.push_back({x, h.wait_p95_candidate_s});
    if (h.wait_p95_baseline_s >= 0)
      b.points.push_back({x, h.wait_p95_baseline_s});
  }
  wc.lines = {b, c};
  write_file(dir, "wait_p95.svg", svg::render(wc));

  // budget use per day: consumed / limit for each limit in force
  std::map<std::string, svg::series> lines;
  std::vector<std::string> days_seen;
  for (const auto& row : r.budget)
    if (std::find(days_seen.begin(), days_seen.end(), row.day) == days_seen.end())
      days_seen.push_back(row.day);
  std::sort(days_seen.begin(), days_seen.end());
  double umax = 100;
  for (const auto& row : r.budget) {
    if (!row.limit || *row.limit <= 0)
      continue;
    const auto name = row.provider.empty() ? std::string{"global"} : row.provider;
    auto& l = lines[name];
    l.name = name;
    const auto x = static_cast<double>(std::find(days_seen.begin(), days_seen.end(), row.day) - days_seen.begin());
    const double use = 100.0 * static_cast<double>(row.consumed) / static_cast<double>(*row.limit);
    umax = std::max(umax, use);
    l.points.push_back({x + 0.5, use});
  }
  svg::line_chart bc{"Budget use per day (consumed / daily limit)", "day", "percent of the limit", 0,
                     std::max(1.0, static_cast<double>(days_seen.size())), 0, std::ceil(umax / 10) * 10, {}, {}};
  std::size_t k = 0;
  for (auto& [name, l] : lines) {
    l.colour = svg::colour(k++);
    std::sort(l.points.begin(), l.points.end());
    bc.lines.push_back(l);
  }
  bc.marks.push_back({0, "stop_at " + fixed(sc.config->budget.stop_at / 10'000.0, 0) + "%", "#888"});
  write_file(dir, "budget.svg", svg::render(bc));
}

} // namespace

run_row row_of(const run_result& r, std::size_t combo, const std::vector<std::string>& batch_providers) {
  run_row row;
  row.seed = r.seed;
  row.combo = combo;
  row.outcome = r.result.kind;
  row.detail = r.result.detail;
  row.final_percent = r.final_percent;
  if (r.reached_100_at)
    row.hours_to_100 = std::chrono::duration<double>(*r.reached_100_at - r.start).count() / 3600.0;
  row.rollbacks = r.rollbacks;
  row.jobs = r.submitted;
  row.images = r.images;
  row.cost = r.cost;
  row.wait_p50_s = r.wait_p50_s;
  row.wait_p95_s = r.wait_p95_s;
  for (const auto& [name, n] : r.submits) {
    row.calls += n + r.polls.at(name);
    if (std::find(batch_providers.begin(), batch_providers.end(), name) != batch_providers.end()) {
      row.batches += n;
      row.batch_items += r.items.at(name);
    }
  }
  row.wall_s = r.wall_seconds;
  if (r.incident_at && r.rollback_at)
    row.drill_decision_s = std::chrono::duration<double>(*r.rollback_at - *r.incident_at).count();
  if (r.incident_at && r.candidate_drained_at)
    row.drill_drained_s = std::chrono::duration<double>(*r.candidate_drained_at - *r.incident_at).count();
  return row;
}

std::string encode(const run_row& r) {
  std::ostringstream o;
  o << r.seed << '\t' << r.combo << '\t' << r.outcome << '\t' << (r.detail.empty() ? "-" : r.detail) << '\t'
    << r.final_percent << '\t' << fixed(r.hours_to_100, 6) << '\t' << r.rollbacks << '\t' << r.jobs << '\t'
    << r.images << '\t' << r.cost << '\t' << fixed(r.wait_p50_s, 6) << '\t' << fixed(r.wait_p95_s, 6) << '\t'
    << r.batches << '\t' << r.batch_items << '\t' << r.calls << '\t' << fixed(r.wall_s, 6) << '\t'
    << fixed(r.drill_decision_s, 6) << '\t' << fixed(r.drill_drained_s, 6);
  return o.str();
}

bool decode(const std::string& line, run_row& r) {
  std::istringstream in(line);
  std::vector<std::string> f;
  std::string cell;
  while (std::getline(in, cell, '\t'))
    f.push_back(cell);
  if (f.size() != 18)
    return false;
  r.seed = std::stoull(f[0]);
  r.combo = std::stoul(f[1]);
  r.outcome = f[2];
  r.detail = f[3] == "-" ? "" : f[3];
  r.final_percent = std::stoi(f[4]);
  r.hours_to_100 = std::stod(f[5]);
  r.rollbacks = std::stoi(f[6]);
  r.jobs = std::stoll(f[7]);
  r.images = std::stoll(f[8]);
  r.cost = std::stoll(f[9]);
  r.wait_p50_s = std::stod(f[10]);
  r.wait_p95_s = std::stod(f[11]);
  r.batches = std::stoll(f[12]);
  r.batch_items = std::stoll(f[13]);
  r.calls = std::stoll(f[14]);
  r.wall_s = std::stod(f[15]);
  r.drill_decision_s = std::stod(f[16]);
  r.drill_drained_s = std::stod(f[17]);
  return true;
}

void write_run(const std::string& dir, const scenario& sc, const run_result& r, const std::string& extra_json) {
  std::filesystem::create_directories(dir);
  const auto& cfg = *sc.config;
  // summary.json
  std::string j = "{\n";
  auto member = [&j](const std::string& k, const std::string& v) { j += "  " + json_string(k) + ": " + v + ",\n"; };
  member("seed", std::to_string(r.seed));
  member("scenario", json_string(std::filesystem::path(sc.file).filename().string()));
  member("config_hash", json_string(cfg.hash));
  member("tick_s", fixed(std::chrono::duration<double>(cfg.rollout.tick).count()));
  member("start", json_string(format_rfc3339(sc.start)));
  member("end", json_string(format_rfc3339(sc.end())));
  member("days", fixed(days_of(sc.length), 3));
  member("jobs", std::to_string(r.submitted));
  member("jobs_accepted", std::to_string(r.accepted));
  member("jobs_refused", std::to_string(r.refused));
  member("jobs_succeeded", std::to_string(r.succeeded));
  member("jobs_failed", std::to_string(r.failed));
  member("jobs_open_at_end", std::to_string(r.open));
  member("images", std::to_string(r.images));
  member("final_percent", std::to_string(r.final_percent));
  member("final_state", json_string(r.final_state));
  member("reached_100_at", r.reached_100_at ? json_string(format_rfc3339(*r.reached_100_at)) : "null");
  member("rollbacks", std::to_string(r.rollbacks));
  member("outcome", "{\"kind\": " + json_string(r.result.kind) + ", \"detail\": " + json_string(r.result.detail) + "}");
  std::string costs;
  for (const auto& [p, c] : r.cost_by_provider)
    costs += (costs.empty() ? "" : ", ") + json_string(p) + ": " + usd(c);
  member("cost_usd_by_provider", "{" + costs + "}");
  member("cost_usd", usd(r.cost));
  member("cost_per_image_usd", r.images > 0 ? fixed(static_cast<double>(r.cost) / 1e6 / static_cast<double>(r.images), 6)
                                            : "null");
  member("user_wait_p50_s", fixed(r.wait_p50_s));
  member("user_wait_p95_s", fixed(r.wait_p95_s));
  std::string calls;
  for (const auto& [p, n] : r.submits)
    calls += (calls.empty() ? "" : ", ") + json_string(p) + ": {\"submits\": " + std::to_string(n) +
             ", \"items\": " + std::to_string(r.items.at(p)) + ", \"polls\": " + std::to_string(r.polls.at(p)) + "}";
  member("provider_calls", "{" + calls + "}");
  std::string ops;
  for (const auto& o : r.operator_actions)
    ops += std::string(ops.empty() ? "" : ", ") + "{\"at\": " + json_string(format_rfc3339(o.at)) +
           ", \"action\": " + json_string(o.action) + ", \"result\": " + json_string(o.result) +
           ", \"message\": " + json_string(o.message) + "}";
  member("operator_actions", "[" + ops + "]");
  if (r.incident_at) {
    std::string d = "{\"incident_at\": " + json_string(format_rfc3339(*r.incident_at));
 d += ", \"first_candidate_failure_at\": " +
         (r.first_failure_at ? json_string(format_rfc3339(*r.first_failure_at)) : "null");
    d += ", \"rollback_at\": " + (r.rollback_at ? json_string(format_rfc3339(*r.rollback_at)) : "null");
    d += ", \"onset_to_rollback_s\": " +
         (r.rollback_at ? fixed(std::chrono::duration<double>(*r.rollback_at - *r.incident_at).count()) : "null");
    d += ", \"last_candidate_job_finished_at\": " +
         (r.candidate_drained_at ? json_string(format_rfc3339(*r.candidate_drained_at)) : "null");
    d += ", \"onset_to_last_candidate_job_s\": " +
         (r.candidate_drained_at ? fixed(std::chrono::duration<double>(*r.candidate_drained_at - *r.incident_at).count())
                                 : "null");
    d += ", \"candidate_jobs_unfinished\": " + std::to_string(r.candidate_unfinished) + "}";
    member("drill", d);
  }
  j += extra_json;
  j.erase(j.size() - 2); // the last ",\n"
  j += "\n}\n";
  write_file(dir, "summary.json", j);

  // decisions.csv
  std::string dc = "at,action,phase,percent,state,config_hash,reason,items\n";
  for (const auto& d : r.decisions) {
    std::string items;
    for (const auto& i : d.items)
      items += (items.empty() ? "" : "; ") + item_text(i);
    dc += format_rfc3339(d.at) + "," + d.action + "," + std::to_string(d.phase) + "," + std::to_string(d.percent) +
          "," + d.state + "," + d.config_hash + "," + csv(d.reason) + "," + csv(items) + "\n";
  }
  write_file(dir, "decisions.csv", dc);

  // daily.csv
  std::string dl = "day,provider,requests,succeeded,failed,fell_back,avg_latency_s,p95_latency_s,cost_usd\n";
  for (const auto& d : r.daily)
    dl += d.day + "," + d.provider + "," + std::to_string(d.requests) + "," + std::to_string(d.succeeded) + "," +
          std::to_string(d.failed) + "," + std::to_string(d.fell_back) + "," +
          fixed(static_cast<double>(d.avg_latency.count()) / 1e6) + "," +
          fixed(static_cast<double>(d.p95_latency.count()) / 1e6) + "," + usd(d.cost) + "\n";
  write_file(dir, "daily.csv", dl);

  // timeline.csv
  std::string tl = "hour,time,percent,state";
  for (const auto& p : r.providers)
    tl += ",jobs_" + p;
  tl += ",wait_p95_candidate_s,wait_p95_baseline_s,failure_rate,spend_usd\n";
  for (const auto& h : r.timeline) {
    tl += std::to_string(h.hour) + "," + format_rfc3339(sc.start + std::chrono::hours(h.hour)) + "," +
          std::to_string(h.percent) + "," + h.state;
    for (auto n : h.attempts)
      tl += "," + std::to_string(n);
    auto opt = [](double v) { return v < 0 ? std::string{} : fixed(v); };
    tl += "," + opt(h.wait_p95_candidate_s) + "," + opt(h.wait_p95_baseline_s) + "," +
          (h.finished > 0 ? fixed(static_cast<double>(h.failed) / static_cast<double>(h.finished), 4) : "") + "," +
          usd(h.spend) + "\n";
  }
  write_file(dir, "timeline.csv", tl);
  plots(dir, sc, r);

  // report.md
  std::string md = "# Simulated rollout: " + std::filesystem::path(sc.file).filename().string() + "\n\n";
  md += "Seed " + std::to_string(r.seed) + ", " + fixed(days_of(sc.length), 1) + " days from " +
        format_rfc3339(sc.start) + ", config " + cfg.hash + " (rollout " + cfg.rollout.name + ": " + r.baseline +
        " -> " + r.candidate + ").\n\n";
  md += "- Jobs: " + std::to_string(r.submitted) + " submitted, " + std::to_string(r.succeeded) + " succeeded, " +
        std::to_string(r.failed) + " failed, " + std::to_string(r.open) + " still open at the end.\n";
  md += "- Outcome: **" + r.result.kind + "**" + (r.result.detail.empty() ? "" : " (" + r.result.detail + ")") +
        "; final share " + std::to_string(r.final_percent) + "% (" + r.final_state + ")" +
        (r.reached_100_at ? ", 100% at " + format_rfc3339(*r.reached_100_at) : "") + "; " +
        std::to_string(r.rollbacks) + " rollback(s).\n";
  md += "- Cost: " + usd(r.cost) + " USD";
  for (const auto& [p, c] : r.cost_by_provider)
    md += ", " + p + " " + usd(c);
  md += ". User wait p50 " + fixed(r.wait_p50_s, 1) + " s, p95 " + fixed(r.wait_p95_s, 1) + " s.\n";
  if (r.incident_at)
    md += "- Drill: incident at " + format_rfc3339(*r.incident_at) + "; rollback decision " +
          (r.rollback_at ? "after " + fixed(std::chrono::duration<double>(*r.rollback_at - *r.incident_at).count(), 0) +
                             " s"
                         : std::string{"never"}) +
          (r.candidate_drained_at
             ? "; last candidate job finished after " +
                 fixed(std::chrono::duration<double>(*r.candidate_drained_at - *r.incident_at).count(), 0) + " s"
             : std::string{}) +
          ".\n";
  md += "\n## Share on the candidate\n\n![percent](percent.svg)\n\nEach decision that moved the rollout is marked; "
        "the rows with their gate and trigger figures are in `decisions.csv`.\n";
  md += "\n## Cost per day\n\n![cost](cost.svg)\n\nPer day and provider in `daily.csv` (requests, succeeded, failed, "
        "fell back, p95, cost).\n";
  md += "\n## User wait p95 by cohort\n\n![wait](wait_p95.svg)\n\nPer hour in `timeline.csv`, with the jobs per "
        "provider, failure rate and spend.\n";
  md += "\n## Budget use\n\n![budget](budget.svg)\n";
  md += "\n## Decisions\n\n| at | action | percent | state | reason |\n|---|---|---|---|---|\n";
  std::size_t shown = 0;
  for (const auto& d : r.decisions) {
    if (d.action == "hold")
      continue;
    if (++shown > 30)
      break;
    std::string reason = d.reason;
    std::replace(reason.begin(), reason.end(), '|', '/');
    md += "| " + format_rfc3339(d.at) + " | " + d.action + " | " + std::to_string(d.percent) + " | " + d.state +
          " | " + reason + " |\n";
  }
  write_file(dir, "report.md", md);
}

std::string write_runs(const std::string& dir, const std::vector<run_row>& rows) {
  std::filesystem::create_directories(dir);
  std::string out = "seed,outcome,detail,final_percent,hours_to_100,rollbacks,jobs,images,cost_usd,wait_p50_s,"
                    "wait_p95_s,onset_to_rollback_s,onset_to_drained_s\n";
  std::map<std::string, int> outcomes;
  std::map<std::string, std::map<std::string, int>> details;
  std::vector<double> hours, costs;
  for (const auto& r : rows) {
    out += std::to_string(r.seed) + "," + r.outcome + "," + csv(r.detail) + "," + std::to_string(r.final_percent) +
           "," + (r.hours_to_100 >= 0 ? fixed(r.hours_to_100, 3) : "") + "," + std::to_string(r.rollbacks) + "," +
           std::to_string(r.jobs) + "," + std::to_string(r.images) + "," + usd(r.cost) + "," + fixed(r.wait_p50_s) +
           "," + fixed(r.wait_p95_s) + "," + (r.drill_decision_s >= 0 ? fixed(r.drill_decision_s) : "") + "," +
           (r.drill_drained_s >= 0 ? fixed(r.drill_drained_s) : "") + "\n";
    outcomes[r.outcome] += 1;
    if (!r.detail.empty())
      details[r.outcome][r.detail] += 1;
    if (r.hours_to_100 >= 0)
      hours.push_back(r.hours_to_100);
    costs.push_back(static_cast<double>(r.cost) / 1e6);
  }
  write_file(dir, "runs.csv", out);
  std::string j = "  \"runs\": " + std::to_string(rows.size()) + ",\n  \"outcomes\": {";
  bool first = true;
  for (const char* kind : {"reached_100", "rolled_back", "held", "not_due"}) {
    j += std::string(first ? "" : ", ") + json_string(kind) + ": {\"count\": " + std::to_string(outcomes[kind]);
    first = false;
    std::string by;
    for (const auto& [d, n] : details[kind])
      by += (by.empty() ? "" : ", ") + json_string(d) + ": " + std::to_string(n);
    j += std::string(", \"") + (std::string(kind) == "rolled_back" ? "by_trigger" : "by_gate") + "\": {" + by + "}}";
  }
  j += "},\n";
  auto qs = [&](const std::vector<double>& v, int decimals) {
    if (v.empty())
      return std::string{"null"};
    return "{\"p10\": " + fixed(quantile(v, 0.1), decimals) + ", \"p50\": " + fixed(quantile(v, 0.5), decimals) +
           ", \"p90\": " + fixed(quantile(v, 0.9), decimals) + ", \"min\": " + fixed(quantile(v, 0), decimals) +
           ", \"max\": " + fixed(quantile(v, 1), decimals) + "}";
  };
  j += "  \"hours_to_100\": " + qs(hours, 3) + ",\n";
  j += "  \"cost_usd_quantiles\": " + qs(costs, 6) + ",\n";
  return j;
}

void write_sweep(const std::string& dir, const std::vector<sweep_key>& keys, const std::vector<run_row>& rows) {
  std::filesystem::create_directories(dir);
  // combination index -> values, the last key fastest
  auto values_of = [&](std::size_t combo) {
    std::vector<std::string> v(keys.size());
    for (std::size_t k = keys.size(); k-- > 0;) {
      v[k] = keys[k].values[combo % keys[k].values.size()];
      combo /= keys[k].values.size();
    }
    return v;
  };
  std::string out;
  for (const auto& k : keys)
    out += csv(k.key) + ",";
  out += "seed,wait_p50_s,wait_p95_s,cost_per_image_usd,batches,avg_batch_items,provider_calls,outcome,detail,"
         "final_percent,files\n";
  svg::line_chart c{"Trade-off: user wait against cost per image", "user wait p95 (s)", "USD per image", 0, 1, 0, 1,
                    {}, {}};
  svg::series pts{"combinations", svg::colour(0), {}, false};
  double xmax = 1, ymax = 0.01;
  for (const auto& r : rows) {
    const auto v = values_of(r.combo);
    for (const auto& x : v)
      out += csv(x) + ",";
    const double cpi = r.images > 0 ? static_cast<double>(r.cost) / 1e6 / static_cast<double>(r.images) : 0;
    out += std::to_string(r.seed) + "," + fixed(r.wait_p50_s) + "," + fixed(r.wait_p95_s) + "," + fixed(cpi, 6) + "," +
           std::to_string(r.batches) + "," +
           (r.batches > 0 ? fixed(static_cast<double>(r.batch_items) / static_cast<double>(r.batches), 2) : "") + "," +
           std::to_string(r.calls) + "," + r.outcome + "," + csv(r.detail) + "," + std::to_string(r.final_percent) +
           ",sweep-" + std::to_string(r.combo + 1) + "\n"; // the folder with that combination's first run
    pts.points.push_back({r.wait_p95_s, cpi});
    std::string label;
    for (std::size_t k = 0; k < keys.size(); ++k)
      label += (k ? " " : "") + v[k];
    c.marks.push_back({r.wait_p95_s, label, "#888"});
    xmax = std::max(xmax, r.wait_p95_s);
    ymax = std::max(ymax, cpi);
  }
  std::sort(pts.points.begin(), pts.points.end());
  c.x_max = std::ceil(xmax * 1.1);
  c.y_max = ymax * 1.2;
  c.lines.push_back(pts);
  write_file(dir, "sweep.csv", out);
  write_file(dir, "sweep.svg", svg::render(c));
}

} // namespace cutover::sim
