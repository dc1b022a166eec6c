// Statuses for the engine's error values, and the small parsers the resource files share.

#include "adapters/http/routes.hpp"

#include <algorithm>
#include <cctype>

namespace cutover::http {

namespace {
/// The longest `GET /v1/jobs/{id}?wait=` honoured.
constexpr auto max_wait = std::chrono::seconds(60);
} // namespace

int status_of(msg::submit_error e) {
  switch (e) {
  case msg::submit_error::none: return 202;
  case msg::submit_error::draining: return 503;
  case msg::submit_error::idempotency_key_reused: return 422;
  case msg::submit_error::idempotency_in_progress: return 409;
  case msg::submit_error::rate_limited: return 429;
  case msg::submit_error::store_unavailable: return 503;
  case msg::submit_error::no_provider_admissible: return 503;
  case msg::submit_error::invalid_webhook_url: return 400;
  }
  return 500;
}

std::int64_t retry_after_of(const msg::submit_reply& r) {
  switch (r.error) {
  case msg::submit_error::rate_limited:
  case msg::submit_error::no_provider_admissible: return std::max<std::int64_t>(1, r.retry_after_s);
  case msg::submit_error::draining:
  case msg::submit_error::store_unavailable:
  case msg::submit_error::idempotency_in_progress: return 1;
  case msg::submit_error::none:
  case msg::submit_error::idempotency_key_reused:
  case msg::submit_error::invalid_webhook_url: return 0;
  }
  return 0;
}

int status_of(msg::replay_error e) {
  switch (e) {
  case msg::replay_error::none: return 200;
  case msg::replay_error::not_found: return 404;
  case msg::replay_error::not_dead_lettered: return 409;
  case msg::replay_error::unavailable: return 503;
  }
  return 500;
}

int status_of(msg::cancel_error e) {
  switch (e) {
  case msg::cancel_error::none: return 202;
  case msg::cancel_error::not_found: return 404;
  case msg::cancel_error::final: return 409;
  case msg::cancel_error::unavailable: return 503;
  }
  return 500;
}

int status_of(msg::operator_error e) {
  switch (e) {
  case msg::operator_error::none: return 200;
  case msg::operator_error::not_allowed: return 409;
  case msg::operator_error::unknown_action: return 404;
  case msg::operator_error::bad_request: return 400;
  }
  return 500;
}

bool is_json_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t == "application/json";
}

bool parse_wait(const std::string& text, std::chrono::microseconds& out) {
  std::size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &pos);
  } catch (...) {
    return false;
  }
  auto unit = text.substr(pos);
  if (v < 0)
    return false;
  if (unit.empty() || unit == "s")
    out = std::chrono::seconds(v);
  else if (unit == "ms")
    out = std::chrono::milliseconds(v);
  else
    return false;
  out = std::min<std::chrono::microseconds>(out, max_wait);
  return true;
}

bool days_param(const request& req, const reply& rep, int& days) {
  bool found = false;
  const auto text = req.query_param("days", &found);
  if (!found)
    return true;
  try {
    days = std::stoi(text);
  } catch (...) {
    days = 0;
  }
  if (days >= 1 && days <= 90)
    return true;
  rep.error(400, "invalid_parameter", "days must be between 1 and 90", "days");
  return false;
}

bool json_too_deep(std::string_view body, std::size_t max) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\')
        ++i; // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max)
        return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

bool limit_param(const request& req, const reply& rep, std::size_t& limit) {
  bool found = false;
  const auto text = req.query_param("limit", &found);
  if (!found)
    return true;
  try {
    limit = static_cast<std::size_t>(std::stoul(text));
  } catch (...) {
    limit = 0;
  }
  if (limit >= 1 && limit <= 1000)
    return true;
  rep.error(400, "invalid_parameter", "limit must be between 1 and 1000", "limit");
  return false;
}

} // namespace cutover::http
