// Per-query metrics against scikit-learn / numpy golden values
// (tests/reference/make_metrics_golden.py → tests/fixtures/metrics_golden.json).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "hcmsn/metrics/retrieval_evaluator.h"
#include "support/json_tensor.h"
#include "support/test_support.h"

namespace hcmsn::metrics {
namespace {

nlohmann::json load_golden() {
  std::ifstream in(test::fixture("metrics_golden.json"));
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

struct Case {
  std::string name;
  torch::Tensor scores;
  Labels labels;
  std::vector<int64_t> ks;
  nlohmann::json expected;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  const nlohmann::json golden = load_golden();  // must outlive the loop over its members
  for (const auto& c : golden["cases"]) {
    Case k;
    k.name = c["name"];
    k.scores = test::to_tensor(c["scores"]);
    k.labels.query = c["query_labels"].get<std::vector<int64_t>>();
    k.labels.gallery = c["gallery_labels"].get<std::vector<int64_t>>();
    k.ks = c["ks"].get<std::vector<int64_t>>();
    k.expected = c["expected"];
    out.push_back(std::move(k));
  }
  return out;
}

// Mean over queries of a golden per-query field.
double golden_mean(const nlohmann::json& expected, const std::string& key) {
  double s = 0;
  for (const auto& e : expected) s += e[key].get<double>();
  return s / static_cast<double>(expected.size());
}

TEST(MetricsGolden, StandardProtocolMatchesSklearnPerQuery) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    EvaluationOptions opt;
    opt.ks = c.ks;
    const auto r = evaluate_scores(c.scores, c.labels, /*higher_is_better=*/true, opt);
    ASSERT_EQ(r.per_query_ap.size(), c.expected.size());
    for (size_t i = 0; i < c.expected.size(); ++i) {
      EXPECT_NEAR(r.per_query_ap[i], c.expected[i]["ap"].get<double>(), 1e-12) << "query " << i;
    }
    EXPECT_NEAR(r.map_all, golden_mean(c.expected, "ap"), 1e-12);
    for (size_t j = 0; j < c.ks.size(); ++j) {
      const std::string k = std::to_string(c.ks[j]);
      EXPECT_NEAR(r.prec_at[j], golden_mean(c.expected, "prec@" + k), 1e-12) << "K=" << k;
      EXPECT_NEAR(r.map_at[j], golden_mean(c.expected, "map@" + k), 1e-12) << "K=" << k;
    }
  }
}

TEST(MetricsGolden, VocProtocolMatchesVocEval) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    EvaluationOptions opt;
    opt.ks = c.ks;
    opt.protocol = Protocol::parse("voc");
    opt.empty_queries = EmptyQueryPolicy::kZero;  // the golden means count R = 0 as 0
    const auto r = evaluate_scores(c.scores, c.labels, true, opt);
    for (size_t i = 0; i < c.expected.size(); ++i) {
      EXPECT_NEAR(r.per_query_ap[i], c.expected[i]["voc_ap"].get<double>(), 1e-12) << "query " << i;
    }
    for (size_t j = 0; j < c.ks.size(); ++j) {
      const std::string k = std::to_string(c.ks[j]);
      EXPECT_NEAR(r.map_at[j], golden_mean(c.expected, "voc_map@" + k), 1e-12) << "K=" << k;
    }
  }
}

TEST(MetricsGolden, PrecisionOverMinKR) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    EvaluationOptions opt;
    opt.ks = c.ks;
    opt.protocol = Protocol::parse("prec-min-kr");
    const auto r = evaluate_scores(c.scores, c.labels, true, opt);
    for (size_t j = 0; j < c.ks.size(); ++j) {
      const std::string k = std::to_string(c.ks[j]);
      EXPECT_NEAR(r.prec_at[j], golden_mean(c.expected, "prec_min_kr@" + k), 1e-12);
    }
  }
}

TEST(MetricsGolden, ClassBalancedAveragesClassMeans) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    EvaluationOptions opt;
    opt.ks = c.ks;
    opt.protocol = Protocol::parse("class-balanced");
    const auto r = evaluate_scores(c.scores, c.labels, true, opt);
    std::map<int64_t, std::pair<double, int>> by_class;
    for (size_t i = 0; i < c.expected.size(); ++i) {
      auto& [sum, n] = by_class[c.labels.query[i]];
      sum += c.expected[i]["ap"].get<double>();
      ++n;
    }
    double mean = 0;
    for (const auto& [cls, acc] : by_class) mean += acc.first / acc.second;
    mean /= static_cast<double>(by_class.size());
    EXPECT_NEAR(r.map_all, mean, 1e-12);
  }
}

TEST(MetricsGolden, DistancesRankLikeNegatedSimilarities) {
  const auto c = cases()[1];
  EvaluationOptions opt;
  opt.ks = c.ks;
  const auto a = evaluate_scores(c.scores, c.labels, true, opt);
  const auto b = evaluate_scores(-c.scores, c.labels, false, opt);
  EXPECT_EQ(a.per_query_ap, b.per_query_ap);
}

}  // namespace
}  // namespace hcmsn::metrics
