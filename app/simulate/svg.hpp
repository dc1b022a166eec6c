#pragma once
/// A small SVG writer for simulate's plots: line (or step) charts with vertical markers, and stacked bar charts.
/// Deterministic text (fixed decimals, no fonts embedded, no timestamps), so a run's plots are byte-identical when
/// its figures are.

#include <string>
#include <utility>
#include <vector>

namespace cutover::sim::svg {

struct series {
  std::string name;
  std::string colour;
  std::vector<std::pair<double, double>> points; ///< (x, y), x ascending
  bool step = false; ///< hold each value until the next point
};

/// A vertical line at `x` with a short label (e.g. a rollout decision).
struct marker {
  double x = 0;
  std::string label;
  std::string colour;
};

struct line_chart {
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  std::vector<series> lines;
  std::vector<marker> marks;
};

struct bar_chart {
  std::string title, y_label;
  std::vector<std::string> categories; ///< one bar per category (x axis)
  std::vector<std::string> names;      ///< stacked parts of every bar
  std::vector<std::string> colours;
  std::vector<std::vector<double>> values; ///< values[category][part]
};

std::string render(const line_chart& c);
std::string render(const bar_chart& c);
/// A colour per index from a fixed palette.
std::string colour(std::size_t i);

} // namespace cutover::sim::svg
