// The variants against the baseline (hcmsn/experiment/baseline_comparison.h): differences,
// spreads, seeds ahead and verdicts against hand-computed values, rows without a baseline, and
// the overview in summary.md, summary.json and report.html.
#include "hcmsn/experiment/baseline_comparison.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hcmsn/experiment/summary_report.h"
#include "support/test_support.h"

namespace hcmsn::experiment {
namespace {

using test::contains;

nlohmann::json result(double map_all) {
  return {{"map_all", map_all}, {"num_queries", 4}, {"num_gallery", 5}, {"protocol", "standard"}};
}

RowResults variant(const std::string& name, const std::vector<double>& values) {
  RowResults row{name, false, {}, {}};
  for (size_t i = 0; i < values.size(); ++i) {
    row.labels.push_back("seed" + std::to_string(i));
    row.results.push_back(result(values[i]));
  }
  return row;
}

// Baseline 0.30; "up": mean 0.35, std 0.01 (ahead); "wide": mean 0.31, std 0.02 (level, 2 of 3
// seeds ahead); "down": mean 0.27, std 0.01 (behind); "one": a single seed at 0.2999 (behind).
EvaluationSummary evaluation(const std::string& name) {
  return summarise_evaluation(name, {{"cos", true, {"cos"}, {result(0.30)}},
                                     {"euclidean", true, {"euclidean"}, {result(0.10)}},
                                     variant("up", {0.34, 0.35, 0.36}),
                                     variant("wide", {0.29, 0.31, 0.33}),
                                     variant("down", {0.26, 0.27, 0.28}),
                                     variant("one", {0.2999})});
}

TEST(BaselineComparison, HandComputedDifferencesSpreadsAndVerdicts) {
  const auto c = compare_with_baseline(evaluation("standard"));
  ASSERT_EQ(c.size(), 6u);
  EXPECT_FALSE(c[0].has_value());  // baselines get none
  EXPECT_FALSE(c[1].has_value());
  ASSERT_TRUE(c[2] && c[3] && c[4] && c[5]);
  EXPECT_EQ(c[2]->baseline, "cos");  // the first baseline row
  EXPECT_EQ(c[2]->metric, "map_all");
  EXPECT_NEAR(c[2]->difference, 0.05, 1e-12);
  EXPECT_NEAR(c[2]->spread, 0.01, 1e-12);
  EXPECT_EQ(c[2]->seeds_ahead, 3);
  EXPECT_EQ(c[2]->seeds, 3);
  EXPECT_EQ(c[2]->verdict, "ahead");
  EXPECT_NEAR(c[3]->difference, 0.01, 1e-12);
  EXPECT_NEAR(c[3]->spread, 0.02, 1e-12);
  EXPECT_EQ(c[3]->seeds_ahead, 2);
  EXPECT_EQ(c[3]->verdict, "level");
  EXPECT_NEAR(c[4]->difference, -0.03, 1e-12);
  EXPECT_EQ(c[4]->seeds_ahead, 0);
  EXPECT_EQ(c[4]->verdict, "behind");
  EXPECT_EQ(c[5]->spread, 0.0);  // one seed: any difference decides
  EXPECT_EQ(c[5]->seeds, 1);
  EXPECT_EQ(c[5]->verdict, "behind");
  EXPECT_EQ(format_comparison(*c[2]), "+0.0500 (spread 0.0100, 3/3 seeds): ahead");
  EXPECT_EQ(format_comparison(*c[4]), "-0.0300 (spread 0.0100, 0/3 seeds): behind");
}

TEST(BaselineComparison, NoBaselineNoComparison) {
  const auto e = summarise_evaluation("standard", {variant("up", {0.3, 0.4})});
  const auto c = compare_with_baseline(e);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_FALSE(c[0].has_value());
  EXPECT_FALSE(compare_with_baseline(evaluation("x"), "map@5")[2].has_value());  // no column
  ExperimentSummary s;
  s.evaluations.push_back(e);
  EXPECT_EQ(comparison_markdown(s), "");
  EXPECT_FALSE(contains(to_markdown(s), "against the baseline"));
  EXPECT_FALSE(to_json(s)["evaluations"]["standard"]["rows"][0].contains("versus"));
  EXPECT_FALSE(contains(summary_report_html(s), "against the baseline"));
}

TEST(BaselineComparison, SummaryMarkdownJsonAndReportCarryIt) {
  ExperimentSummary s;
  s.seeds = {0, 1, 2};
  s.evaluations.push_back(evaluation("standard"));
  s.evaluations.push_back(evaluation("generalised"));
  const std::string md = to_markdown(s);
  EXPECT_TRUE(contains(md, "## mAP@all against the baseline\n")) << md;
  EXPECT_TRUE(contains(md, "| variant | standard | generalised |\n|---|---|---|\n")) << md;
  EXPECT_TRUE(contains(md,
                       "| up | +0.0500 (spread 0.0100, 3/3 seeds): ahead | +0.0500 (spread "
                       "0.0100, 3/3 seeds): ahead |\n"))
      << md;
  EXPECT_LT(md.find("against the baseline"), md.find("## standard"));  // the overview first
  const auto rows = to_json(s)["evaluations"]["generalised"]["rows"];
  EXPECT_FALSE(rows[0].contains("versus"));
  EXPECT_EQ(rows[3]["versus"]["verdict"], "level");
  EXPECT_EQ(rows[3]["versus"]["baseline"], "cos");
  EXPECT_EQ(rows[3]["versus"]["seeds_ahead"], 2);
  EXPECT_NEAR(rows[4]["versus"]["difference"].get<double>(), -0.03, 1e-12);
  const std::string html = summary_report_html(s);
  EXPECT_TRUE(contains(html,
                       "<th scope=\"row\">wide</th><td class=\"num\">+0.0100 (spread "
                       "0.0200, 2/3 seeds): level</td>"))
      << html;
}

}  // namespace
}  // namespace hcmsn::experiment
