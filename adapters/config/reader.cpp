#include "adapters/config/reader.hpp"

#include "adapters/config/values.hpp"

#include <algorithm>
#include <climits>

namespace cutover::config_adapter::detail {

void context::error(int line, const std::string& path, std::string message) {
  errors_.push_back({file_, line, path, std::move(message)});
  failed_.insert(path);
}

void context::error(const std::string& path, std::string message) { error(line_of(path), path, std::move(message)); }

bool context::ok(const std::string& path) const {
  for (auto it = failed_.lower_bound(path); it != failed_.end(); ++it) {
    if (it->compare(0, path.size(), path) != 0)
      break;
    if (it->size() == path.size() || (*it)[path.size()] == '.' || (*it)[path.size()] == '[')
      return false;
  }
  return true;
}

int context::line_of(std::string path) const {
  for (;;) {
    if (auto it = lines_.find(path); it != lines_.end())
      return it->second;
    if (path.empty())
      return 0;
    auto cut = path.find_last_of(".[");
    path = cut == std::string::npos ? std::string{} : path.substr(0, cut);
  }
}

std::vector<config_error> context::take_errors() {
  auto key = [](const config_error& e) { return e.line > 0 ? e.line : INT_MAX; };
  std::stable_sort(errors_.begin(), errors_.end(),
                   [&](const config_error& a, const config_error& b) { return key(a) < key(b); });
  return std::move(errors_);
}

int line_of(const YAML::Node& n) {
  if (!n.IsDefined())
    return 0;
  return n.Mark().line + 1; // yaml-cpp counts from 0; a null mark is -1, so unknown becomes 0
}

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
std::string item(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

namespace {

std::string describe(const YAML::Node& n) {
  if (n.IsMap())
    return "a mapping";
  if (n.IsSequence())
    return "a list";
  if (n.IsScalar())
    return "\"" + n.Scalar() + "\"";
  return "nothing";
}

/// The node's own line when it has one, else the line of its key.
int where(const context& c, const YAML::Node& n, const std::string& path) {
  int line = line_of(n);
  return line > 0 ? line : c.line_of(path);
}

template <class V>
std::optional<V> report(context& c, const YAML::Node& n, const std::string& path, const std::string& why) {
  c.error(where(c, n, path), path, why);
  return std::nullopt;
}

} // namespace

bool for_each_entry(context& c, const YAML::Node& n, const std::string& path, const entry_fn& f) {
  if (n.IsNull())
    return true;
  if (!n.IsMap()) {
    c.error(where(c, n, path), path, "must be a mapping (key: value), got " + describe(n));
    return false;
  }
  std::map<std::string, int> first_line;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first;
    int line = line_of(key);
    if (!key.IsScalar()) {
      c.error(line, path, "keys must be plain names, got " + describe(key));
      continue;
    }
    std::string p = join(path, key.Scalar());
    if (auto [pos, fresh] = first_line.emplace(key.Scalar(), line); !fresh) {
      c.error(line, p, "duplicate key (first written at line " + std::to_string(pos->second) + ")");
      continue;
    }
    c.seen(p, line);
    f(key.Scalar(), it->second, p);
  }
  return true;
}

bool for_each_item(context& c, const YAML::Node& n, const std::string& path, const item_fn& f) {
  if (n.IsNull())
    return true;
  if (!n.IsSequence()) {
    c.error(where(c, n, path), path, "must be a list, got " + describe(n));
    return false;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    std::string p = item(path, i);
    c.seen(p, where(c, n[i], path));
    f(i, n[i], p);
  }
  return true;
}

void unknown_key(context& c, const std::string& path, const std::string& key, const std::vector<std::string>& known) {
  if (std::string near = nearest(key, known); !near.empty()) {
    c.error(path, "unknown key, did you mean \"" + near + "\"?");
    return;
  }
  std::string list;
  for (const auto& k : known)
    list += (list.empty() ? "" : ", ") + k;
  c.error(path, "unknown key (known keys here: " + list + ")");
}

std::optional<std::string> read_scalar(context& c, const YAML::Node& n, const std::string& path) {
  if (n.IsNull())
    return report<std::string>(c, n, path, "has no value");
  if (!n.IsScalar())
    return report<std::string>(c, n, path, "must be a single value, got " + describe(n));
  return n.Scalar();
}

std::optional<std::int64_t> read_integer(context& c, const YAML::Node& n, const std::string& path,
                                         std::int64_t lo, std::int64_t hi) {
  auto s = read_scalar(c, n, path);
  std::int64_t v = 0;
  std::string why;
  if (!s)
    return std::nullopt;
  if (!parse_integer(*s, v, why))
    return report<std::int64_t>(c, n, path, why);
  if (v < lo || v > hi)
    return report<std::int64_t>(c, n, path, "must be between " + std::to_string(lo) + " and " +
                                                std::to_string(hi) + ", got " + std::to_string(v));
  return v;
}

std::optional<core::duration> read_duration(context& c, const YAML::Node& n, const std::string& path,
                                            core::duration lo, core::duration hi) {
  auto s = read_scalar(c, n, path);
  core::duration v{};
  std::string why;
  if (!s)
    return std::nullopt;
  if (!parse_duration(*s, v, why))
    return report<core::duration>(c, n, path, why);
  if (v < lo || v > hi)
    return report<core::duration>(c, n, path, "must be between " + format_duration(lo) + " and " +
                                                  format_duration(hi) + ", got " + *s);
  return v;
}

std::optional<core::ppm> read_percent(context& c, const YAML::Node& n, const std::string& path) {
  auto s = read_scalar(c, n, path);
  core::ppm v = 0;
  std::string why;
  if (!s)
    return std::nullopt;
  if (!parse_percent(*s, v, why))
    return report<core::ppm>(c, n, path, why);
  return v;
}

std::optional<core::micros> read_money(context& c, const YAML::Node& n, const std::string& path) {
  auto s = read_scalar(c, n, path);
  core::micros v = 0;
  std::string why;
  if (!s)
    return std::nullopt;
  if (!parse_money(*s, v, why))
    return report<core::micros>(c, n, path, why);
  return v;
}

std::optional<double> read_number(context& c, const YAML::Node& n, const std::string& path, double lo, double hi) {
  auto s = read_scalar(c, n, path);
  double v = 0;
  std::string why;
  if (!s)
    return std::nullopt;
  if (!parse_number(*s, v, why))
    return report<double>(c, n, path, why);
  if (v < lo || v > hi) {
    auto fmt = [](double d) {
      std::string t = std::to_string(d);
      while (t.back() == '0')
        t.pop_back();
      if (t.back() == '.')
        t.pop_back();
      return t;
    };
    return report<double>(c, n, path, "must be between " + fmt(lo) + " and " + fmt(hi) + ", got " + *s);
  }
  return v;
}

std::optional<bool> read_bool(context& c, const YAML::Node& n, const std::string& path) {
  auto s = read_scalar(c, n, path);
  bool v = false;
  std::string why;
  if (!s)
    return std::nullopt;
  if (!parse_bool(*s, v, why))
    return report<bool>(c, n, path, why);
  return v;
}

std::optional<std::string> read_text(context& c, const YAML::Node& n, const std::string& path, text_check check) {
  auto s = read_scalar(c, n, path);
  std::string why;
  if (s && check && !check(*s, why))
    return report<std::string>(c, n, path, why);
  return s;
}

std::optional<std::size_t> read_name(context& c, const YAML::Node& n, const std::string& path,
                                     const std::vector<std::string>& names) {
  auto s = read_scalar(c, n, path);
  if (!s)
    return std::nullopt;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == *s)
      return i;
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i)
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  std::string near = nearest(*s, names);
  return report<std::size_t>(c, n, path, "must be " + list + ", got \"" + *s + "\"" +
                                             (near.empty() ? "" : " (did you mean \"" + near + "\"?)"));
}

std::string describe_range(std::int64_t lo, std::int64_t hi) {
  auto show = [](std::int64_t v) { return v == INT64_MAX ? std::string{"2^63-1"} : std::to_string(v); };
  return show(lo) + ".." + show(hi);
}

std::string describe_range(core::duration lo, core::duration hi) {
  return format_duration(lo) + ".." + format_duration(hi);
}

std::string describe_range(double lo, double hi) {
  auto show = [](double v) {
    auto s = std::to_string(v); // no exponent for the bounds in use; trim the trailing zeros
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.')
      s.pop_back();
    return s;
  };
  return show(lo) + ".." + show(hi);
}

std::string describe_names(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names)
    list += (list.empty() ? "" : ", ") + n;
  return "one of: " + list;
}

} // namespace cutover::config_adapter::detail
