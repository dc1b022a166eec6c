#include "core/log_line.hpp"
#include "core/json_text.hpp"

#include <cstdio>
#include <ostream>
#include <utility>
#include <vector>

namespace cutover::core {

std::string_view to_string(log_format f) { return f == log_format::json ? "json" : "text"; }

bool parse_log_format(std::string_view text, log_format& out) {
  if (text == "text")
    out = log_format::text;
  else if (text == "json")
    out = log_format::json;
  else
    return false;
  return true;
}

namespace {

bool needs_quotes(std::string_view s) {
  if (s.empty())
    return true;
  for (char c : s)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
      return true;
  return false;
}

bool is_key(std::string_view k) {
  if (k.empty())
    return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
      return false;
  return true;
}

/// A JSON number as written by the engine's lines: -?(0|[1-9][0-9]*)(.[0-9]+)?
bool is_number(std::string_view v) {
  std::size_t i = 0;
  if (i < v.size() && v[i] == '-')
    ++i;
  const auto int_start = i;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9')
    ++i;
  const auto digits = i - int_start;
  if (digits == 0 || (digits > 1 && v[int_start] == '0'))
    return false;
  if (i < v.size() && v[i] == '.') {
    const auto frac = ++i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9')
      ++i;
    if (i == frac)
      return false;
  }
  return i == v.size();
}

struct field {
  std::string key, value;
  bool text = false; ///< a string whatever it looks like (it was quoted, or continued by later words)
};

} // namespace

std::ostream& operator<<(std::ostream& out, const quoted& q) {
  if (!needs_quotes(q.text))
    return out << q.text;
  out << '"';
  for (char c : q.text) {
    if (c == '"' || c == '\\')
      out << '\\' << c;
    else if (c == '\n')
      out << "\\n";
    else if (static_cast<unsigned char>(c) < 0x20)
      out << ' ';
    else
      out << c;
  }
  return out << '"';
}

std::string text_line_to_json(std::string_view line) {
  std::vector<field> fields;
  std::size_t i = 0;
  const auto n = line.size();
  while (i < n) {
    while (i < n && line[i] == ' ')
      ++i;
    if (i >= n)
      break;
    const auto end = std::min(line.find(' ', i), n);
    const auto eq = line.find('=', i);
    if (eq < end && is_key(line.substr(i, eq - i))) {
      field f;
      f.key = std::string{line.substr(i, eq - i)};
      auto j = eq + 1;
      if (j < n && line[j] == '"') {
        f.text = true;
        for (++j; j < n && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < n) {
            ++j;
            f.value += line[j] == 'n' ? '\n' : line[j];
          } else {
            f.value += line[j];
          }
        }
        i = j + 1; // past the closing quote (or the end of an unclosed one)
      } else {
        f.value = std::string{line.substr(j, end - j)};
        i = end;
      }
      fields.push_back(std::move(f));
    } else {
      const auto word = line.substr(i, end - i);
      if (fields.empty())
        fields.push_back({"msg", std::string{word}, true});
      else {
        fields.back().value += ' ';
        fields.back().value += word;
        fields.back().text = true;
      }
      i = end;
    }
  }
  std::string out = "{";
  for (std::size_t k = 0; k < fields.size(); ++k) {
    if (k > 0)
      out += ',';
    append_json_string(out, fields[k].key);
    out += ':';
    if (!fields[k].text && is_number(fields[k].value))
      out += fields[k].value;
    else
      append_json_string(out, fields[k].value);
  }
  out += '}';
  return out;
}

log_sink& log_sink::instance() {
  static log_sink sink;
  return sink;
}

void log_sink::write(std::string_view line, bool urgent) {
  if (muted_.load(std::memory_order_relaxed))
    return;
  std::string text = format() == log_format::json ? text_line_to_json(line) : std::string{line};
  text += '\n';
  std::lock_guard<std::mutex> guard{mutex_};
  buffer_ += text;
  if (urgent || buffer_.size() >= flush_bytes)
    write_out();
}

void log_sink::flush() {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!buffer_.empty())
    write_out();
}

void log_sink::write_out() {
  std::fwrite(buffer_.data(), 1, buffer_.size(), stderr); // stdio locks the stream for the whole call
  std::fflush(stderr);
  buffer_.clear(); // keeps its capacity: the next lines reuse it
}

log_sink::~log_sink() { flush(); }

} // namespace cutover::core
