// The HTML report of one or more trained runs on the same evaluation classes (the demo compares
// HCMSN with its Euclidean variant): a metrics table with the chance level, training curves from
// each run's log, retrieval grids of sample sketch queries with hits and misses marked, and the
// evaluation embeddings of the first hyperbolic run drawn on the Poincaré disk.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/train/retrieval_eval.h"

namespace hcmsn::report {

struct ReportRun {
  std::string name;
  /// The run's log.jsonl records (train/trainer.h), one per epoch.
  nlohmann::json history = nlohmann::json::array();
  metrics::RetrievalResult result;
  /// The evaluated embeddings; query_ids / gallery_ids are image paths for the grids (grids are
  /// left out when they are not readable images, e.g. for cached features).
  train::SplitEmbeddings split;
};

struct RunReportOptions {
  std::string title = "hcmsn report";
  /// Free text under the title (escaped).
  std::string summary;
  /// The chance mAP@all, shown as a row of the table when ≥ 0.
  double chance_map_all = -1.0;
  /// Sample queries in each grid (one per class, classes in order) and hits per query.
  int grid_queries = 6;
  int grid_hits = 8;
  int thumbnail_side = 64;
  int64_t disk_max_points = 800;
};

/// Builds the report and writes it to `path` atomically. Throws hcmsn::Error when `runs` is
/// empty.
void write_run_report(const std::string& path, const std::vector<ReportRun>& runs,
                      const RunReportOptions& options);

}  // namespace hcmsn::report
