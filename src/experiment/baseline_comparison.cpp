#include "hcmsn/experiment/baseline_comparison.h"

#include <fmt/format.h>

#include <algorithm>

namespace hcmsn::experiment {

std::vector<std::optional<BaselineComparison>> compare_with_baseline(
    const EvaluationSummary& evaluation, const std::string& metric) {
  std::vector<std::optional<BaselineComparison>> out(evaluation.rows.size());
  const auto column = std::find(evaluation.metrics.begin(), evaluation.metrics.end(), metric);
  const auto baseline = std::find_if(evaluation.rows.begin(), evaluation.rows.end(),
                                     [](const SummaryRow& row) { return row.baseline; });
  if (column == evaluation.metrics.end() || baseline == evaluation.rows.end()) return out;
  const auto m = static_cast<size_t>(column - evaluation.metrics.begin());
  const double reference = baseline->metrics[m].mean;
  for (size_t r = 0; r < evaluation.rows.size(); ++r) {
    const SummaryRow& row = evaluation.rows[r];
    if (row.baseline) continue;
    const MetricStats& stats = row.metrics[m];
    BaselineComparison c;
    c.baseline = baseline->name;
    c.metric = metric;
    c.difference = stats.mean - reference;
    c.spread = stats.std;
    c.seeds = static_cast<int64_t>(stats.values.size());
    c.seeds_ahead = std::count_if(stats.values.begin(), stats.values.end(),
                                  [&](double v) { return v > reference; });
    c.verdict = c.difference > c.spread ? "ahead" : c.difference < -c.spread ? "behind" : "level";
    out[r] = c;
  }
  return out;
}

std::string format_comparison(const BaselineComparison& c) {
  return fmt::format("{:+.4f} (spread {:.4f}, {}/{} seeds): {}", c.difference, c.spread,
                     c.seeds_ahead, c.seeds, c.verdict);
}

std::string comparison_markdown(const ExperimentSummary& summary) {
  std::vector<const EvaluationSummary*> columns;
  std::vector<std::vector<std::optional<BaselineComparison>>> cells;
  std::string baseline;
  for (const auto& e : summary.evaluations) {
    auto c = compare_with_baseline(e);
    const auto first =
        std::find_if(c.begin(), c.end(), [](const auto& x) { return x.has_value(); });
    if (first == c.end()) continue;
    if (baseline.empty()) baseline = (*first)->baseline;
    columns.push_back(&e);
    cells.push_back(std::move(c));
  }
  if (columns.empty()) return "";
  // Variants in the order of their first appearance.
  std::vector<std::string> variants;
  for (const auto* e : columns) {
    for (const auto& row : e->rows) {
      if (!row.baseline &&
          std::find(variants.begin(), variants.end(), row.name) == variants.end()) {
        variants.push_back(row.name);
      }
    }
  }
  std::string out = fmt::format(
      "\n## mAP@all against the baseline\n\nEach cell: the variant's mean minus the "
      "evaluation's first baseline row ({}), the seeds' spread (sample std), the seeds ahead of "
      "that baseline, and the verdict: ahead or behind by more than the spread, else level.\n\n| "
      "variant |",
      baseline);
  std::string rule = "|---|";
  for (size_t c = 0; c < columns.size(); ++c) {
    const auto first =
        std::find_if(cells[c].begin(), cells[c].end(), [](const auto& x) { return x.has_value(); });
    out += " " + columns[c]->name +
           ((*first)->baseline == baseline ? "" : " (against " + (*first)->baseline + ")") + " |";
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  for (const auto& name : variants) {
    out += "| " + name + " |";
    for (size_t c = 0; c < columns.size(); ++c) {
      std::string cell = "–";
      for (size_t r = 0; r < columns[c]->rows.size(); ++r) {
        if (columns[c]->rows[r].name == name && cells[c][r]) cell = format_comparison(*cells[c][r]);
      }
      out += " " + cell + " |";
    }
    out += "\n";
  }
  return out;
}

}  // namespace hcmsn::experiment
