#pragma once
/// Private to adapters/config: exact parsers for the value formats of config.yaml.
/// Pure text in, value or reason out; no yaml-cpp, no floating point for money, time or percentages.
/// Each parser returns false and sets `why` (a message without the key path) on bad input.

#include "core/types.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cutover::config_adapter::detail {

/// `-?\d+`, at most 18 digits.
bool parse_integer(std::string_view text, std::int64_t& out, std::string& why);

/// `500ms`, `45s`, `5m`, `2h`, `3d`, `250us`; a decimal number (`1.5s`) when exact in microseconds; bare `0`.
bool parse_duration(std::string_view text, core::duration& out, std::string& why);
/// The shortest exact spelling: `30m`, `1m30s`, `500ms`, `0s`.
std::string format_duration(core::duration d);

/// `5%`, `0.5%` (up to 4 decimals) or a plain integer meaning percent; 0..100 %. 1% = 10,000 ppm.
bool parse_percent(std::string_view text, core::ppm& out, std::string& why);

/// USD as a decimal (`0.039`, `200`), at most 6 decimals, not negative.
bool parse_money(std::string_view text, core::micros& out, std::string& why);

/// A plain decimal number (`0.93`, `3`): no exponent, no sign other than a leading `-`.
bool parse_number(std::string_view text, double& out, std::string& why);

/// `true` or `false` (also `True`, `TRUE`, ...); YAML 1.1's yes/no/on/off are refused as ambiguous.
bool parse_bool(std::string_view text, bool& out, std::string& why);

/// `HH:MMZ`, a time of day in UTC, as an offset from 00:00.
bool parse_day_start(std::string_view text, core::duration& out, std::string& why);

/// `HOST:PORT` (`[::1]:8080` for IPv6), port 1..65535.
bool check_listen(std::string_view text, std::string& why);

/// Any text but the empty string.
bool check_not_empty(std::string_view text, std::string& why);

/// Levenshtein distance, case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate nearest to `key` within edit distance 2, or "" when none is that close.
std::string nearest(std::string_view key, const std::vector<std::string>& candidates);

} // namespace cutover::config_adapter::detail
