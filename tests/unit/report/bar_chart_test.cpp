// Grouped bar charts (hcmsn/report/bar_chart.h): well-formed SVG with one bar per finite value,
// error bars where asked, escaped names, and clear errors for inconsistent input.
#include "hcmsn/report/bar_chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "hcmsn/util/check.h"
#include "support/test_support.h"
#include "unit/report/xml_check.h"

namespace hcmsn::report {
namespace {

using test::contains;
using test::count_of;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(ReportBarChart, OneBarPerFiniteValueAndErrorBarsWhereAsked) {
  const std::vector<BarSeries> series = {{"baseline", {0.2, 0.3, kNaN}, {}},
                                         {"hcmsn", {0.4, 0.5, 0.6}, {0.05, 0.0, 0.1}}};
  ChartOptions options;
  options.title = "standard";
  const std::string svg = svg_bar_chart({"mAP@all", "P@100", "mAP@100"}, series, options);
  EXPECT_EQ(test::xml_problems(svg), "");
  // One <rect> per bar with a <title>, plus the background, the frame and two legend swatches.
  EXPECT_EQ(count_of(svg, "<title>baseline: "), 2u);
  EXPECT_EQ(count_of(svg, "<title>hcmsn: "), 3u);
  EXPECT_TRUE(contains(svg, "<title>hcmsn: 0.4000 ± 0.0500</title>"));
  EXPECT_TRUE(contains(svg, "<title>hcmsn: 0.5000</title>"));  // error 0: no error bar
  // Error bars: one path per positive error.
  EXPECT_EQ(count_of(svg, "<path d="), 2u);
  EXPECT_TRUE(contains(svg, ">mAP@all</text>"));
  EXPECT_FALSE(contains(svg, "no data"));
}

TEST(ReportBarChart, EmptyInputDrawsAFrameThatSaysNoData) {
  const std::string svg = svg_bar_chart({}, {}, {});
  EXPECT_EQ(test::xml_problems(svg), "");
  EXPECT_TRUE(contains(svg, "no data"));
  const std::string nan_only = svg_bar_chart({"a"}, {{"x", {kNaN}, {}}}, {});
  EXPECT_EQ(test::xml_problems(nan_only), "");
  EXPECT_TRUE(contains(nan_only, "no data"));
}

TEST(ReportBarChart, NegativeValuesGrowDownFromZeroAndNamesAreEscaped) {
  const std::string svg = svg_bar_chart({"<g>"}, {{"a&b", {-0.5}, {0.1}}}, {});
  EXPECT_EQ(test::xml_problems(svg), "");
  EXPECT_TRUE(contains(svg, "&lt;g&gt;"));
  EXPECT_TRUE(contains(svg, "a&amp;b"));
  EXPECT_TRUE(contains(svg, ">0</text>"));  // the zero line has a tick
}

TEST(ReportBarChart, RejectsInconsistentInput) {
  const auto message = [](const std::function<void()>& f) { return test::error_of(f); };
  EXPECT_TRUE(contains(message([] {
                         svg_bar_chart({"a", "b"}, {{"x", {1.0}, {}}}, {});
                       }),
                       "1 values for 2 groups"));
  EXPECT_TRUE(contains(message([] {
                         svg_bar_chart({"a"}, {{"x", {1.0}, {0.1, 0.2}}}, {});
                       }),
                       "2 errors for 1 groups"));
  ChartOptions tiny;
  tiny.width = 100;
  EXPECT_TRUE(contains(message([&] { svg_bar_chart({}, {}, tiny); }), "at least 200 x 150"));
  ChartOptions log;
  log.log_y = true;
  EXPECT_TRUE(contains(message([&] { svg_bar_chart({}, {}, log); }), "linear y axis"));
}

}  // namespace
}  // namespace hcmsn::report
