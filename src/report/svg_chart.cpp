#include "hcmsn/report/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "hcmsn/util/check.h"

namespace hcmsn::report {
namespace {

constexpr std::array<const char*, 10> kTableau = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                  "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                  "#bcbd22", "#17becf"};

// Relative slack for "is this tick at the data bound": quotients like 0.3 / 0.1 land a few ulps
// off an integer, which would otherwise add a whole extra tick interval.
constexpr double kTickSlack = 1e-9;

struct Frame {
  double x0, x1, y0, y1;      // plot area in pixels (y0 top)
  double xlo, xhi, ylo, yhi;  // data range (ylo/yhi in log10 units on a log axis)
  bool log_y;
  double sx(double x) const { return x0 + (x - xlo) / (xhi - xlo) * (x1 - x0); }
  double sy(double y) const {
    const double t = log_y ? std::log10(y) : y;
    return y1 - (t - ylo) / (yhi - ylo) * (y1 - y0);
  }
};

bool usable(double x, double y, bool log_y) {
  return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0.0);
}

// The step between neighbouring linear ticks (ticks hold at least two values).
double tick_step(const std::vector<double>& ticks) {
  return ticks.size() >= 2 ? ticks[1] - ticks[0] : 1.0;
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::size_t utf8_length(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char ch : text) n += (ch & 0xC0) != 0x80;
  return n;
}

std::vector<std::vector<std::size_t>> wrap_legend(const std::vector<double>& widths,
                                                  double available) {
  std::vector<std::vector<std::size_t>> rows;
  double used = 0.0;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    if (rows.empty() || (used + widths[i] > available && used > 0.0)) {
      rows.emplace_back();
      used = 0.0;
    }
    rows.back().push_back(i);
    used += widths[i];
  }
  return rows;
}

std::string svg_coord(double v) {
  HCMSN_ASSERT(std::isfinite(v), "SVG coordinate must be finite, got ", v);
  return fmt::format("{:.2f}", v);
}

std::string svg_open(double width, double height, const std::string& title,
                     const std::string& fallback_title) {
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\" font-family=\"system-ui, -apple-system, "
      "'Segoe UI', Helvetica, Arial, sans-serif\" font-size=\"11\">\n",
      svg_coord(width), svg_coord(height));
  out += "<title>" + xml_escape(title.empty() ? fallback_title : title) + "</title>\n";
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n",
                     svg_coord(width), svg_coord(height));
  if (!title.empty()) {
    out += fmt::format(
        "<text x=\"{}\" y=\"19\" text-anchor=\"middle\" font-size=\"13\" "
        "font-weight=\"600\">{}</text>\n",
        svg_coord(width / 2), xml_escape(title));
  }
  return out;
}

