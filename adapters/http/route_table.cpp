#include "adapters/http/route_table.hpp"

#include <stdexcept>

namespace cutover::http {

namespace {

/// Matches `path` against `pattern` segment by segment; fills `params` on success.
bool matches(std::string_view pattern, std::string_view path, std::vector<std::string>& params) {
  params.clear();
  std::size_t pi = 0, si = 0;
  while (pi < pattern.size() && si < path.size()) {
    const auto pend = std::min(pattern.find('/', pi + 1), pattern.size());
    const auto send = std::min(path.find('/', si + 1), path.size());
    const auto pseg = pattern.substr(pi, pend - pi); // with its leading '/'
    const auto sseg = path.substr(si, send - si);
    if (pseg.size() > 2 && pseg[1] == '{') {
      if (sseg.size() < 2)
        return false; // an empty segment is no id
      params.emplace_back(sseg.substr(1));
    } else if (pseg != sseg) {
      return false;
    }
    pi = pend;
    si = send;
  }
  return pi == pattern.size() && si == path.size();
}

} // namespace

std::string_view to_string(scope s) {
  switch (s) {
  case scope::none: return "none";
  case scope::submit: return "submit";
  case scope::read: return "read";
  case scope::admin: return "admin";
  case scope::metrics: return "read (none with auth.metrics_open)";
  }
  return "?";
}

void route_table::add(route r) {
  if (r.pattern.empty() || r.pattern[0] != '/' || !r.handler)
    throw std::logic_error("route " + r.method + " " + r.pattern + ": a pattern starts with '/' and has a handler");
  for (const auto& other : routes_)
    if (other.method == r.method && other.pattern == r.pattern)
      throw std::logic_error("route " + r.method + " " + r.pattern + " is declared twice");
  routes_.push_back(std::move(r));
}

route_table::match route_table::find(std::string_view method, std::string_view path) const {
  if (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  match m;
  std::vector<std::string> params;
  for (const auto& r : routes_) {
    if (!matches(r.pattern, path, params))
      continue;
    if (r.method == method && m.found == nullptr) {
      m.found = &r;
      m.params = params;
    }
    if (m.allow.find(r.method) == std::string::npos)
      m.allow += (m.allow.empty() ? "" : ", ") + r.method;
  }
  return m;
}

} // namespace cutover::http
