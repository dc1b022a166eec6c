#include "adapters/config/values.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

namespace cutover::config_adapter::detail {

namespace {

using i128 = __int128;

/// A decimal as written: value = (negative ? -1 : 1) * mantissa / 10^frac_digits, trailing zeros dropped.
struct decimal {
  bool negative = false;
  std::uint64_t mantissa = 0;
  int frac_digits = 0;
};

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

/// Parses `-?\d+(\.\d+)?` exactly; at most 18 significant digits.
bool parse_decimal(std::string_view s, decimal& out, std::string& why) {
  decimal d;
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    d.negative = true;
    ++i;
  }
  int digits = 0, frac = 0, int_digits = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') {
      why = "must be a decimal number, got " + quoted(s);
      return false;
    }
    (dot ? frac : int_digits)++;
    if (d.mantissa != 0 || c != '0')
      ++digits;
    if (digits > 18) {
      why = "has too many digits: " + quoted(s);
      return false;
    }
    d.mantissa = d.mantissa * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (int_digits == 0 || (dot && frac == 0)) {
    why = "must be a decimal number, got " + quoted(s);
    return false;
  }
  d.frac_digits = frac;
  while (d.frac_digits > 0 && d.mantissa % 10 == 0) {
    d.mantissa /= 10;
    --d.frac_digits;
  }
  out = d;
  return true;
}

i128 pow10(int n) {
  i128 r = 1;
  while (n-- > 0)
    r *= 10;
  return r;
}

/// The decimal times `scale`, if that is a whole number.
bool scaled(const decimal& d, std::int64_t scale, i128& out) {
  i128 num = static_cast<i128>(d.mantissa) * scale;
  i128 den = pow10(d.frac_digits);
  if (num % den != 0)
    return false;
  out = (d.negative ? -num : num) / den;
  return true;
}