std::string palette_color(std::size_t i) {
  if (i < kTableau.size()) return kTableau[i];
  // Golden-angle hues never repeat and keep consecutive indices far apart on the colour wheel.
  const double h = std::fmod(static_cast<double>(i) * 137.50776, 360.0) / 60.0;
  const double s = 0.65, l = 0.45;
  const double c = (1.0 - std::fabs(2.0 * l - 1.0)) * s;
  const double x = c * (1.0 - std::fabs(std::fmod(h, 2.0) - 1.0));
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(h)) {
    case 0:
      r = c, g = x;
      break;
    case 1:
      r = x, g = c;
      break;
    case 2:
      g = c, b = x;
      break;
    case 3:
      g = x, b = c;
      break;
    case 4:
      r = x, b = c;
      break;
    default:
      r = c, b = x;
      break;
  }
  const double m = l - c / 2.0;
  auto byte = [m](double v) { return static_cast<int>(std::lround((v + m) * 255.0)); };
  return fmt::format("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b));
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  HCMSN_CHECK(std::isfinite(lo) && std::isfinite(hi), "axis range must be finite, got [", lo, ", ",
              hi, "]");
  HCMSN_CHECK(lo <= hi, "axis range must have lo <= hi, got [", lo, ", ", hi, "]");
  HCMSN_CHECK(target >= 1, "tick target must be >= 1, got ", target);
  // A range below the resolution of the values is drawn as a constant.
  if (hi - lo <= 1e-12 * std::max(std::fabs(lo), std::fabs(hi))) {
    const double mid = lo + (hi - lo) / 2;
    const double pad = mid == 0.0 ? 1.0 : std::fabs(mid) * 0.1;
    lo = mid - pad;
    hi = mid + pad;
  }
  const double range = hi - lo;
  HCMSN_CHECK(std::isfinite(range), "axis range [", lo, ", ", hi, "] is too wide to draw");
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm <= 1.0 ? 1.0 : norm <= 2.0 ? 2.0 : norm <= 5.0 ? 5.0 : 10.0) * mag;
  const double first = std::floor(lo / step + kTickSlack);
  const double last = std::ceil(hi / step - kTickSlack);
  HCMSN_ASSERT(last - first >= 1 && last - first <= 10.0 * target + 2, "tick count out of range: [",
               lo, ", ", hi, "] step ", step);
  std::vector<double> ticks;
  for (int k = 0; k <= static_cast<int>(last - first); ++k) {
    const double t = (first + k) * step;
    ticks.push_back(t == 0.0 ? 0.0 : t);  // no -0
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  HCMSN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo > 0.0 && lo <= hi,
              "a log axis needs 0 < lo <= hi, got [", lo, ", ", hi, "]");
  const int dlo = static_cast<int>(std::floor(std::log10(lo) + kTickSlack));
  int dhi = static_cast<int>(std::ceil(std::log10(hi) - kTickSlack));
  if (dhi <= dlo) dhi = dlo + 1;
  std::vector<double> ticks;
  if (dhi - dlo <= 2) {
    for (int e = dlo; e < dhi; ++e) {
      for (double m : {1.0, 2.0, 5.0}) ticks.push_back(m * std::pow(10.0, e));
    }
    ticks.push_back(std::pow(10.0, dhi));
    // Keep the smallest span of ticks that still covers [lo, hi].
    const double slack = 1.0 + kTickSlack;
    size_t begin = 0, end = ticks.size();
    while (begin + 1 < ticks.size() && ticks[begin + 1] <= lo * slack) ++begin;
    while (end - 1 > begin + 1 && ticks[end - 2] * slack >= hi) --end;
    return {ticks.begin() + static_cast<std::ptrdiff_t>(begin),
            ticks.begin() + static_cast<std::ptrdiff_t>(end)};
  }
  const int stride = (dhi - dlo + 5) / 6;
  int e = dlo;
  for (; e < dhi; e += stride) ticks.push_back(std::pow(10.0, e));
  ticks.push_back(std::pow(10.0, e));
  return ticks;
}

std::string format_tick(double value, double step) {
  step = std::fabs(step);
  if (!std::isfinite(value)) return "?";
  if (!(step > 0.0) || !std::isfinite(step)) step = std::fabs(value);
  if (std::fabs(value) < step * 1e-9 || value == 0.0) return "0";
  if (std::fabs(value) >= 1e6 || step < 1e-4) return fmt::format("{:g}", value);
  int decimals = 0;
  for (double scaled = step; decimals < 10; ++decimals, scaled *= 10.0) {
    if (std::fabs(scaled - std::round(scaled)) <= 1e-6 * scaled) break;
  }
  std::string s = fmt::format("{:.{}f}", value, decimals);
  if (s.find_first_not_of("-0.") == std::string::npos) s = "0";
  return s;
}

