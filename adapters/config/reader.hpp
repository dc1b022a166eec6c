#pragma once
/// Private to adapters/config: the machinery that reads YAML nodes into the config model.
/// A section is declared once as a table of fields (key, member, bounds, meaning); `read_map` walks a mapping
/// against its table, reports unknown, duplicate and missing keys, and never stops at the first error.
/// Defaults are the model's member initialisers (core::defaults): a key that is absent leaves them untouched.

#include "adapters/config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cutover::config_adapter::detail {

/// Collects every error and remembers the line of every key written, so that rules across fields
/// (checked after reading) can point at the right line and skip fields that already failed.
class context {
public:
  explicit context(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }
  void error(int line, const std::string& path, std::string message);
  /// An error at the line where `path` (or its nearest written parent) was written.
  void error(const std::string& path, std::string message);
  void seen(const std::string& path, int line) { lines_.emplace(path, line); }
  bool has(const std::string& path) const { return lines_.count(path) != 0; }
  /// No error was reported at `path` or below it.
  bool ok(const std::string& path) const;
  int line_of(std::string path) const;
  /// The errors in line order (unknown lines last), in the order found within a line.
  std::vector<config_error> take_errors();

private:
  std::string file_;
  std::vector<config_error> errors_;
  std::map<std::string, int> lines_;
  std::set<std::string> failed_;
};

/// 1-based line of a node, 0 when unknown.
int line_of(const YAML::Node& n);
std::string join(const std::string& path, const std::string& key);
std::string item(const std::string& path, std::size_t index);

using entry_fn = std::function<void(const std::string& key, const YAML::Node& value, const std::string& path)>;
using item_fn = std::function<void(std::size_t index, const YAML::Node& value, const std::string& path)>;
/// Walks a mapping (null counts as empty); false when `n` is not a mapping (already reported).
bool for_each_entry(context& c, const YAML::Node& n, const std::string& path, const entry_fn& f);
/// Walks a sequence (null counts as empty); false when `n` is not a sequence (already reported).
bool for_each_item(context& c, const YAML::Node& n, const std::string& path, const item_fn& f);

// Scalar readers: each reports its own error (with the node's line) and returns nullopt on bad input.
std::optional<std::string> read_scalar(context& c, const YAML::Node& n, const std::string& path);
std::optional<std::int64_t> read_integer(context& c, const YAML::Node& n, const std::string& path,
                                         std::int64_t lo, std::int64_t hi);
std::optional<core::duration> read_duration(context& c, const YAML::Node& n, const std::string& path,
                                            core::duration lo, core::duration hi);
std::optional<core::ppm> read_percent(context& c, const YAML::Node& n, const std::string& path);
std::optional<core::micros> read_money(context& c, const YAML::Node& n, const std::string& path);
std::optional<double> read_number(context& c, const YAML::Node& n, const std::string& path, double lo,
                                  double hi);
std::optional<bool> read_bool(context& c, const YAML::Node& n, const std::string& path);
/// A string, optionally checked by `check` (returns false and sets `why`).
using text_check = bool (*)(std::string_view text, std::string& why);
std::optional<std::string> read_text(context& c, const YAML::Node& n, const std::string& path,
                                     text_check check);
/// One of `names`; reports the allowed names otherwise.
std::optional<std::size_t> read_name(context& c, const YAML::Node& n, const std::string& path,
                                     const std::vector<std::string>& names);

/// Appends the keys below `path` (a section's own table, a provider by name, ...) to `out`.
using keys_fn = std::function<void(const std::string& path, std::vector<config_key>& out)>;

/// One key of a section: how to read it into `T`, and what it means.
/// `type` and `below` only describe the key (config_keys(), the test that docs/configuration.md names every key).
template <class T>
struct field {
  std::string key;
  std::string meaning;
  std::function<void(context&, const YAML::Node&, const std::string&, T&)> read;
  bool required = false;
  std::string type;
  keys_fn below;
};
template <class T>
using fields = std::vector<field<T>>;

/// The keys of `table` under `path`, each followed by the keys below it.
template <class T>
void list_keys(const fields<T>& table, const std::string& path, std::vector<config_key>& out) {
  for (const auto& f : table) {
    const auto p = path.empty() ? f.key : path + "." + f.key;
    out.push_back({p, f.type, f.meaning, f.required});
    if (f.below)
      f.below(p, out);
  }
}
/// `below` for a table: its keys under the key's own path, or under `path + suffix` (`.<name>`, `[]`).
template <class T>
keys_fn keys_of(const fields<T>& (*table)(), std::string suffix = "") {
  return [=](const std::string& path, std::vector<config_key>& out) { list_keys(table(), path + suffix, out); };
}

/// Reports an unknown key, suggesting the nearest of `known`.
void unknown_key(context& c, const std::string& path, const std::string& key, const std::vector<std::string>& known);

