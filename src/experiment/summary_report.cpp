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

// comparison_table (baseline_comparison.h) with the report's table style.
std::string comparison_html(const ComparisonTable& table) {
  std::string out = "<table class=\"metrics\">\n<thead><tr><th scope=\"col\">variant</th>";
  for (const auto& column : table.columns) {
    out += "<th scope=\"col\">" + report::html_escape(column) + "</th>";
  }
  out += "</tr></thead>\n<tbody>\n";
  for (size_t v = 0; v < table.variants.size(); ++v) {
    out += "<tr><th scope=\"row\">" + report::html_escape(table.variants[v]) + "</th>";
    for (const auto& cell : table.cells[v]) {
      out += "<td class=\"num\">" + report::html_escape(cell) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
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
  const ComparisonTable comparison = comparison_table(summary);
  if (!comparison.columns.empty()) {
    html.add_heading("mAP@all against the baseline");
    html.add_paragraph(comparison.legend());
    html.add_html(comparison_html(comparison));
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