std::string svg_line_chart(const std::vector<Series>& series, const ChartOptions& options) {
  HCMSN_CHECK(options.width >= 200 && options.height >= 150,
              "chart size must be at least 200 x 150 pixels, got ", options.width, " x ",
              options.height);
  for (const Series& s : series) {
    HCMSN_CHECK(s.x.size() == s.y.size(), "series '", s.name, "' has ", s.x.size(),
                " x values but ", s.y.size(), " y values; give one y per x");
  }
  const bool log_y = options.log_y;

  // Data range over the drawable points.
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  double ymin = xmin, ymax = -xmin;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i], log_y)) continue;
      xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  }
  const bool has_data = xmin <= xmax;
  if (!has_data) xmin = 0.0, xmax = 1.0, ymin = log_y ? 1.0 : 0.0, ymax = log_y ? 10.0 : 1.0;

  // Legend rows (wrapped to the width) at the bottom.
  const double width = options.width;
  const double margin = 10.0;
  // An entry: a line sample (28 px), the name, a gap.
  const auto entry_width = [](const std::string& name) {
    return 28.0 + kCharWidth * static_cast<double>(utf8_length(name)) + 14;
  };
  std::vector<double> entry_widths;
  for (const auto& s : series) entry_widths.push_back(entry_width(s.name));
  const auto legend_rows = wrap_legend(entry_widths, width - 2 * margin);
  const double legend_h = legend_rows.empty() ? 0.0 : 16.0 * legend_rows.size() + 6.0;
  const double top = options.title.empty() ? 12.0 : 30.0;
  const double bottom = 20.0 + (options.x_label.empty() ? 0.0 : 16.0) + legend_h + 6.0;
  const double height = std::max<double>(options.height, top + bottom + 60.0);

  // Ticks first: the left margin depends on the width of the y labels.
  const double plot_h = height - top - bottom;
  std::vector<double> yticks =
      log_y ? log_ticks(ymin, ymax)
            : nice_ticks(ymin, ymax, std::max(2, static_cast<int>(plot_h / 45.0)));
  std::vector<std::string> ylabels;
  size_t ylabel_chars = 1;
  for (double t : yticks) {
    ylabels.push_back(format_tick(t, log_y ? t : tick_step(yticks)));
    ylabel_chars = std::max(ylabel_chars, ylabels.back().size());
  }
  const double left = 8.0 + kCharWidth * ylabel_chars + 8.0 + (options.y_label.empty() ? 0 : 18);
  const double right = 18.0;
  const double plot_w = width - left - right;
  std::vector<double> xticks = nice_ticks(xmin, xmax, std::max(2, static_cast<int>(plot_w / 80)));

  Frame f{left,          width - right,  top,           top + plot_h, xticks.front(),
          xticks.back(), yticks.front(), yticks.back(), log_y};
  if (log_y) f.ylo = std::log10(f.ylo), f.yhi = std::log10(f.yhi);

  std::string out = svg_open(width, height, options.title, "chart");

  // Grid, ticks and labels.
  out += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : xticks) {
    const double x = f.sx(t);
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", svg_coord(x),
                       svg_coord(f.y0), svg_coord(f.y1));
  }
  for (double t : yticks) {
    const double y = f.sy(t);
    out += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\"/>\n", svg_coord(y),
                       svg_coord(f.x0), svg_coord(f.x1));
  }
  out += "</g>\n";
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#555555\"/>\n",
      svg_coord(f.x0), svg_coord(f.y0), svg_coord(f.x1 - f.x0), svg_coord(f.y1 - f.y0));
  out += "<g fill=\"#333333\">\n";
  for (double t : xticks) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       svg_coord(f.sx(t)), svg_coord(f.y1 + 14), format_tick(t, tick_step(xticks)));
  }
  for (size_t i = 0; i < yticks.size(); ++i) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                       svg_coord(f.x0 - 5), svg_coord(f.sy(yticks[i]) + 4), xml_escape(ylabels[i]));
  }
  if (!options.x_label.empty()) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       svg_coord((f.x0 + f.x1) / 2), svg_coord(f.y1 + 30),
                       xml_escape(options.x_label));
  }
  if (!options.y_label.empty()) {
    const double x = 13.0, y = (f.y0 + f.y1) / 2;
    out += fmt::format(
        "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1})\">{2}"
        "</text>\n",
        svg_coord(x), svg_coord(y), xml_escape(options.y_label));
  }
  out += "</g>\n";
  if (!has_data) {
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n",
        svg_coord((f.x0 + f.x1) / 2), svg_coord((f.y0 + f.y1) / 2));
  }

  // Curves: a path that restarts (M) after every unusable point; markers where a point has no
  // drawn neighbour, and on every point of short series so that single epochs stay visible.
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const std::string color = palette_color(k);
    const size_t n = s.x.size();
    std::vector<bool> ok(n);
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) count += ok[i] = usable(s.x[i], s.y[i], log_y);
    if (count == 0) continue;
    std::string d;
    std::string markers;
    for (size_t i = 0; i < n; ++i) {
      if (!ok[i]) continue;
      const bool joined = i > 0 && ok[i - 1];
      d += fmt::format("{}{} {} ", joined ? "L" : "M", svg_coord(f.sx(s.x[i])),
                       svg_coord(f.sy(s.y[i])));
      const bool isolated = !joined && !(i + 1 < n && ok[i + 1]);
      if (isolated || count <= 40) {
        markers += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\"/>", svg_coord(f.sx(s.x[i])),
                               svg_coord(f.sy(s.y[i])));
      }
    }
    d.pop_back();
    out += fmt::format(
        "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" "
        "stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n",
        d, color);
    if (!markers.empty()) out += fmt::format("<g fill=\"{}\">{}</g>\n", color, markers);
  }

  // Legend.
  double ly = height - legend_h + 10.0;
  for (const auto& row : legend_rows) {
    double lx = margin;
    for (size_t i : row) {
      out += fmt::format(
          "<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"3\"/>"
          "<text x=\"{4}\" y=\"{5}\" fill=\"#333333\">{6}</text>\n",
          svg_coord(lx), svg_coord(lx + 20), svg_coord(ly), palette_color(i), svg_coord(lx + 25),
          svg_coord(ly + 4), xml_escape(series[i].name));
      lx += entry_widths[i];
    }
    ly += 16.0;
  }
  out += "</svg>\n";
  return out;
}

}  // namespace hcmsn::report
