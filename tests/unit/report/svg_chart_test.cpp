// Line charts (hcmsn/report/svg_chart.h): tick generation against known answers and invariants
// over many ranges, label formatting, the palette, escaping, and the SVG itself — well formed
// (tests/unit/report/xml_check.h), finite numbers, lines broken at non-finite points, points
// inside the frame, and the y axis pointing up.
#include "hcmsn/report/svg_chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "hcmsn/util/check.h"
#include "support/test_support.h"
#include "unit/report/xml_check.h"

namespace hcmsn::report {
namespace {

using test::count_of;
using test::xml_problems;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The step of a tick list is 1, 2 or 5 times a power of ten.
bool is_nice_step(double step) {
  const double mag = std::pow(10.0, std::floor(std::log10(step) + 1e-12));
  const double m = step / mag;
  return std::fabs(m - 1) < 1e-9 || std::fabs(m - 2) < 1e-9 || std::fabs(m - 5) < 1e-9;
}

// The "d" attributes of all <path> elements.
std::vector<std::string> path_data(const std::string& svg) {
  std::vector<std::string> out;
  const std::regex re("<path d=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back((*it)[1]);
  return out;
}

// The (x, y) pairs of a path's "d" attribute.
std::vector<std::pair<double, double>> path_points(const std::string& d) {
  std::vector<std::pair<double, double>> out;
  const std::regex re("[ML]([-0-9.]+) ([-0-9.]+)");
  for (auto it = std::sregex_iterator(d.begin(), d.end(), re); it != std::sregex_iterator(); ++it)
    out.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  return out;
}

TEST(ReportXmlCheck, DetectsTheProblemsItIsMeantToDetect) {
  EXPECT_EQ(xml_problems("<svg><g></g><rect x=\"1\"/></svg>"), "");
  EXPECT_NE(xml_problems("<svg><g></svg>"), "");
  EXPECT_NE(xml_problems("<svg></g>"), "");
  EXPECT_NE(xml_problems("<svg x=1></svg>"), "");
  EXPECT_NE(xml_problems("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(xml_problems("<svg><text>a < b</text></svg>"), "");
  EXPECT_NE(xml_problems("<svg><circle cx=\"nan\"/></svg>"), "");
  EXPECT_NE(xml_problems("<svg><text>-inf</text></svg>"), "");
  EXPECT_EQ(xml_problems("<svg><text>banana &amp; info &#39;</text></svg>"), "");
}

TEST(ReportSvgChart, NiceTicksKnownAnswers) {
  const std::vector<double> a = nice_ticks(0.0, 1.0, 5);
  ASSERT_EQ(a.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], 0.2 * i, 1e-12);

  const std::vector<double> b = nice_ticks(-3.7, 12.2, 4);
  EXPECT_EQ(b, (std::vector<double>{-5, 0, 5, 10, 15}));

  // 0.3 / 0.1 is 2.9999999999999996 in floating point: no extra tick below 0.3.
  const std::vector<double> c = nice_ticks(0.3, 0.8, 5);
  ASSERT_EQ(c.size(), 6u);
  EXPECT_NEAR(c.front(), 0.3, 1e-12);
  EXPECT_NEAR(c.back(), 0.8, 1e-12);

  const std::vector<double> d = nice_ticks(0.0, 2000.0, 4);
  EXPECT_EQ(d, (std::vector<double>{0, 500, 1000, 1500, 2000}));
}

TEST(ReportSvgChart, NiceTicksCoverManyRangesWithOneTwoFiveSteps) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (int trial = 0; trial < 2000; ++trial) {
    const double scale = std::pow(10.0, std::uniform_int_distribution<int>(-8, 8)(rng));
    double lo = unit(rng) * scale, hi = unit(rng) * scale;
    if (lo > hi) std::swap(lo, hi);
    const int target = 2 + trial % 8;
    const std::vector<double> t = nice_ticks(lo, hi, target);
    ASSERT_GE(t.size(), 2u);
    const double step = t[1] - t[0];
    EXPECT_TRUE(is_nice_step(step)) << "step " << step << " for [" << lo << ", " << hi << "]";
    EXPECT_LE(t.front(), lo + 1e-9 * step) << lo << " " << hi;
    EXPECT_GE(t.back(), hi - 1e-9 * step) << lo << " " << hi;
    EXPECT_LE(static_cast<int>(t.size()) - 1, target + 2) << lo << " " << hi;
    EXPECT_GE(static_cast<double>(t.size() - 1), target / 2.5 - 1) << lo << " " << hi;
    for (size_t i = 1; i < t.size(); ++i) {
      EXPECT_NEAR(t[i] - t[i - 1], step, 1e-9 * step);
      EXPECT_NEAR(t[i] / step, std::round(t[i] / step), 1e-6);
    }
  }
}

TEST(ReportSvgChart, NiceTicksOfAConstantSurroundTheValue) {
  for (double v : {0.0, 2.0, -7.5, 1e-9, 3e12}) {
    const std::vector<double> t = nice_ticks(v, v);
    ASSERT_GE(t.size(), 2u);
    EXPECT_LT(t.front(), v);
    EXPECT_GT(t.back(), v);
  }
  // Below the resolution of the values: also treated as a constant, never an endless loop.
  const std::vector<double> t = nice_ticks(1e17, 1e17 + 16);
  EXPECT_GE(t.size(), 2u);
  EXPECT_LE(t.size(), 12u);
}

TEST(ReportSvgChart, NiceTicksRejectBadRanges) {
  EXPECT_TRUE(test::contains(test::error_of([] { nice_ticks(kNan, 1.0); }), "finite"));
  EXPECT_TRUE(test::contains(test::error_of([] { nice_ticks(0.0, kInf); }), "finite"));
  EXPECT_TRUE(test::contains(test::error_of([] { nice_ticks(2.0, 1.0); }), "lo <= hi"));
  EXPECT_TRUE(test::contains(test::error_of([] { nice_ticks(0.0, 1.0, 0); }), ">= 1"));
  EXPECT_TRUE(test::contains(test::error_of([] { nice_ticks(-1e308, 1e308); }), "too wide"));
}

TEST(ReportSvgChart, LogTicks) {
  EXPECT_EQ(log_ticks(1.0, 1000.0).size(), 4u);
  const std::vector<double> a = log_ticks(1.0, 1000.0);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], std::pow(10.0, i), 1e-9);
  const std::vector<double> b = log_ticks(0.3, 0.8);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_NEAR(b[0], 0.2, 1e-12);
  EXPECT_NEAR(b[1], 0.5, 1e-12);
  EXPECT_NEAR(b[2], 1.0, 1e-12);
  const std::vector<double> c = log_ticks(2e-4, 3e9);
  EXPECT_LE(c.front(), 2e-4);
  EXPECT_GE(c.back(), 3e9);
  EXPECT_LE(c.size(), 9u);
  EXPECT_THROW(log_ticks(0.0, 1.0), Error);
  EXPECT_THROW(log_ticks(-1.0, 1.0), Error);
  EXPECT_THROW(log_ticks(1.0, kInf), Error);
}

TEST(ReportSvgChart, FormatTick) {
  EXPECT_EQ(format_tick(0.30000000000000004, 0.1), "0.3");
  EXPECT_EQ(format_tick(-0.0, 1.0), "0");
  EXPECT_EQ(format_tick(1e-17, 0.1), "0");
  EXPECT_EQ(format_tick(2500.0, 500.0), "2500");
  EXPECT_EQ(format_tick(0.25, 0.25), "0.25");
  EXPECT_EQ(format_tick(-1.5, 0.5), "-1.5");
  EXPECT_EQ(format_tick(1.5e6, 5e5), "1.5e+06");
  EXPECT_EQ(format_tick(1e-5, 1e-5), "1e-05");
}

TEST(ReportSvgChart, PaletteIsFixedAndDistinct) {
  EXPECT_EQ(palette_color(0), "#1f77b4");
  EXPECT_EQ(palette_color(3), "#d62728");
  std::set<std::string> seen;
  const std::regex hex("#[0-9a-f]{6}");
  for (size_t i = 0; i < 60; ++i) {
    const std::string c = palette_color(i);
    EXPECT_TRUE(std::regex_match(c, hex)) << c;
    seen.insert(c);
  }
  EXPECT_EQ(seen.size(), 60u);
}

TEST(ReportSvgChart, XmlEscape) {
  EXPECT_EQ(xml_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(xml_escape("plain ünïcode"), "plain ünïcode");
}

TEST(ReportSvgChart, TypicalChartIsWellFormedWithOneLinePerSeries) {
  std::vector<Series> series(3);
  for (int k = 0; k < 3; ++k) {
    series[k].name = "loss " + std::to_string(k);
    for (int e = 0; e < 60; ++e) {
      series[k].x.push_back(e);
      series[k].y.push_back(std::exp(-0.05 * e) * (k + 1) + 0.01 * (e % 3));
    }
  }
  const std::string svg = svg_line_chart(series, {"Training losses", "epoch", "loss"});
  EXPECT_EQ(xml_problems(svg), "");
  EXPECT_EQ(count_of(svg, "<svg"), 1u);
  EXPECT_EQ(count_of(svg, "</svg>"), 1u);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  const std::vector<std::string> paths = path_data(svg);
  ASSERT_EQ(paths.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_TRUE(test::contains(svg, palette_color(k)));
    EXPECT_TRUE(test::contains(svg, ">loss " + std::to_string(k) + "<"));
    EXPECT_EQ(count_of(paths[k], "M"), 1u);
    EXPECT_EQ(count_of(paths[k], "L"), 59u);
    for (const auto& [x, y] : path_points(paths[k])) {
      EXPECT_GE(x, 0.0);
      EXPECT_LE(x, 480.0);
      EXPECT_GE(y, 0.0);
      EXPECT_LE(y, 300.0);
    }
  }
  // Decreasing data go down on screen: SVG y grows downwards.
  const auto pts = path_points(paths[0]);
  EXPECT_LT(pts.front().second, pts.back().second);
  EXPECT_LT(pts.front().first, pts.back().first);
}

TEST(ReportSvgChart, NonFinitePointsBreakTheLine) {
  Series s{"s", {0, 1, 2, 3, 4}, {1, 2, kNan, 4, 5}};
  std::string svg = svg_line_chart({s}, {});
  EXPECT_EQ(xml_problems(svg), "");
  std::vector<std::string> paths = path_data(svg);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(count_of(paths[0], "M"), 2u);
  EXPECT_EQ(count_of(paths[0], "L"), 2u);

  // Every other point missing: three isolated points, each drawn as a marker.
  s.y = {1, kInf, 3, -kInf, 5};
  s.x = {0, 1, 2, 3, kNan};
  svg = svg_line_chart({s}, {});
  EXPECT_EQ(xml_problems(svg), "");
  paths = path_data(svg);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(count_of(paths[0], "M"), 2u);
  EXPECT_EQ(count_of(paths[0], "L"), 0u);
  EXPECT_EQ(count_of(svg, "<circle"), 2u);
}

TEST(ReportSvgChart, SinglePointConstantAndEmpty) {
  const std::string one = svg_line_chart({{"one", {3.0}, {0.42}}}, {"t", "x", "y"});
  EXPECT_EQ(xml_problems(one), "");
  EXPECT_EQ(count_of(one, "<circle"), 1u);

  Series flat{"flat", {0, 1, 2, 3}, {2, 2, 2, 2}};
  Series vertical{"vertical", {5, 5}, {1, 3}};
  for (const Series& s : {flat, vertical}) {
    const std::string svg = svg_line_chart({s}, {});
    EXPECT_EQ(xml_problems(svg), "") << s.name;
    ASSERT_EQ(path_data(svg).size(), 1u);
  }

  const std::string empty_series = svg_line_chart({{"nothing yet", {}, {}}}, {"t", "x", "y"});
  EXPECT_EQ(xml_problems(empty_series), "");
  EXPECT_TRUE(test::contains(empty_series, "no data"));
  EXPECT_TRUE(test::contains(empty_series, "nothing yet"));
  EXPECT_EQ(path_data(empty_series).size(), 0u);

  const std::string none = svg_line_chart({}, {});
  EXPECT_EQ(xml_problems(none), "");
  EXPECT_TRUE(test::contains(none, "no data"));
}

TEST(ReportSvgChart, LogAxisSkipsNonPositiveValues) {
  const Series s{"lr", {0, 1, 2, 3, 4}, {0, 1, 10, -1, 100}};
  ChartOptions options;
  options.log_y = true;
  const std::string svg = svg_line_chart({s}, options);
  EXPECT_EQ(xml_problems(svg), "");
  const std::vector<std::string> paths = path_data(svg);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(count_of(paths[0], "M"), 2u);
  EXPECT_EQ(count_of(paths[0], "L"), 1u);
  // Equal ratios are equal distances on a log axis: 1 -> 10 -> 100.
  const auto p = path_points(paths[0]);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_NEAR(p[0].second - p[1].second, p[1].second - p[2].second, 0.02);
}

TEST(ReportSvgChart, EscapesEveryUserString) {
  const std::string nasty = "<b>&\"'x";
  const std::string escaped = "&lt;b&gt;&amp;&quot;&#39;x";
  const std::string svg =
      svg_line_chart({{nasty, {0, 1}, {0, 1}}}, {nasty + "title", nasty + "xl", nasty + "yl"});
  EXPECT_EQ(xml_problems(svg), "");
  EXPECT_FALSE(test::contains(svg, "<b>"));
  for (const char* suffix : {"", "title", "xl", "yl"}) {
    EXPECT_TRUE(test::contains(svg, escaped + suffix)) << suffix;
  }
}

TEST(ReportSvgChart, RejectsBadInput) {
  EXPECT_TRUE(test::contains(test::error_of([] {
                               svg_line_chart({{"bad", {1, 2}, {1}}}, {});
                             }),
                             "'bad'"));
  ChartOptions tiny;
  tiny.width = 50;
  EXPECT_TRUE(test::contains(test::error_of([&] { svg_line_chart({}, tiny); }), "at least"));
}

TEST(ReportSvgChart, ManySeriesWrapTheLegendAndGrowTheHeight) {
  std::vector<Series> series;
  for (int k = 0; k < 40; ++k)
    series.push_back(
        {"a long series name " + std::to_string(k), {0, 1}, {0.0, static_cast<double>(k)}});
  const std::string svg = svg_line_chart(series, {});
  EXPECT_EQ(xml_problems(svg), "");
  EXPECT_EQ(path_data(svg).size(), 40u);
  const std::regex h("height=\"([0-9.]+)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, h));
  EXPECT_GT(std::stod(m[1]), 300.0);
}

}  // namespace
}  // namespace hcmsn::report