template <class T>
void read_map(context& c, const YAML::Node& n, const std::string& path, const fields<T>& table, T& out) {
  std::set<std::string> present;
  bool is_map = for_each_entry(c, n, path, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
    for (const auto& f : table)
      if (f.key == key) {
        present.insert(key);
        f.read(c, v, p, out);
        return;
      }
    std::vector<std::string> known;
    for (const auto& f : table)
      known.push_back(f.key);
    unknown_key(c, p, key, known);
  });
  if (!is_map)
    return;
  for (const auto& f : table)
    if (f.required && present.count(f.key) == 0)
      c.error(c.line_of(path), join(path, f.key), "missing required key (" + f.meaning + ")");
}

// Field builders. `M` is the member's type; an std::optional member is set when the key is present.
template <class M, class V>
void assign(M& dst, V v) { dst = static_cast<M>(v); }
template <class M, class V>
void assign(std::optional<M>& dst, V v) { dst = static_cast<M>(v); }
template <class S>
S& emplace(S& s) { return s; }
template <class S>
S& emplace(std::optional<S>& s) { return s ? *s : s.emplace(); }

template <class T>
field<T> required(field<T> f) {
  f.required = true;
  return f;
}
/// Describes a hand-written field: its type and, where it has some, the keys below it.
template <class T>
field<T> described(field<T> f, std::string type, keys_fn below = nullptr) {
  f.type = std::move(type);
  f.below = std::move(below);
  return f;
}
std::string describe_range(std::int64_t lo, std::int64_t hi);
std::string describe_range(core::duration lo, core::duration hi);
std::string describe_range(double lo, double hi);
std::string describe_names(const std::vector<std::string>& names);
template <class T, class M>
field<T> integer(std::string key, M T::*m, std::int64_t lo, std::int64_t hi, std::string meaning) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            if (auto v = read_integer(c, n, p, lo, hi))
              assign(out.*m, *v);
          }, false, "integer " + describe_range(lo, hi), nullptr};
}
template <class T, class M>
field<T> duration(std::string key, M T::*m, core::duration lo, core::duration hi, std::string meaning) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            if (auto v = read_duration(c, n, p, lo, hi))
              assign(out.*m, *v);
          }, false, "duration " + describe_range(lo, hi), nullptr};
}
template <class T, class M>
field<T> percent(std::string key, M T::*m, std::string meaning) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            if (auto v = read_percent(c, n, p))
              assign(out.*m, *v);
          }, false, "percent 0..100%", nullptr};
}
template <class T, class M>
field<T> money(std::string key, M T::*m, std::string meaning) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            if (auto v = read_money(c, n, p))
              assign(out.*m, *v);
          }, false, "USD >= 0", nullptr};
}
template <class T, class M>
field<T> number(std::string key, M T::*m, double lo, double hi, std::string meaning) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            if (auto v = read_number(c, n, p, lo, hi))
              assign(out.*m, *v);
          }, false, "number " + describe_range(lo, hi), nullptr};
}
template <class T, class M>
field<T> boolean(std::string key, M T::*m, std::string meaning) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            if (auto v = read_bool(c, n, p))
              assign(out.*m, *v);
          }, false, "boolean", nullptr};
}
template <class T>
field<T> text(std::string key, std::string T::*m, std::string meaning, text_check check = nullptr) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            if (auto v = read_text(c, n, p, check))
              out.*m = *v;
          }, false, "string", nullptr};
}
/// An enum spelled by name; `names[i]` is the value `E(i)`.
template <class T, class E>
field<T> choice(std::string key, E T::*m, std::vector<std::string> names, std::string meaning) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            if (auto v = read_name(c, n, p, names))
              out.*m = static_cast<E>(*v);
          }, false, describe_names(names), nullptr};
}
/// A nested mapping with its own table.
template <class T, class M, class S>
field<T> section(std::string key, M T::*m, const fields<S>& (*table)(), std::string meaning) {
  return {std::move(key), std::move(meaning), [=](context& c, const YAML::Node& n, const std::string& p, T& out) {
            read_map(c, n, p, table(), emplace(out.*m));
          }, false, "mapping", keys_of(table)};
}
/// Anything else: a reader written by hand.
template <class T>
field<T> custom(std::string key, std::string meaning,
                std::function<void(context&, const YAML::Node&, const std::string&, T&)> read) {
  return {std::move(key), std::move(meaning), std::move(read), false, "", nullptr}; // described() adds the type
}

// The sections (schema_*.cpp) and the rules across fields (rules.cpp).
const fields<core::config>& root_fields();
void read_providers(context& c, const YAML::Node& n, const std::string& path, std::vector<core::provider_config>& out);
/// The keys of one provider, under `path` (`providers.<name>`).
void list_provider_keys(const std::string& path, std::vector<config_key>& out);
const fields<core::rollout_config>& rollout_fields();
const fields<core::notify_config>& notify_fields();
void check_notify(context& c, const core::notify_config& n);
void check_rules(context& c, core::config& cfg);

} // namespace cutover::config_adapter::detail
