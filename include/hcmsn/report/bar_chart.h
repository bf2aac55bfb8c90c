// Grouped bar charts with error bars as standalone SVG elements (the experiment report: one
// group per metric, one bar per method, ± the standard deviation over seeds). Same output
// contract and building blocks as svg_chart.h.
#pragma once

#include <string>
#include <vector>

#include "hcmsn/report/svg_chart.h"

namespace hcmsn::report {

/// One bar per group: values[g] is the bar's height in group g, errors[g] the half-length of
/// its error bar (0: none). errors may be empty (no error bars). A non-finite value draws no bar
/// (and no error bar); a non-finite or negative error draws no error bar.
struct BarSeries {
  std::string name;
  std::vector<double> values;
  std::vector<double> errors;
};

/// Bars grouped along the x axis (a label under each group), a y axis from 0 (or below, for
/// negative values) to the largest value plus its error, a legend with one entry per series.
/// Handles no groups or no series (an empty frame saying "no data"). Throws hcmsn::Error when a
/// series has not one value per group, errors of another length, or the size is too small
/// (ChartOptions: at least 200 × 150; log_y is not supported for bars).
std::string svg_bar_chart(const std::vector<std::string>& groups,
                          const std::vector<BarSeries>& series, const ChartOptions& options);

}  // namespace hcmsn::report
