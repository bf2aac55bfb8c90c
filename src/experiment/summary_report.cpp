#include "hcmsn/experiment/summary_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "hcmsn/experiment/baseline_comparison.h"
#include "hcmsn/report/bar_chart.h"
#include "hcmsn/report/html_report.h"

namespace hcmsn::experiment {
namespace {

// The table of summary.md with the report's table style; cells are preformatted text.
std::string table_html(const EvaluationSummary& e) {
  std::string out = "<table class=\"metrics\">\n<thead><tr><th scope=\"col\">protocol: " +
                    report::html_escape(e.protocol) + "</th>";
  for (const auto& m : e.metrics) {
    out += "<th scope=\"col\">" + report::html_escape(metric_label(m)) + "</th>";
  }
  out += "<th scope=\"col\">results</th></tr></thead>\n<tbody>\n";
  for (const auto& row : e.rows) {
    out += "<tr><th scope=\"row\">" +
           report::html_escape(row.name + (row.baseline ? " (baseline)" : "")) + "</th>";
    for (const auto& s : row.metrics) {
      out += "<td class=\"num\">" + report::html_escape(format_cell(s)) + "</td>";
    }
    out += fmt::format("<td class=\"num\">{}</td></tr>\n", row.labels.size());
  }
  return out + "</tbody>\n</table>\n";
}

std::string chart_svg(const EvaluationSummary& e) {
  std::vector<std::string> groups;
  for (const auto& m : e.metrics) groups.push_back(metric_label(m));
  std::vector<report::BarSeries> series;
  for (const auto& row : e.rows) {
    report::BarSeries s{row.name + (row.baseline ? " (baseline)" : ""), {}, {}};
    for (const auto& m : row.metrics) {
      s.values.push_back(m.mean);
      s.errors.push_back(m.std);
    }
    series.push_back(std::move(s));
  }
  report::ChartOptions options;
  options.title = e.name + " (protocol: " + e.protocol + ")";
  options.y_label = "mean over seeds";
  // Wide enough for the bars, narrow enough that the page does not scale the text down.
  options.width =
      static_cast<int>(std::clamp<size_t>(60 * groups.size() * (series.size() + 1), 560, 960));
  options.height = 320;
  return report::svg_bar_chart(groups, series, options);
}

// The variants against each evaluation's first baseline (baseline_comparison.h); "" without one.
std::string comparison_html(const ExperimentSummary& summary) {
  std::vector<std::string> variants;
  std::string head, body;
  std::vector<std::vector<std::pair<std::string, std::string>>> columns;  // (variant, cell)
  for (const auto& e : summary.evaluations) {
    const auto comparisons = compare_with_baseline(e);
    std::vector<std::pair<std::string, std::string>> column;
    for (size_t r = 0; r < e.rows.size(); ++r) {
      if (!comparisons[r]) continue;
      column.emplace_back(e.rows[r].name, format_comparison(*comparisons[r]));
      if (std::find(variants.begin(), variants.end(), e.rows[r].name) == variants.end()) {
        variants.push_back(e.rows[r].name);
      }
    }
    if (column.empty()) continue;
    head += "<th scope=\"col\">" + report::html_escape(e.name) + "</th>";
    columns.push_back(std::move(column));
  }
  if (columns.empty()) return "";
  for (const auto& name : variants) {
    body += "<tr><th scope=\"row\">" + report::html_escape(name) + "</th>";
    for (const auto& column : columns) {
      std::string cell = "–";
      for (const auto& [variant, text] : column) {
        if (variant == name) cell = text;
      }
      body += "<td class=\"num\">" + report::html_escape(cell) + "</td>";
    }
    body += "</tr>\n";
  }
  return "<table class=\"metrics\">\n<thead><tr><th scope=\"col\">variant</th>" + head +
         "</tr></thead>\n<tbody>\n" + body + "</tbody>\n</table>\n";
}

report::HtmlReport build_report(const ExperimentSummary& summary) {
  report::HtmlReport html(summary.title.empty() ? "hcmsn experiment" : summary.title);
  std::string seeds;
  for (uint64_t s : summary.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(s);
  html.add_paragraph(fmt::format(
      "Every variant trained with seeds {} and evaluated at its {} checkpoint; the baselines are "
      "the untrained features on the same queries and gallery. Cells: mean ± sample standard "
      "deviation (min–max) over the seeds; error bars: ± one standard deviation.",
      seeds, summary.checkpoint));
  const std::string comparison = comparison_html(summary);
  if (!comparison.empty()) {
    html.add_heading("mAP@all against the baseline");
    html.add_paragraph(
        "The variant's mean minus the evaluation's first baseline row, the seeds' spread (sample "
        "standard deviation), the seeds ahead of that baseline, and the verdict: ahead or behind "
        "by more than the spread, else level.");
    html.add_html(comparison);
  }
  for (const auto& e : summary.evaluations) {
    html.add_heading(e.name);
    html.add_paragraph(fmt::format("Protocol: {}. {} sketch queries, gallery of {} photos. {}",
                                   e.protocol, e.num_queries, e.num_gallery,
                                   e.protocol_description));
    html.add_html(table_html(e));
    html.add_figure(chart_svg(e), e.name + ": mean ± std over the seeds");
  }
  return html;
}

}  // namespace

std::string summary_report_html(const ExperimentSummary& summary) {
  return build_report(summary).str();
}

void write_summary_report(const std::string& path, const ExperimentSummary& summary) {
  build_report(summary).write(path);
}

}  // namespace hcmsn::experiment
