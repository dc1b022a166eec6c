// Config patches: key paths merged into the config's YAML, then the whole file validated again.

#include "adapters/config/scenario_loader.hpp"

#include "adapters/config/reader.hpp"

#include <yaml-cpp/yaml.h>

namespace cutover::config_adapter {

namespace {

/// Splits `a.b[2].c` into a, b, [2], c; false on an empty segment or a bad index.
bool split_path(const std::string& path, std::vector<std::string>& out) {
  std::string cur;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '.' || c == '[') {
      if (!cur.empty())
        out.push_back(cur);
      else if (c == '.' && (out.empty() || out.back().front() != '['))
        return false;
      cur.clear();
      if (c == '[') {
        const auto close = path.find(']', i);
        if (close == std::string::npos || close == i + 1)
          return false;
        const auto index = path.substr(i, close - i + 1);
        if (index.find_first_not_of("0123456789", 1) != index.size() - 1)
          return false;
        out.push_back(index);
        i = close;
      }
      continue;
    }
    cur += c;
  }
  if (!cur.empty())
    out.push_back(cur);
  return !out.empty() && !path.empty() && path.back() != '.';
}

/// Sets `path` in `root` to `value`; false (with why) when a list index is out of range or a scalar is in the way.
bool set_path(YAML::Node root, const std::string& path, const YAML::Node& value, std::string& why) {
  std::vector<std::string> parts;
  if (!split_path(path, parts)) {
    why = "is not a key path like tiers.sd.batch.max_wait or rollout.phases[0].min_duration";
    return false;
  }
  YAML::Node cur;
  cur.reset(root);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const auto& part = parts[i];
    if (part.front() == '[') {
      const auto index = std::stoul(part.substr(1, part.size() - 2));
      if (!cur.IsSequence() || index >= cur.size()) {
        why = "no list item " + part + " in the config to patch";
        return false;
      }
      if (last) {
        cur[index] = value;
        return true;
      }
      YAML::Node next = cur[index];
      cur.reset(next);
      continue;
    }
    if (!cur.IsMap() && !cur.IsNull()) {
      why = "cannot set a key inside a value that is not a mapping";
      return false;
    }
    if (last) {
      cur[part] = value;
      return true;
    }
    YAML::Node next = cur[part];
    if (!next.IsDefined() || next.IsNull())
      cur[part] = YAML::Node(YAML::NodeType::Map);
    YAML::Node child = cur[part];
    cur.reset(child);
  }
  return true;
}

bool prefix_of(const std::string& a, const std::string& b) {
  return b.compare(0, a.size(), a) == 0 && (b.size() == a.size() || b[a.size()] == '.' || b[a.size()] == '[');
}

} // namespace

load_result load_patched_config(const std::string& text, const std::string& file,
                                const std::vector<patch_entry>& patches) {
  if (patches.empty())
    return load_config_text(text, file);
  load_result out;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return load_config_text(text, file); // the config's own syntax error, reported as check-config would
  }
  if (!root.IsMap())
    return load_config_text(text, file);
  for (const auto& p : patches) {
    std::string why;
    YAML::Node value;
    try {
      value = YAML::Load(p.value);
    } catch (const YAML::Exception& e) {
      out.errors.push_back({p.origin, p.line, p.path, "not a YAML value: " + e.msg});
      continue;
    }
    if (!set_path(root, p.path, value, why))
      out.errors.push_back({p.origin, p.line, p.path, why});
  }
  if (!out.errors.empty())
    return out;
  YAML::Emitter emitter;
  emitter << root;
  auto patched = load_config_text(emitter.c_str(), file);
  if (patched.config)
    return patched;
  // each error of the patched config at the line of the patch it concerns (the config's own errors stay its own)
  for (auto e : patched.errors) {
    const patch_entry* by = nullptr;
    for (const auto& p : patches)
      if (!e.path.empty() && (prefix_of(p.path, e.path) || prefix_of(e.path, p.path)))
        by = &p;
    if (by) {
      e.file = by->origin;
      e.line = by->line;
    } else {
      e.message += " (in " + file + " with the patches applied)";
      e.line = 0;
    }
    out.errors.push_back(std::move(e));
  }
  return out;
}

bool parse_sweep(const std::string& arg, std::string& key, std::vector<std::string>& values, std::string& why) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size()) {
    why = "--sweep takes KEY=V1,V2,... (e.g. tiers.sd.batch.max_wait=15s,45s,2m), got \"" + arg + "\"";
    return false;
  }
  key = arg.substr(0, eq);
  values.clear();
  std::size_t pos = eq + 1;
  while (pos <= arg.size()) {
    auto comma = arg.find(',', pos);
    if (comma == std::string::npos)
      comma = arg.size();
    const auto v = arg.substr(pos, comma - pos);
    if (v.empty()) {
      why = "--sweep " + key + ": empty value in \"" + arg + "\"";
      return false;
    }
    values.push_back(v);
    pos = comma + 1;
  }
  return true;
}

} // namespace cutover::config_adapter
