#include "hcmsn/report/bar_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "hcmsn/util/check.h"

namespace hcmsn::report {
namespace {

// An entry: a colour swatch (18 px), the name, a gap.
double legend_entry_width(const std::string& name) {
  return 18.0 + kCharWidth * static_cast<double>(utf8_length(name)) + 14.0;
}

bool has_error(const BarSeries& s, size_t g) {
  return !s.errors.empty() && std::isfinite(s.errors[g]) && s.errors[g] > 0.0;
}

}  // namespace

std::string svg_bar_chart(const std::vector<std::string>& groups,
                          const std::vector<BarSeries>& series, const ChartOptions& options) {
  HCMSN_CHECK(options.width >= 200 && options.height >= 150,
              "chart size must be at least 200 x 150 pixels, got ", options.width, " x ",
              options.height);
  HCMSN_CHECK(!options.log_y, "bar charts have a linear y axis; unset log_y");
  for (const BarSeries& s : series) {
    HCMSN_CHECK(s.values.size() == groups.size(), "bar series '", s.name, "' has ", s.values.size(),
                " values for ", groups.size(), " groups; give one per group");
    HCMSN_CHECK(s.errors.empty() || s.errors.size() == groups.size(), "bar series '", s.name,
                "' has ", s.errors.size(), " errors for ", groups.size(),
                " groups; give one per group or none");
  }

  // The y range always holds 0: bars grow from the axis.
  double ymin = 0.0, ymax = 0.0;
  bool has_data = false;
  for (const BarSeries& s : series) {
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!std::isfinite(s.values[g])) continue;
      has_data = true;
      const double e = has_error(s, g) ? s.errors[g] : 0.0;
      ymin = std::min(ymin, s.values[g] - e);
      ymax = std::max(ymax, s.values[g] + e);
    }
  }
  if (!has_data || ymax - ymin <= 0.0) ymax = ymin + 1.0;

  // Legend rows (wrapped to the width) at the bottom.
  const double width = options.width;
  const double margin = 10.0;
  std::vector<double> entry_widths;
  for (const auto& s : series) entry_widths.push_back(legend_entry_width(s.name));
  const auto legend_rows = wrap_legend(entry_widths, width - 2 * margin);
  const double legend_h = legend_rows.empty() ? 0.0 : 16.0 * legend_rows.size() + 6.0;
  const double top = options.title.empty() ? 12.0 : 30.0;
  const double bottom = 20.0 + (options.x_label.empty() ? 0.0 : 16.0) + legend_h + 6.0;
  const double height = std::max<double>(options.height, top + bottom + 60.0);
  const double plot_h = height - top - bottom;
  const std::vector<double> yticks =
      nice_ticks(ymin, ymax, std::max(2, static_cast<int>(plot_h / 45.0)));
  const double step = yticks.size() >= 2 ? yticks[1] - yticks[0] : 1.0;
  std::vector<std::string> ylabels;
  size_t ylabel_chars = 1;
  for (double t : yticks) {
    ylabels.push_back(format_tick(t, step));
    ylabel_chars = std::max(ylabel_chars, ylabels.back().size());
  }
  const double left = 8.0 + kCharWidth * ylabel_chars + 8.0 + (options.y_label.empty() ? 0 : 18);
  const double right = 18.0;
  const double x0 = left, x1 = width - right, y0 = top, y1 = top + plot_h;
  const double ylo = yticks.front(), yhi = yticks.back();
  const auto sy = [&](double y) { return y1 - (y - ylo) / (yhi - ylo) * (y1 - y0); };

  std::string out = svg_open(width, height, options.title, "bar chart");
  out += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : yticks) {
    out += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\"/>\n", svg_coord(sy(t)),
                       svg_coord(x0), svg_coord(x1));
  }
  out += "</g>\n";
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#555555\"/>\n",
      svg_coord(x0), svg_coord(y0), svg_coord(x1 - x0), svg_coord(y1 - y0));

  // Bars: each group's slot holds the series side by side, with a fifth of it as a gap.
  const double slot = groups.empty() ? 0.0 : (x1 - x0) / static_cast<double>(groups.size());
  const double bar = series.empty() ? 0.0 : slot * 0.8 / static_cast<double>(series.size());
  std::string bars, errors;
  for (size_t g = 0; g < groups.size(); ++g) {
    const double start = x0 + slot * static_cast<double>(g) + slot * 0.1;
    for (size_t k = 0; k < series.size(); ++k) {
      const BarSeries& s = series[k];
      if (!std::isfinite(s.values[g])) continue;
      const double bx = start + bar * static_cast<double>(k);
      const double top_y = sy(std::max(s.values[g], 0.0));
      const double base_y = sy(std::min(s.values[g], 0.0));
      bars += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title>"
          "</rect>\n",
          svg_coord(bx + 1.0), svg_coord(top_y), svg_coord(std::max(bar - 2.0, 1.0)),
          svg_coord(base_y - top_y), palette_color(k), xml_escape(s.name),
          xml_escape(fmt::format("{:.4f}", s.values[g]) +
                     (has_error(s, g) ? fmt::format(" ± {:.4f}", s.errors[g]) : "")));
      if (has_error(s, g)) {
        const double cx = bx + bar / 2.0, cap = std::min(bar / 4.0, 5.0);
        const double lo = sy(s.values[g] - s.errors[g]), hi = sy(s.values[g] + s.errors[g]);
        errors += fmt::format(
            "<path d=\"M{0} {1} L{0} {2} M{3} {1} L{4} {1} M{3} {2} L{4} {2}\"/>\n", svg_coord(cx),
            svg_coord(lo), svg_coord(hi), svg_coord(cx - cap), svg_coord(cx + cap));
      }
    }
  }
  out += bars;
  if (!errors.empty()) {
    out += "<g stroke=\"#222222\" stroke-width=\"1.2\" fill=\"none\">\n" + errors + "</g>\n";
  }
  if (!has_data) {
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n",
        svg_coord((x0 + x1) / 2), svg_coord((y0 + y1) / 2));
  }

  // Axis labels: group names under their slots, y ticks on the left.
  out += "<g fill=\"#333333\">\n";
  for (size_t g = 0; g < groups.size(); ++g) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       svg_coord(x0 + slot * (static_cast<double>(g) + 0.5)), svg_coord(y1 + 14),
                       xml_escape(groups[g]));
  }
  for (size_t i = 0; i < yticks.size(); ++i) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", svg_coord(x0 - 5),
                       svg_coord(sy(yticks[i]) + 4), xml_escape(ylabels[i]));
  }
  if (!options.x_label.empty()) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       svg_coord((x0 + x1) / 2), svg_coord(y1 + 30), xml_escape(options.x_label));
  }
  if (!options.y_label.empty()) {
    const double x = 13.0, y = (y0 + y1) / 2;
    out += fmt::format(
        "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1})\">{2}"
        "</text>\n",
        svg_coord(x), svg_coord(y), xml_escape(options.y_label));
  }
  out += "</g>\n";

  // Legend.
  double ly = height - legend_h + 10.0;
  for (const auto& row : legend_rows) {
    double lx = margin;
    for (size_t i : row) {
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"10\" fill=\"{}\"/>"
          "<text x=\"{}\" y=\"{}\" fill=\"#333333\">{}</text>\n",
          svg_coord(lx), svg_coord(ly - 5), palette_color(i), svg_coord(lx + 17), svg_coord(ly + 4),
          xml_escape(series[i].name));
      lx += entry_widths[i];
    }
    ly += 16.0;
  }
  out += "</svg>\n";
  return out;
}

}  // namespace hcmsn::report
