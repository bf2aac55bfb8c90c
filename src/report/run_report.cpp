#include "hcmsn/report/run_report.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "hcmsn/data/image_folder.h"
#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/report/html_report.h"
#include "hcmsn/report/poincare_disk_plot.h"
#include "hcmsn/report/svg_chart.h"
#include "hcmsn/util/check.h"

namespace hcmsn::report {
namespace {

std::vector<std::string> metric_columns(const metrics::RetrievalResult& r) {
  std::vector<std::string> columns = {"mAP@all"};
  for (const int64_t k : r.ks) columns.push_back(fmt::format("Prec@{}", k));
  for (const int64_t k : r.ks) columns.push_back(fmt::format("mAP@{}", k));
  return columns;
}

MetricsRow metrics_row(const std::string& name, const metrics::RetrievalResult& r) {
  MetricsRow row{name, {{"mAP@all", r.map_all}}};
  for (size_t i = 0; i < r.ks.size(); ++i) {
    row.values[fmt::format("Prec@{}", r.ks[i])] = r.prec_at[i];
    row.values[fmt::format("mAP@{}", r.ks[i])] = r.map_at[i];
  }
  return row;
}

// One series per run of `value(record)` against the epoch; records without it are skipped.
template <class Value>
std::vector<Series> curves(const std::vector<ReportRun>& runs, const std::string& suffix,
                           Value value) {
  std::vector<Series> series;
  for (const auto& run : runs) {
    Series s{run.name + suffix, {}, {}};
    for (const auto& record : run.history) {
      const double v = value(record);
      if (std::isfinite(v)) {
        s.x.push_back(record.value("epoch", 0.0));
        s.y.push_back(v);
      }
    }
    if (!s.x.empty()) series.push_back(std::move(s));
  }
  return series;
}

bool readable_images(const std::vector<std::string>& ids) {
  return !ids.empty() && data::is_image_file_name(std::filesystem::path(ids.front()).filename()) &&
         std::filesystem::exists(ids.front());
}

std::string retrieval_grid(const ReportRun& run, const RunReportOptions& options) {
  const auto& split = run.split;
  if (!readable_images(split.query_ids) || !readable_images(split.gallery_ids)) return {};
  const torch::Tensor d = geometry::distance_matrix(
      split.queries.to(torch::kFloat64), split.gallery.to(torch::kFloat64), split.curvature);
  // The first query of each class, classes in order of appearance.
  std::vector<int64_t> picks;
  std::map<std::string, bool> seen;
  for (size_t q = 0;
       q < split.query_labels.size() && static_cast<int>(picks.size()) < options.grid_queries;
       ++q) {
    if (seen.emplace(split.query_labels[q], true).second) picks.push_back(static_cast<int64_t>(q));
  }
  std::vector<GridRow> rows;
  const int64_t k = std::min<int64_t>(options.grid_hits, split.gallery.size(0));
  for (const int64_t q : picks) {
    GridRow row;
    row.query_class = split.query_labels[q];
    row.query_uri = image_data_uri_from_file(split.query_ids[q], options.thumbnail_side);
    // Stable ranking: ties go to the lower gallery index, as in the metrics.
    const auto order = std::get<1>(d[q].sort(/*stable=*/true, 0, false)).narrow(0, 0, k);
    for (int64_t i = 0; i < k; ++i) {
      const int64_t g = order[i].item<int64_t>();
      row.hits.push_back({image_data_uri_from_file(split.gallery_ids[g], options.thumbnail_side),
                          split.gallery_labels[g], d[q][g].item<double>(),
                          split.gallery_labels[g] == row.query_class});
    }
    rows.push_back(std::move(row));
  }
  return html_retrieval_grid(rows);
}

}  // namespace

void write_run_report(const std::string& path, const std::vector<ReportRun>& runs,
                      const RunReportOptions& options) {
  HCMSN_CHECK(!runs.empty(), "a report needs at least one run");
  HtmlReport page(options.title);
  if (!options.summary.empty()) page.add_paragraph(options.summary);

  page.add_heading("Zero-shot retrieval on the unseen classes");
  std::vector<MetricsRow> rows;
  for (const auto& run : runs) rows.push_back(metrics_row(run.name, run.result));
  if (options.chance_map_all >= 0) {
    rows.push_back({"chance (random ranking)", {{"mAP@all", options.chance_map_all}}});
  }
  const auto& first = runs.front().result;
  page.add_html(html_metrics_table(metric_columns(first), rows));
  const std::string source = first.protocol.source();
  page.add_paragraph(fmt::format("{} sketch queries against {} photos; protocol {}: {}{}",
                                 first.num_queries, first.num_gallery, first.protocol.name(),
                                 first.protocol.description(),
                                 source.empty() ? "" : " Source: " + source + "."));
  if (options.chance_map_all > 0) {
    std::string ratios;
    for (const auto& run : runs) {
      ratios += fmt::format("{}{}: {:.1f}× chance", ratios.empty() ? "" : "; ", run.name,
                            run.result.map_all / options.chance_map_all);
    }
    page.add_paragraph(ratios + ".");
  }

  page.add_heading("Training");
  ChartOptions loss_chart{"training loss (generator total)", "epoch", "loss", 520, 320, false};
  page.add_figure(svg_line_chart(curves(runs, "",
                                        [](const nlohmann::json& r) {
                                          return r["loss"].value("total", std::nan(""));
                                        }),
                                 loss_chart),
                  "Mean generator loss per epoch.");
  ChartOptions map_chart{"held-out mAP@all", "epoch", "mAP@all", 520, 320, false};
  auto map_series = curves(runs, "", [](const nlohmann::json& r) {
    if (r.contains("validation")) return r["validation"].value("map_all", std::nan(""));
    return r.contains("unseen") ? r["unseen"].value("map_all", std::nan("")) : std::nan("");
  });
  if (options.chance_map_all >= 0 && !map_series.empty()) {
    Series chance{"chance", map_series.front().x,
                  std::vector<double>(map_series.front().x.size(), options.chance_map_all)};
    map_series.push_back(std::move(chance));
  }
  page.add_figure(
      svg_line_chart(map_series, map_chart),
      "Zero-shot mAP@all after each epoch: on the validation classes (seen classes held out of "
      "training) when the run has them, else on the unseen classes.");

  for (const auto& run : runs) {
    const std::string grid = retrieval_grid(run, options);
    if (grid.empty()) continue;
    page.add_heading("Retrieval examples: " + run.name);
    page.add_html(grid);
  }

  for (const auto& run : runs) {
    if (run.split.curvature <= 0) continue;
    page.add_heading("Unseen-class embeddings on the Poincaré disk: " + run.name);
    torch::Tensor h = torch::cat({run.split.queries, run.split.gallery});
    std::vector<std::string> names = run.split.query_labels;
    names.insert(names.end(), run.split.gallery_labels.begin(), run.split.gallery_labels.end());
    const metrics::Labels encoded = metrics::encode_labels(names, names);
    std::vector<int64_t> modality(run.split.query_labels.size(), model::kSketch);
    modality.resize(names.size(), model::kPhoto);
    DiskPlotOptions disk;
    disk.title = run.name + fmt::format(", c = {:g}", run.split.curvature);
    disk.max_points = options.disk_max_points;
    disk.modality = &modality;
    page.add_figure(
        svg_poincare_disk(h, encoded.query, encoded.class_names, run.split.curvature, disk),
        "Each point keeps its hyperbolic distance from the origin; directions come "
        "from a PCA in the tangent space at the origin. Sketches and photos have "
        "different markers.");
    break;
  }
  page.write(path);
}

}  // namespace hcmsn::report
