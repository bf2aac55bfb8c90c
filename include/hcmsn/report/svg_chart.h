// Line charts as standalone SVG elements (training curves in report.html), plus the small
// building blocks the other report pieces share: XML escaping, number formatting, "nice" axis
// ticks and a fixed colour palette.
//
// Output contract: every function returns well-formed XML text (balanced tags, quoted
// attributes, user strings escaped) whose numeric attributes are finite; no scripts, no external
// resources, so the SVG can be inlined in HTML or saved as a .svg file as it is.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hcmsn::report {

/// One curve: points (x[i], y[i]) in order. x and y must have the same length. Points with a
/// non-finite coordinate (or y ≤ 0 on a log axis) are skipped and break the line there.
struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct ChartOptions {
  std::string title, x_label, y_label;
  int width = 480, height = 300;  // pixels of the whole SVG (legend included); ≥ 200 × 150
  bool log_y = false;             // logarithmic y axis (decades, 1-2-5 within short ranges)
};

/// Escapes & < > " ' for XML/HTML text and attribute values.
std::string xml_escape(const std::string& text);

/// Colour i of the palette as "#rrggbb": the 10 Tableau colours, then golden-angle hues, so
/// every index gets a colour and neighbours differ.
std::string palette_color(std::size_t i);

/// A pixel coordinate as SVG text (2 decimals); internal error when not finite.
std::string svg_coord(double v);

/// The opening of a standalone figure shared by every hcmsn SVG: the <svg> element (system font,
/// 11 px), a <title> (`title`, or `fallback_title` when empty), a white background and, when
/// `title` is not empty, the heading. Close it with "</svg>".
std::string svg_open(double width, double height, const std::string& title,
                     const std::string& fallback_title);

/// Rough advance of one character at the figures' 11 px font, in pixels (layout only).
inline constexpr double kCharWidth = 6.6;

/// Number of characters (UTF-8 code points) of `text`, for layout.
std::size_t utf8_length(const std::string& text);

/// Legend entries of the given widths laid out in rows no wider than `available` (each row holds
/// at least one entry): the entry indices of every row, in order.
std::vector<std::vector<std::size_t>> wrap_legend(const std::vector<double>& widths,
                                                  double available);

/// "Nice" tick values covering [lo, hi]: multiples of a step 1, 2 or 5 × 10^k chosen so that
/// about `target` intervals (≥ 1) span the range; the first tick is ≤ lo and the last ≥ hi.
/// (both up to rounding). lo == hi gets a small range around the value. Throws hcmsn::Error for
/// non-finite input or lo > hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

/// Tick values of a log10 axis covering [lo, hi] (0 < lo ≤ hi): powers of ten, with 2 and 5
/// between them when the range spans at most two decades, and every n-th decade when it spans
/// many. Throws hcmsn::Error unless 0 < lo ≤ hi and both are finite.
std::vector<double> log_ticks(double lo, double hi);

/// A tick label: as many decimals as the tick step needs ("0.25", "1e-06" style for very small
/// or large values), never "-0".
std::string format_tick(double value, double step);

/// A line chart with axes, tick labels, axis labels, title and a legend (one entry per series,
/// also for empty ones). Handles empty input (an empty frame that says "no data"), a single
/// point (drawn as a marker), and constant x or y. Throws hcmsn::Error when a series' x and y
/// differ in length or the size is too small.
std::string svg_line_chart(const std::vector<Series>& series, const ChartOptions& options);

}  // namespace hcmsn::report
