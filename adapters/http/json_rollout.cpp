// JSON of the rollout: its state with what an operator sees now (GET /v1/rollout and the actions' answers), and the
// decision audit (GET /v1/rollout/decisions).

#include "adapters/http/json_fields.hpp"
#include "adapters/http/json_out.hpp"

#include <cstdio>

namespace cutover::http {

using namespace cutover::core;

namespace {

std::string number(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string seconds(duration d) { return number(static_cast<double>(d.count()) / 1e6); }

void item_json(std::string& out, const decision_item& e) {
  out += '{';
  field(out, "kind", e.kind);
  field(out, "name", e.name);
  field(out, "verdict", e.verdict);
  field_raw(out, "window_s", seconds(e.window));
  field_raw(out, "samples", std::to_string(e.samples));
  field_raw(out, "observed", number(e.observed));
  field_raw(out, "baseline", number(e.baseline));
  field_raw(out, "threshold", number(e.threshold));
  field(out, "reason", e.reason);
  out += '}';
}

void items_json(std::string& out, std::string_view name, const std::vector<decision_item>& items) {
  key(out, name);
  out += '[';
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k > 0)
      out += ',';
    item_json(out, items[k]);
  }
  out += ']';
}

void cohort_json(std::string& out, std::string_view name, const cohort_figures& c) {
  key(out, name);
  out += '{';
  field_raw(out, "samples", std::to_string(c.samples));
  field_raw(out, "failures", std::to_string(c.failures));
  field_raw(out, "failure_rate", number(static_cast<double>(c.failure_rate) / ppm_one));
  field_raw(out, "p95_s", seconds(c.p95));
  field_raw(out, "user_wait_p50_s", seconds(c.user_p50));
  field_raw(out, "user_wait_p95_s", seconds(c.user_p95));
  field_raw(out, "user_wait_samples", std::to_string(c.user_wait_samples));
  field_raw(out, "cost_usd", format_usd(c.cost));
  field_raw(out, "cost_per_image_usd", c.images > 0 ? format_usd(c.cost_per_image) : "null");
  field_raw(out, "images", std::to_string(c.images));
  field_raw(out, "quality_mean", c.quality_samples > 0 ? number(c.quality_mean) : "null");
  field_raw(out, "quality_samples", std::to_string(c.quality_samples));
  field_raw(out, "breaker_trips", std::to_string(c.breaker_trips));
  out += '}';
}

void figures_json(std::string& out, const rollout_figures& f) {
  key(out, "phases");
  out += '[';
  for (std::size_t i = 0; i < f.phases.size(); ++i) {
    out += i ? ",{" : "{";
    field_raw(out, "percent", std::to_string(f.phases[i].percent));
    field_raw(out, "min_duration_s", seconds(f.phases[i].min_duration));
    field_raw(out, "min_samples", std::to_string(f.phases[i].min_samples));
    out += '}';
  }
  out += ']';
  key(out, "actions");
  out += '{';
  for (const auto& a : f.actions) {
    key(out, a.action);
    out += '{';
    field_raw(out, "allowed", a.refusal.empty() ? "true" : "false");
    if (!a.refusal.empty())
      field(out, "refusal", a.refusal);
    out += '}';
  }
  out += '}';
  key(out, "step_down_to");
  out += '[';
  for (std::size_t i = 0; i < f.step_down_to.size(); ++i)
    out += (i ? "," : "") + std::to_string(f.step_down_to[i]);
  out += ']';
  items_json(out, "gates", f.gates);
  items_json(out, "triggers", f.triggers);
  field_raw(out, "triggers_at",
            f.triggers_at.time_since_epoch().count() == 0 ? "null" : "\"" + format_rfc3339(f.triggers_at) + "\"");
  key(out, "cohorts");
  out += '{';
  cohort_json(out, "candidate", f.candidate);
  cohort_json(out, "baseline", f.baseline);
  out += '}';
}

} // namespace

std::string rollout_json(const msg::rollout_view_reply& r) {
  std::string out = "{";
  field(out, "name", r.name);
  field_raw(out, "enabled", r.enabled ? "true" : "false");
  field_raw(out, "percent", std::to_string(r.percent));
  field_raw(out, "phase", std::to_string(r.phase));
  field(out, "state", r.state);
  field(out, "since", format_rfc3339(r.since));
  field(out, "config_hash", r.config_hash);
  figures_json(out, r.figures);
  out += '}';
  return out;
}

std::string drill_json(const msg::drill_reply& r) {
  const auto& d = r.record;
  auto ms = [](core::duration v) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(v.count()) / 1000.0);
    return std::string{buf};
  };
  auto status = [](const core::rollout_status& s) {
    std::string out = "{";
    field_raw(out, "phase", std::to_string(s.phase));
    field_raw(out, "percent", std::to_string(s.percent));
    field(out, "state", core::to_string(s.state));
    field(out, "since", format_rfc3339(s.since));
    return out + '}';
  };
  std::string out = "{\"drill\":{";
  field(out, "result", d.passed() ? "passed" : "failed");
  field(out, "started_at", format_rfc3339(d.started_at));
  field(out, "finished_at", format_rfc3339(d.finished_at));
  field_raw(out, "routed_to_baseline_ms", d.routed ? ms(d.routed_after()) : "null");
  field_raw(out, "at_candidate_when_routed", std::to_string(d.at_candidate_when_routed));
  field_raw(out, "candidate_drained_ms", d.drained ? ms(d.drained_after()) : "null");
  field_raw(out, "left_at_candidate", std::to_string(d.left_at_candidate));
  field_raw(out, "max_wait_ms", ms(d.max_wait));
  field_raw(out, "before", status(d.before));
  field_raw(out, "after", status(d.after));
  out += "},\"rollout\":";
  out += rollout_json(r.view);
  return out + '}';
}

std::string decisions_json(const std::vector<core::decision_record>& decisions) {
  std::string out = "{\"decisions\":[";
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const auto& d = decisions[i];
    if (i > 0)
      out += ',';
    out += '{';
    field_raw(out, "id", std::to_string(d.id));
    field(out, "at", format_rfc3339(d.at));
    field_raw(out, "phase", std::to_string(d.phase));
    field_raw(out, "percent", std::to_string(d.percent));
    field(out, "state", d.state);
    field(out, "config_hash", d.config_hash);
    field(out, "action", d.action);
    field(out, "reason", d.reason);
    items_json(out, "evaluations", d.items);
    out += '}';
  }
  out += "]}";
  return out;
}

} // namespace cutover::http
