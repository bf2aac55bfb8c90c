// The experiment's table: for every evaluation, one row per baseline and per variant with the
// mean, sample standard deviation, minimum, maximum and per-seed values of every metric the
// results hold (map_all, prec@K, map@K), computed from the JSON that `hcmsn eval` and
// `hcmsn eval-features` write (metrics/report.h).
//
// The rows of one evaluation are only comparable when they rank the same queries against the
// same gallery under the same protocol, so summarise_evaluation checks that every result has the
// same protocol, cut-offs, query and gallery counts, and per class the same numbers of queries
// and relevant photos; a result that differs is an error naming it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::experiment {

/// Statistics of one metric over a row's results, in the order given.
struct MetricStats {
  double mean = 0.0;
  /// Sample standard deviation (n − 1 in the denominator); 0 for a single value, and exactly 0
  /// (with the mean exactly the value) when all values are equal.
  double std = 0.0;
  double min = 0.0;
  double max = 0.0;
  std::vector<double> values;
};

/// The results that make one row: a baseline (one result) or a variant (one result per seed).
struct RowResults {
  std::string name;
  bool baseline = false;
  std::vector<std::string> labels;      // one per result: "seed0", … (or the baseline's name)
  std::vector<nlohmann::json> results;  // the JSON of hcmsn eval / eval-features
};

struct SummaryRow {
  std::string name;
  bool baseline = false;
  std::vector<std::string> labels;
  std::vector<MetricStats> metrics;  // one per EvaluationSummary::metrics
};

struct EvaluationSummary {
  std::string name;
  std::string protocol, protocol_description;
  int64_t num_queries = 0;
  int64_t num_gallery = 0;
  /// "map_all", then "prec@K" and "map@K" per K in increasing K.
  std::vector<std::string> metrics;
  std::vector<SummaryRow> rows;
};

struct ExperimentSummary {
  std::string title;
  std::string checkpoint;
  std::vector<uint64_t> seeds;
  std::vector<EvaluationSummary> evaluations;
};

/// Mean, sample std, min and max of `values` (summed in order). Throws hcmsn::Error when empty.
MetricStats metric_stats(const std::vector<double>& values);

/// One evaluation's table from its rows (baselines first by convention; the order is kept).
/// Throws hcmsn::Error when there is no row, a row has no result, a result lacks a metric, or
/// the results do not rank the same queries against the same gallery (see above).
EvaluationSummary summarise_evaluation(const std::string& name,
                                       const std::vector<RowResults>& rows);

/// summary.json: {"title", "checkpoint", "seeds", "evaluations": {"<name>": {"protocol",
/// "protocol_description", "num_queries", "num_gallery", "metrics": [...], "rows": [{"name",
/// "kind": "baseline"|"variant", "labels": [...], "metrics": {"<metric>": {"mean", "std", "min",
/// "max", "values": [...]}}, and for a variant when the evaluation has a baseline "versus":
/// {"baseline", "metric", "difference", "spread", "seeds_ahead", "seeds", "verdict"}
/// (baseline_comparison.h)}]}}}, evaluations and rows in order.
nlohmann::ordered_json to_json(const ExperimentSummary& summary);

/// "0.2470 ± 0.0120 (0.2350–0.2590)", or "0.2470" for a single value.
std::string format_cell(const MetricStats& stats);

/// "mAP@all", "P@100", "mAP@100" for "map_all", "prec@100", "map@100".
std::string metric_label(const std::string& metric);

/// summary.md: the variants against the baseline (comparison_markdown, when there is one), then
/// per evaluation a heading, the protocol, the query and gallery sizes, and a table with rows =
/// baselines then variants and a column per metric plus the number of results.
std::string to_markdown(const ExperimentSummary& summary);

}  // namespace hcmsn::experiment
