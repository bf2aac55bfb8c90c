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

std::string ComparisonTable::legend() const {
  return fmt::format(
      "Each cell: the variant's mean minus the evaluation's first baseline row ({}), the seeds' "
      "spread (sample std), the seeds ahead of that baseline, and the verdict: ahead or behind by "
      "more than the spread, else level.",
      baseline);
}

ComparisonTable comparison_table(const ExperimentSummary& summary) {
  ComparisonTable table;
  // Per column: the variants' cells by name.
  std::vector<std::vector<std::pair<std::string, std::string>>> columns;
  for (const auto& e : summary.evaluations) {
    const auto comparisons = compare_with_baseline(e);
    std::vector<std::pair<std::string, std::string>> column;
    std::string baseline;
    for (size_t r = 0; r < e.rows.size(); ++r) {
      if (!comparisons[r]) continue;
      baseline = comparisons[r]->baseline;
      column.emplace_back(e.rows[r].name, format_comparison(*comparisons[r]));
      if (std::find(table.variants.begin(), table.variants.end(), e.rows[r].name) ==
          table.variants.end()) {
        table.variants.push_back(e.rows[r].name);
      }
    }
    if (column.empty()) continue;
    if (table.baseline.empty()) table.baseline = baseline;
    table.columns.push_back(e.name +
                            (baseline == table.baseline ? "" : " (against " + baseline + ")"));
    columns.push_back(std::move(column));
  }
  for (const auto& name : table.variants) {
    std::vector<std::string> row;
    for (const auto& column : columns) {
      const auto at = std::find_if(column.begin(), column.end(),
                                   [&](const auto& cell) { return cell.first == name; });
      row.push_back(at == column.end() ? "–" : at->second);
    }
    table.cells.push_back(std::move(row));
  }
  return table;
}

std::string comparison_markdown(const ExperimentSummary& summary) {
  const ComparisonTable table = comparison_table(summary);
  if (table.columns.empty()) return "";
  std::string out = "\n## mAP@all against the baseline\n\n" + table.legend() + "\n\n| variant |";
  std::string rule = "|---|";
  for (const auto& column : table.columns) {
    out += " " + column + " |";
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  for (size_t v = 0; v < table.variants.size(); ++v) {
    out += "| " + table.variants[v] + " |";
    for (const auto& cell : table.cells[v]) out += " " + cell + " |";
    out += "\n";
  }
  return out;
}

}  // namespace hcmsn::experiment
