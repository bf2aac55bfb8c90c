// A variant against the untrained baseline, the way issue 11 judges it: the difference of the
// variant's mean mAP@all over the seeds from the evaluation's first baseline row, set against the
// seeds' spread (the variant's sample standard deviation). "ahead" means ahead by more than the
// spread, "behind" behind by more than it, "level" anything inside it. With a single seed the
// spread is 0, so any difference decides.
//
// summary.md opens with these cells (one row per variant, one column per evaluation), summary.json
// gives every variant row a "versus" object and report.html the same table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hcmsn/experiment/summary.h"

namespace hcmsn::experiment {

struct BaselineComparison {
  std::string baseline;     // the baseline row's name
  std::string metric;       // "map_all"
  double difference = 0.0;  // variant mean − baseline mean
  double spread = 0.0;      // the variant's sample std over its seeds
  int64_t seeds_ahead = 0;  // seeds whose value is above the baseline's mean
  int64_t seeds = 0;
  std::string verdict;  // "ahead", "level" or "behind"
};

/// One entry per row of `evaluation`: empty for baseline rows, and for every row when the
/// evaluation has no baseline row or no `metric` column.
std::vector<std::optional<BaselineComparison>> compare_with_baseline(
    const EvaluationSummary& evaluation, const std::string& metric = "map_all");

/// "+0.0190 (spread 0.0132, 3/3 seeds): ahead".
std::string format_comparison(const BaselineComparison& comparison);

/// The overview over a whole experiment, as summary.md and report.html show it: a column per
/// evaluation with a baseline, a row per variant (in the order of first appearance), each cell
/// format_comparison or "–" where the variant is not in that evaluation.
struct ComparisonTable {
  std::string baseline;              // the first column's baseline row
  std::vector<std::string> columns;  // evaluation names, "(against B)" where B differs
  std::vector<std::string> variants;
  std::vector<std::vector<std::string>> cells;  // [variant][column]
  /// The sentence that says what a cell holds.
  std::string legend() const;
};
/// Empty (no columns) when no evaluation has a baseline.
ComparisonTable comparison_table(const ExperimentSummary& summary);

/// The table of comparison_table as a summary.md section; "" when it has no columns.
std::string comparison_markdown(const ExperimentSummary& summary);

}  // namespace hcmsn::experiment
