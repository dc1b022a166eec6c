#include "app/simulate/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cutover::sim::svg {

namespace {

constexpr double width = 800, height = 400, left = 70, right = 160, top = 40, bottom = 50;
constexpr double plot_w = width - left - right, plot_h = height - top - bottom;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string label(double v) {
  char buf[32];
  if (std::fabs(v) >= 100 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle", int size = 12) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-family=\"sans-serif\" font-size=\"" +
         std::to_string(size) + "\" text-anchor=\"" + anchor + "\">" + escape(s) + "</text>\n";
}

std::string header(const std::string& title) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) +
         "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\">\n" +
         "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + text(width / 2, 22, title, "middle", 15);
}

/// Axes with 5 ticks on y; the y labels from y_min to y_max.
std::string axes(double y_min, double y_max, const std::string& y_label) {
  std::string out = "<g stroke=\"#444\" stroke-width=\"1\">\n<line x1=\"" + num(left) + "\" y1=\"" + num(top) +
                    "\" x2=\"" + num(left) + "\" y2=\"" + num(top + plot_h) + "\"/>\n<line x1=\"" + num(left) +
                    "\" y1=\"" + num(top + plot_h) + "\" x2=\"" + num(left + plot_w) + "\" y2=\"" + num(top + plot_h) +
                    "\"/>\n</g>\n";
  for (int i = 0; i <= 4; ++i) {
    const double y = top + plot_h - plot_h * i / 4.0;
    out += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left + plot_w) + "\" y2=\"" + num(y) +
           "\" stroke=\"#ddd\" stroke-width=\"1\"/>\n";
    out += text(left - 6, y + 4, label(y_min + (y_max - y_min) * i / 4.0), "end", 11);
  }
  out += "<text x=\"16\" y=\"" + num(top + plot_h / 2) +
         "\" font-family=\"sans-serif\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 " +
         num(top + plot_h / 2) + ")\">" + escape(y_label) + "</text>\n";
  return out;
}

std::string legend(const std::vector<std::string>& names, const std::vector<std::string>& colours) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const double y = top + 10 + 18.0 * static_cast<double>(i);
    out += "<rect x=\"" + num(left + plot_w + 12) + "\" y=\"" + num(y - 9) + "\" width=\"12\" height=\"12\" fill=\"" +
           colours[i] + "\"/>\n" + text(left + plot_w + 30, y + 1, names[i], "start", 11);
  }
  return out;
}

} // namespace

std::string colour(std::size_t i) {
  static const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};
  return palette[i % (sizeof palette / sizeof *palette)];
}

std::string render(const line_chart& c) {
  const double xr = c.x_max > c.x_min ? c.x_max - c.x_min : 1;
  const double yr = c.y_max > c.y_min ? c.y_max - c.y_min : 1;
  auto px = [&](double x) { return left + plot_w * (std::clamp(x, c.x_min, c.x_max) - c.x_min) / xr; };
  auto py = [&](double y) { return top + plot_h - plot_h * (std::clamp(y, c.y_min, c.y_max) - c.y_min) / yr; };
  std::string out = header(c.title) + axes(c.y_min, c.y_max, c.y_label);
  for (int i = 0; i <= 4; ++i) {
    const double x = c.x_min + xr * i / 4.0;
    out += text(px(x), top + plot_h + 16, label(x), "middle", 11);
  }
  out += text(left + plot_w / 2, height - 12, c.x_label);
  for (const auto& m : c.marks) {
    out += "<line x1=\"" + num(px(m.x)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(px(m.x)) + "\" y2=\"" +
           num(top + plot_h) + "\" stroke=\"" + m.colour + "\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>\n";
    out += "<text x=\"" + num(px(m.x) + 3) + "\" y=\"" + num(top + 10) +
           "\" font-family=\"sans-serif\" font-size=\"10\" fill=\"" + m.colour + "\">" + escape(m.label) + "</text>\n";
  }
  std::vector<std::string> names, colours;
  for (const auto& s : c.lines) {
    names.push_back(s.name);
    colours.push_back(s.colour);
    if (s.points.empty())
      continue;
    std::string d;
    double last_y = 0;
    for (std::size_t i = 0; i < s.points.size(); ++i) {
      const auto [x, y] = s.points[i];
      if (i == 0)
        d += "M" + num(px(x)) + " " + num(py(y));
      else if (s.step)
        d += " L" + num(px(x)) + " " + num(py(last_y)) + " L" + num(px(x)) + " " + num(py(y));
      else
        d += " L" + num(px(x)) + " " + num(py(y));
      last_y = y;
    }
    out += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + s.colour + "\" stroke-width=\"1.5\"/>\n";
  }
  return out + legend(names, colours) + "</svg>\n";
}

std::string render(const bar_chart& c) {
  double y_max = 0;
  for (const auto& row : c.values) {
    double sum = 0;
    for (double v : row)
      sum += v;
    y_max = std::max(y_max, sum);
  }
  y_max = y_max > 0 ? y_max * 1.1 : 1;
  std::string out = header(c.title) + axes(0, y_max, c.y_label);
  const double slot = c.categories.empty() ? plot_w : plot_w / static_cast<double>(c.categories.size());
  const double bar = std::max(1.0, slot * 0.7);
  const std::size_t every = std::max<std::size_t>(1, c.categories.size() / 14);
  for (std::size_t i = 0; i < c.categories.size(); ++i) {
    const double x = left + slot * static_cast<double>(i) + (slot - bar) / 2;
    double base = 0;
    for (std::size_t k = 0; k < c.names.size() && k < c.values[i].size(); ++k) {
      const double v = c.values[i][k];
      const double h = plot_h * v / y_max;
      const double y = top + plot_h - plot_h * base / y_max - h;
      out += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(bar) + "\" height=\"" + num(h) +
             "\" fill=\"" + c.colours[k] + "\"/>\n";
      base += v;
    }
    if (i % every == 0)
      out += text(x + bar / 2, top + plot_h + 16, c.categories[i], "middle", 10);
  }
  return out + legend(c.names, c.colours) + "</svg>\n";
}

} // namespace cutover::sim::svg
