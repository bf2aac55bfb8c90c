// The experiment's table (hcmsn/experiment/summary.h) and report (summary_report.h): statistics
// against hand-computed values, metric order, exact per-seed values, the same-queries check,
// the markdown and JSON layouts, and a well-formed report.
#include "hcmsn/experiment/summary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "hcmsn/experiment/summary_report.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"
#include "unit/report/xml_check.h"

namespace hcmsn::experiment {
namespace {

using test::contains;
using test::error_of;

// A result as hcmsn eval writes it; keys in the JSON library's (alphabetical) order on purpose.
nlohmann::json result(double map_all, double p5, double m5, double p10, double m10,
                      int64_t queries = 6, const std::string& protocol = "standard") {
  return {{"map_all", map_all},
          {"prec@5", p5},
          {"map@5", m5},
          {"prec@10", p10},
          {"map@10", m10},
          {"num_queries", queries},
          {"num_gallery", 9},
          {"protocol", protocol},
          {"protocol_description", "AP: non-interpolated."},
          {"per_class",
           {{"cat", {{"num_queries", queries / 2}, {"num_relevant", 4}, {"map_all", 0.5}}},
            {"dog", {{"num_queries", queries - queries / 2}, {"num_relevant", 5}}}}}};
}

std::vector<RowResults> table_rows() {
  return {{"cos", true, {"cos"}, {result(0.1, 0.2, 0.3, 0.4, 0.5)}},
          {"hcmsn",
           false,
           {"seed0", "seed1", "seed2"},
           {result(0.2, 0.5, 0.6, 0.7, 0.8), result(0.4, 0.5, 0.6, 0.7, 0.8),
            result(0.3, 0.5, 0.6, 0.7, 0.8)}}};
}

TEST(ExperimentSummary, MetricStatsKnownAnswers) {
  const auto s = metric_stats({0.2, 0.4, 0.3});
  EXPECT_DOUBLE_EQ(s.mean, 0.3);
  EXPECT_DOUBLE_EQ(s.std, 0.1);  // sample std: sqrt((0.01 + 0.01 + 0) / 2)
  EXPECT_EQ(s.min, 0.2);
  EXPECT_EQ(s.max, 0.4);
  EXPECT_EQ(s.values, (std::vector<double>{0.2, 0.4, 0.3}));
  const auto one = metric_stats({0.25});
  EXPECT_EQ(one.mean, 0.25);
  EXPECT_EQ(one.std, 0.0);
  const auto pair = metric_stats({1.0, 2.0});
  EXPECT_DOUBLE_EQ(pair.std, std::sqrt(0.5));
  EXPECT_TRUE(contains(error_of([] { metric_stats({}); }), "no values"));
}

TEST(ExperimentSummary, RowsKeepTheirOrderAndEveryPerSeedValue) {
  const auto e = summarise_evaluation("standard", table_rows());
  EXPECT_EQ(e.protocol, "standard");
  EXPECT_EQ(e.num_queries, 6);
  EXPECT_EQ(e.num_gallery, 9);
  EXPECT_EQ(e.metrics,
            (std::vector<std::string>{"map_all", "prec@5", "map@5", "prec@10", "map@10"}));
  ASSERT_EQ(e.rows.size(), 2u);
  EXPECT_EQ(e.rows[0].name, "cos");
  EXPECT_TRUE(e.rows[0].baseline);
  EXPECT_EQ(e.rows[0].metrics[0].values, (std::vector<double>{0.1}));
  EXPECT_EQ(e.rows[1].name, "hcmsn");
  EXPECT_FALSE(e.rows[1].baseline);
  EXPECT_EQ(e.rows[1].labels, (std::vector<std::string>{"seed0", "seed1", "seed2"}));
  EXPECT_EQ(e.rows[1].metrics[0].values, (std::vector<double>{0.2, 0.4, 0.3}));
  EXPECT_DOUBLE_EQ(e.rows[1].metrics[0].mean, 0.3);
  EXPECT_EQ(e.rows[1].metrics[3].values, (std::vector<double>{0.7, 0.7, 0.7}));
  EXPECT_EQ(e.rows[1].metrics[3].std, 0.0);
}

TEST(ExperimentSummary, ResultsOfOtherQueriesOrGalleriesAreRejected) {
  const auto expect_error = [](std::vector<RowResults> rows, const std::string& needle) {
    const std::string message = error_of([&] { summarise_evaluation("standard", rows); });
    EXPECT_TRUE(contains(message, needle)) << message;
    EXPECT_TRUE(contains(message, "same queries")) << message;
  };
  auto rows = table_rows();
  rows[1].results[1]["num_queries"] = 7;
  rows[1].results[1]["per_class"]["dog"]["num_queries"] = 4;
  expect_error(rows, "variant 'hcmsn' seed1 ranks 7 queries against 9 photos");

  rows = table_rows();
  rows[0].results[0]["num_gallery"] = 12;
  rows[1].results[0]["num_gallery"] = 12;
  rows[1].results[2]["num_gallery"] = 12;
  expect_error(rows, "seed1 ranks 6 queries against 9 photos, where the first has 6 against 12");

  rows = table_rows();
  rows[1].results[2]["per_class"]["cat"]["num_relevant"] = 3;
  expect_error(rows, "class 'cat' with 3 queries and 3 relevant photos");

  rows = table_rows();
  rows[1].results[0]["per_class"].erase("dog");
  rows[1].results[0]["per_class"]["cow"] = {{"num_queries", 3}, {"num_relevant", 5}};
  expect_error(rows, "no queries of class 'dog'");

  rows = table_rows();
  rows[0].results[0] = result(0.1, 0.2, 0.3, 0.4, 0.5, 6, "sake");
  expect_error(rows, "protocol standard against sake");

  rows = table_rows();
  rows[1].results[0].erase("map@10");
  expect_error(rows, "metrics [map_all, prec@5, map@5, prec@10]");

  EXPECT_TRUE(contains(error_of([] { summarise_evaluation("x", {}); }), "no results"));
  std::vector<RowResults> empty_row = {{"hcmsn", false, {}, {}}};
  EXPECT_TRUE(contains(error_of([&] { summarise_evaluation("x", empty_row); }), "no results"));
}

TEST(ExperimentSummary, CellsAndLabels) {
  EXPECT_EQ(format_cell(metric_stats({0.235, 0.259, 0.247})), "0.2470 ± 0.0120 (0.2350–0.2590)");
  EXPECT_EQ(format_cell(metric_stats({0.25})), "0.2500");
  EXPECT_EQ(metric_label("map_all"), "mAP@all");
  EXPECT_EQ(metric_label("prec@100"), "P@100");
  EXPECT_EQ(metric_label("map@200"), "mAP@200");
  EXPECT_EQ(metric_label("other"), "other");
}

ExperimentSummary two_evaluations() {
  ExperimentSummary s;
  s.title = "ablations <&>";
  s.checkpoint = "last";
  s.seeds = {0, 1, 2};
  s.evaluations.push_back(summarise_evaluation("standard", table_rows()));
  s.evaluations.push_back(summarise_evaluation("generalised", table_rows()));
  return s;
}

TEST(ExperimentSummary, MarkdownHasATablePerEvaluationWithItsProtocol) {
  const std::string md = to_markdown(two_evaluations());
  EXPECT_TRUE(contains(md, "# ablations <&>\n")) << md;
  EXPECT_TRUE(contains(md, "Checkpoint: last. Seeds: 0, 1, 2.")) << md;
  EXPECT_TRUE(contains(md, "## standard\n")) << md;
  EXPECT_TRUE(contains(md, "## generalised\n")) << md;
  EXPECT_EQ(test::count_of(md,
                           "| protocol: standard | mAP@all | P@5 | mAP@5 | P@10 | mAP@10 | "
                           "results |\n|---|---:|---:|---:|---:|---:|---:|\n"),
            2u)
      << md;
  EXPECT_TRUE(contains(md,
                       "| cos (baseline) | 0.1000 | 0.2000 | 0.3000 | 0.4000 | 0.5000 | 1 |\n"
                       "| hcmsn | 0.3000 ± 0.1000 (0.2000–0.4000) | 0.5000 ± 0.0000 "
                       "(0.5000–0.5000) |"))
      << md;
  EXPECT_TRUE(contains(md, "6 sketch queries, gallery of 9 photos")) << md;
}

TEST(ExperimentSummary, JsonKeepsOrderAndEveryValue) {
  const auto j = to_json(two_evaluations());
  EXPECT_EQ(j["checkpoint"], "last");
  EXPECT_EQ(j["seeds"], nlohmann::ordered_json({0, 1, 2}));
  ASSERT_EQ(j["evaluations"].size(), 2u);
  EXPECT_EQ(j["evaluations"].begin().key(), "standard");
  const auto& e = j["evaluations"]["standard"];
  EXPECT_EQ(e["protocol"], "standard");
  EXPECT_EQ(e["num_queries"], 6);
  EXPECT_EQ(e["metrics"][0], "map_all");
  ASSERT_EQ(e["rows"].size(), 2u);
  EXPECT_EQ(e["rows"][0]["kind"], "baseline");
  const auto& map_all = e["rows"][1]["metrics"]["map_all"];
  EXPECT_EQ(e["rows"][1]["labels"][2], "seed2");
  EXPECT_EQ(map_all["values"], nlohmann::ordered_json({0.2, 0.4, 0.3}));
  EXPECT_EQ(map_all["min"].get<double>(), 0.2);
  EXPECT_EQ(map_all["max"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(map_all["mean"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(map_all["std"].get<double>(), 0.1);
}

TEST(ExperimentSummary, ReportIsWellFormedWithATableAndAChartPerEvaluation) {
  const std::string html = summary_report_html(two_evaluations());
  test::XmlCheckOptions options;
  options.void_elements = test::html_void_elements();
  EXPECT_EQ(test::xml_problems(html, options), "");
  // One per evaluation and the variants against the baseline.
  EXPECT_EQ(test::count_of(html, "<table class=\"metrics\">"), 3u);
  EXPECT_EQ(test::count_of(html, "<svg "), 2u);
  EXPECT_EQ(test::count_of(html, "<th scope=\"col\">protocol: standard</th>"), 2u);
  EXPECT_TRUE(contains(html, "<title>generalised (protocol: standard)</title>"));
  EXPECT_TRUE(contains(html, "0.3000 ± 0.1000 (0.2000–0.4000)"));
  EXPECT_TRUE(contains(html, "ablations &lt;&amp;&gt;"));
  EXPECT_FALSE(contains(html, "ablations <&>"));
}

}  // namespace
}  // namespace hcmsn::experiment