struct unit {
  std::string_view name;
  std::int64_t micros;
};
constexpr std::array<unit, 6> units{{{"d", 86'400'000'000}, {"h", 3'600'000'000}, {"m", 60'000'000},
                                      {"s", 1'000'000}, {"ms", 1'000}, {"us", 1}}};

} // namespace

bool parse_integer(std::string_view text, std::int64_t& out, std::string& why) {
  decimal d;
  bool parsed = text.find('.') == std::string_view::npos && parse_decimal(text, d, why);
  if (!parsed && why.rfind("has too many digits", 0) != 0)
    why = "must be an integer, got " + quoted(text);
  if (!parsed)
    return false;
  out = d.negative ? -static_cast<std::int64_t>(d.mantissa) : static_cast<std::int64_t>(d.mantissa);
  return true;
}

bool parse_duration(std::string_view text, core::duration& out, std::string& why) {
  auto split = text.find_first_not_of("-0123456789.");
  std::string_view number = text.substr(0, split);
  std::string_view suffix = split == std::string_view::npos ? std::string_view{} : text.substr(split);
  if (number.empty()) {
    why = "must be a duration like 500ms, 45s, 5m, 2h or 3d, got " + quoted(text);
    return false;
  }
  decimal d;
  if (!parse_decimal(number, d, why)) {
    why = "must be a duration like 500ms, 45s, 5m, 2h or 3d, got " + quoted(text);
    return false;
  }
  if (suffix.empty()) {
    if (d.mantissa == 0) {
      out = core::duration{0};
      return true;
    }
    why = quoted(text) + " needs a unit, e.g. " + std::string(number) + "s (units: ms, s, m, h, d)";
    return false;
  }
  auto u = std::find_if(units.begin(), units.end(), [&](const unit& x) { return x.name == suffix; });
  if (u == units.end()) {
    why = "unknown unit " + quoted(suffix) + " in " + quoted(text) + " (units: ms, s, m, h, d)";
    return false;
  }
  if (d.negative && d.mantissa != 0) {
    why = "must not be negative, got " + std::string(text);
    return false;
  }
  i128 us = 0;
  if (!scaled(d, u->micros, us)) {
    why = quoted(text) + " is not a whole number of microseconds";
    return false;
  }
  if (us > static_cast<i128>(100) * 365 * 86'400'000'000) {
    why = "is too long: " + std::string(text);
    return false;
  }
  out = core::duration{static_cast<std::int64_t>(us)};
  return true;
}

std::string format_duration(core::duration d) {
  std::int64_t us = d.count();
  if (us == 0)
    return "0s";
  std::string s = us < 0 ? "-" : "";
  if (us < 0)
    us = -us;
  for (const auto& u : units) {
    if (us >= u.micros) {
      s += std::to_string(us / u.micros) + std::string(u.name);
      us %= u.micros;
    }
  }
  return s;
}

bool parse_percent(std::string_view text, core::ppm& out, std::string& why) {
  bool has_sign = !text.empty() && text.back() == '%';
  std::string_view number = has_sign ? text.substr(0, text.size() - 1) : text;
  decimal d;
  if (!parse_decimal(number, d, why)) {
    why = "must be a percentage like 5% or 0.5%, got " + quoted(text);
    return false;
  }
  if (!has_sign && d.frac_digits > 0) {
    why = quoted(text) + " is ambiguous: write " + std::string(text) +
          "% (a plain number is an integer percent 0..100)";
    return false;
  }
  i128 v = 0;
  if (!scaled(d, 10'000, v)) {
    why = quoted(text) + " is more precise than 0.0001%";
    return false;
  }
  if (v < 0 || v > core::ppm_one) {
    why = "must be between 0% and 100%, got " + std::string(number) + "%";
    return false;
  }
  out = static_cast<core::ppm>(v);
  return true;
}

bool parse_money(std::string_view text, core::micros& out, std::string& why) {
  decimal d;
  if (!parse_decimal(text, d, why)) {
    why = "must be an amount in USD like 0.039 or 200, got " + quoted(text);
    return false;
  }
  if (d.negative && d.mantissa != 0) {
    why = "must not be negative, got " + std::string(text);
    return false;
  }
  i128 v = 0;
  if (d.frac_digits > 6 || !scaled(d, core::micros_per_usd, v)) {
    why = "has more than 6 decimals (money is exact to the micro-dollar): " + std::string(text);
    return false;
  }
  if (v > static_cast<i128>(1'000'000'000) * core::micros_per_usd) {
    why = "is too large (more than 1000000000 USD): " + std::string(text);
    return false;
  }
  out = static_cast<core::micros>(v);
  return true;
}

bool parse_number(std::string_view text, double& out, std::string& why) {
  decimal d;
  if (!parse_decimal(text, d, why))
    return false;
  out = std::strtod(std::string(text).c_str(), nullptr);
  return true;
}

bool parse_bool(std::string_view text, bool& out, std::string& why) {
  std::string lower(text);
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "true" || lower == "false") {
    out = lower == "true";
    return true;
  }
  why = "must be true or false, got " + quoted(text);
  return false;
}

bool parse_day_start(std::string_view text, core::duration& out, std::string& why) {
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() == 6 && digit(0) && digit(1) && text[2] == ':' && digit(3) && digit(4) && text[5] == 'Z') {
    int hh = (text[0] - '0') * 10 + (text[1] - '0');
    int mm = (text[3] - '0') * 10 + (text[4] - '0');
    if (hh < 24 && mm < 60) {
      out = std::chrono::hours(hh) + std::chrono::minutes(mm);
      return true;
    }
  }
  why = "must be a UTC time of day HH:MMZ, e.g. \"00:00Z\", got " + quoted(text);
  return false;
}

bool check_listen(std::string_view text, std::string& why) {
  auto colon = text.rfind(':');
  std::string_view host = colon == std::string_view::npos ? text : text.substr(0, colon);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (colon == std::string_view::npos || host.empty() ||
      (!bracketed && host.find_first_of("[]:/ ") != std::string_view::npos)) {
    why = "must be HOST:PORT, e.g. 127.0.0.1:8080, got " + quoted(text);
    return false;
  }
  std::int64_t port = 0;
  std::string ignored;
  std::string_view port_text = text.substr(colon + 1);
  if (!parse_integer(port_text, port, ignored) || port < 1 || port > 65535) {
    why = "port must be between 1 and 65535, got " + quoted(port_text);
    return false;
  }
  return true;
}

bool check_not_empty(std::string_view text, std::string& why) {
  if (text.empty())
    why = "must not be empty";
  return !text.empty();
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest(std::string_view key, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = 3;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(key, c);
    // A distance equal to the whole key's length is a replacement, not a typo.
    if (d < best_distance && d < std::max(key.size(), c.size())) {
      best = &c;
      best_distance = d;
    }
  }
  return best ? *best : std::string{};
}

} // namespace cutover::config_adapter::detail
