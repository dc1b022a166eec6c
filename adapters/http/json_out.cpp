#include "adapters/http/json_out.hpp"
#include "adapters/http/image_access.hpp"
#include "adapters/http/json_fields.hpp"
#include "core/images.hpp"

#include <cstdio>

namespace cutover::http {

using namespace cutover::core;


namespace {

void attempt_json(std::string& out, const attempt_record& a) {
  out += '{';
  field_raw(out, "no", std::to_string(a.no));
  field(out, "provider", a.provider);
  field(out, "started_at", format_rfc3339(a.started_at));
  if (a.finished_at.time_since_epoch().count() != 0)
    field(out, "finished_at", format_rfc3339(a.finished_at));
  field(out, "outcome", to_string(a.outcome));
  if (a.error != error_class::none)
    field(out, "error_class", to_string(a.error));
  if (!a.remote_id.empty())
    field(out, "remote_id", a.remote_id);
  field_raw(out, "cost_usd", format_usd(a.cost));
  out += '}';
}

} // namespace

void append_image_json(std::string& out, const std::string& image) {
  // adapters keep what the provider gave: base64 image data, or a URL
  const bool url = image.rfind("https://", 0) == 0 || image.rfind("http://", 0) == 0 || image.rfind("data:", 0) == 0;
  out += url ? "{\"url\":" : "{\"b64_json\":";
  append_json_string(out, image);
  out += '}';
}

std::string error_json(std::string_view code, std::string_view message, std::string_view field_name) {
  std::string out = "{\"error\":{";
  field(out, "code", code);
  field(out, "message", message);
  if (!field_name.empty())
    field(out, "field", field_name);
  out += "}}";
  return out;
}

std::string accepted_json(job_id id, job_status status) {
  std::string out = "{";
  field(out, "id", to_string(id));
  field(out, "status", to_string(status));
  out += '}';
  return out;
}

std::string job_json(const job_record& job, const image_access* images, bool b64) {
  std::string out;
  out.reserve(512 + job.images.size() * 1200);
  out += '{';
  field(out, "id", to_string(job.id));
  field(out, "status", to_string(job.status));
  field(out, "user_id", job.spec.user_id);
  field(out, "tier", to_string(job.spec.tier_));
  field_raw(out, "n", std::to_string(job.spec.n));
  if (!job.spec.endpoint.empty())
    field(out, "endpoint", job.spec.endpoint);
  if (!job.spec.segment.empty())
    field(out, "segment", job.spec.segment);
  if (!job.spec.metadata.empty())
    field_raw(out, "metadata", job.spec.metadata);
  if (!job.spec.tenant.empty())
    field(out, "tenant", job.spec.tenant);
  field(out, "provider", job.provider);
  // answered by the result cache: no provider was called for it and it cost nothing
  field_raw(out, "cached", job.provider == core::cache_provider ? "true" : "false");
  key(out, "route");
  out += '{';
  field_raw(out, "bucket", std::to_string(job.bucket));
  field(out, "reason", job.route_reason);
  out += '}';
  key(out, "attempts");
  out += '[';
  for (std::size_t i = 0; i < job.attempts.size(); ++i) {
    if (i > 0)
      out += ',';
    attempt_json(out, job.attempts[i]);
  }
  out += ']';
  if (!job.images.empty()) {
    key(out, "result");
    out += "{\"images\":[";
    for (std::size_t i = 0; i < job.images.size(); ++i) {
      if (i > 0)
        out += ',';
      if (images != nullptr)
        images->append_image(out, job.images[i], b64);
      else
        append_image_json(out, job.images[i]);
    }
    out += "]}";
  }
  field_raw(out, "cost_usd", format_usd(job.cost));
  field(out, "created_at", format_rfc3339(job.created_at));
  field(out, "updated_at", format_rfc3339(job.updated_at));
  if (!job.error.empty())
    field(out, "error", job.error);
  out += '}';
  return out;
}

} // namespace cutover::http

namespace cutover::http {

std::string budget_json(const msg::budget_report& report) {
  std::string out = "{";
  field(out, "day", report.today);
  key(out, "rows");
  out += '[';
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const auto& r = report.rows[i];
    if (i > 0)
      out += ',';
    out += '{';
    field(out, "day", r.day);
    field(out, "provider", r.provider.empty() ? "all" : r.provider);
    field_raw(out, "limit_usd", r.limit ? format_usd(*r.limit) : "null");
    if (r.day == report.today)
      for (const auto& [name, line] : report.stop_lines)
        if (name == r.provider)
          field_raw(out, "stop_line_usd", format_usd(line));
    field_raw(out, "consumed_usd", format_usd(r.consumed));
    field_raw(out, "reserved_usd", format_usd(r.reserved));
    field_raw(out, "requests", std::to_string(r.requests));
    field_raw(out, "refused", std::to_string(r.refused));
    out += '}';
  }
  out += "]}";
  return out;
}

std::string daily_stats_json(const std::vector<core::budget_store::daily_stat>& stats) {
  auto ms = [](core::duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
    return std::string{buf};
  };
  std::string out = "{\"days\":[";
  for (std::size_t i = 0; i < stats.size(); ++i) {
    const auto& s = stats[i];
    if (i > 0)
      out += ',';
    out += '{';
    field(out, "day", s.day);
    field(out, "provider", s.provider);
    field_raw(out, "requests", std::to_string(s.requests));
    field_raw(out, "succeeded", std::to_string(s.succeeded));
    field_raw(out, "failed", std::to_string(s.failed));
    field_raw(out, "fell_back", std::to_string(s.fell_back));
    field_raw(out, "in_doubt", std::to_string(s.in_doubt));
    field_raw(out, "avg_latency_ms", ms(s.avg_latency));
    field_raw(out, "p95_latency_ms", ms(s.p95_latency));
    field_raw(out, "cost_usd", format_usd(s.cost));
    out += '}';
  }
  out += "]}";
  return out;
}

} // namespace cutover::http
