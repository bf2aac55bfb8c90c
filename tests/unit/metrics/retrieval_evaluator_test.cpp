// Evaluator invariants: results independent of blocking and threads, the Poincaré ranking
// equals ranking by exact distances, c = 0 equals Euclidean, and bad input is rejected.
#include <gtest/gtest.h>

#include "hcmsn/data/synthetic_embeddings.h"
#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::metrics {
namespace {

struct Data {
  torch::Tensor q, g;
  Labels labels;
};

Data make(int64_t q, int64_t n, int64_t d, int64_t classes, double c, uint64_t seed,
          torch::ScalarType dtype = torch::kFloat32) {
  data::SyntheticEmbeddingOptions o;
  o.num_queries = q;
  o.num_gallery = n;
  o.dim = d;
  o.num_classes = classes;
  o.curvature = c;
  o.seed = seed;
  o.dtype = dtype;
  o.query_noise = 1.5;
  o.gallery_noise = 1.2;
  const auto e = data::make_synthetic_embeddings(o);
  return {e.queries, e.gallery, {e.query_labels, e.gallery_labels, {}}};
}

TEST(RetrievalEvaluator, BlockSizeDoesNotChangeResults) {
  const auto d = make(300, 500, 16, 7, 0.5, 1);
  DistanceOptions dist{Metric::kPoincare, 0.5};
  EvaluationOptions big, tiny;
  tiny.memory_budget_bytes = 1;  // one query per block
  const auto a = evaluate_embeddings(d.q, d.g, d.labels, dist, big);
  const auto b = evaluate_embeddings(d.q, d.g, d.labels, dist, tiny);
  EXPECT_EQ(a.per_query_ap, b.per_query_ap);
  EXPECT_EQ(a.prec_at, b.prec_at);
  EXPECT_EQ(a.map_at, b.map_at);
  EXPECT_GT(a.map_all, 0.2);  // the data has class structure
  EXPECT_LT(a.map_all, 1.0);
}

TEST(RetrievalEvaluator, ThreadCountDoesNotChangeResults) {
  const auto d = make(200, 400, 8, 5, 1.0, 2);
  const int before = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto a = evaluate_embeddings(d.q, d.g, d.labels, {}, {});
  torch::set_num_threads(2);
  const auto b = evaluate_embeddings(d.q, d.g, d.labels, {}, {});
  torch::set_num_threads(before);
  EXPECT_EQ(a.per_query_ap, b.per_query_ap);
}

// The products on a CUDA device, ranking on the CPU: float64 products agree to rounding, so every
// metric and every query's AP equal the CPU's (skips without a GPU).
TEST(RetrievalEvaluator, CudaProductsGiveTheCpuResults) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto d = make(300, 500, 16, 7, 0.5, 6, torch::kFloat64);
  for (const auto metric : {Metric::kPoincare, Metric::kEuclidean, Metric::kCosine}) {
    const DistanceOptions dist{metric, 0.5};
    EvaluationOptions cpu, cuda;
    cuda.device = torch::kCUDA;
    cuda.memory_budget_bytes = 100 * 500 * 8;  // several blocks
    const auto a = evaluate_embeddings(d.q, d.g, d.labels, dist, cpu);
    const auto b = evaluate_embeddings(d.q, d.g, d.labels, dist, cuda);
    ASSERT_EQ(a.per_query_ap.size(), b.per_query_ap.size());
    for (size_t i = 0; i < a.per_query_ap.size(); ++i) {
      EXPECT_NEAR(a.per_query_ap[i], b.per_query_ap[i], 1e-12) << to_string(metric) << " " << i;
    }
    EXPECT_NEAR(a.map_all, b.map_all, 1e-12);
  }
}

// Sharded evaluation: each of 3 shards ranks its share of the queries; summing the shards'
// per-query vectors (here in process, over processes in `metrics --nproc`) gives every shard the
// unsharded result exactly. Shards whose sum is left out see zeros for the others' queries.
TEST(RetrievalEvaluator, ShardsMergeToTheUnshardedResult) {
  const auto d = make(301, 400, 8, 6, 0.5, 8);
  DistanceOptions dist{Metric::kPoincare, 0.5};
  EvaluationOptions whole;
  whole.protocol = Protocol::parse("sake");  // per-class averaging, VOC AP, several K
  whole.ks = {5, 50};
  whole.memory_budget_bytes = 64 * 400 * 4;  // several blocks per shard
  const auto expected = evaluate_embeddings(d.q, d.g, d.labels, dist, whole);
  const int64_t shards = 3;
  std::vector<torch::Tensor> own(shards);
  for (int64_t i = 0; i < shards; ++i) {  // pass 1: each shard's own vector
    EvaluationOptions o = whole;
    o.sharding.rank = i;
    o.sharding.ranks = shards;
    o.sharding.sum = [&own, i](torch::Tensor& v) { own[static_cast<size_t>(i)] = v.clone(); };
    const auto partial = evaluate_embeddings(d.q, d.g, d.labels, dist, o);
    EXPECT_NE(partial.per_query_ap, expected.per_query_ap);
  }
  const auto total = own[0] + own[1] + own[2];
  for (int64_t i = 0; i < shards; ++i) {  // pass 2: the sum every shard would receive
    EvaluationOptions o = whole;
    o.sharding.rank = i;
    o.sharding.ranks = shards;
    o.sharding.sum = [&total](torch::Tensor& v) { v.copy_(total); };
    const auto merged = evaluate_embeddings(d.q, d.g, d.labels, dist, o);
    EXPECT_EQ(merged.per_query_ap, expected.per_query_ap);
    EXPECT_EQ(merged.map_all, expected.map_all);
    EXPECT_EQ(merged.prec_at, expected.prec_at);
    EXPECT_EQ(merged.map_at, expected.map_at);
    ASSERT_EQ(merged.per_class.size(), expected.per_class.size());
    for (size_t c = 0; c < merged.per_class.size(); ++c) {
      EXPECT_EQ(merged.per_class[c].map_all, expected.per_class[c].map_all);
    }
  }
  EvaluationOptions bad = whole;
  bad.sharding.ranks = 2;
  EXPECT_TRUE(
      test::contains(test::error_of([&] { evaluate_embeddings(d.q, d.g, d.labels, dist, bad); }),
                     "needs their sum"));
}

TEST(RetrievalEvaluator, PoincareRankingEqualsExactDistanceRanking) {
  const auto d = make(100, 300, 6, 4, 0.8, 3, torch::kFloat64);
  const auto dist = geometry::distance_matrix(d.q, d.g, 0.8);
  const auto by_distance = evaluate_scores(dist, d.labels, /*higher_is_better=*/false, {});
  const auto by_key = evaluate_embeddings(d.q, d.g, d.labels, {Metric::kPoincare, 0.8}, {});
  for (size_t i = 0; i < by_key.per_query_ap.size(); ++i) {
    EXPECT_NEAR(by_key.per_query_ap[i], by_distance.per_query_ap[i], 1e-12) << i;
  }
  EXPECT_EQ(by_key.metric, "poincare");
  EXPECT_EQ(by_key.curvature, 0.8);
}

TEST(RetrievalEvaluator, ZeroCurvatureEqualsEuclidean) {
  const auto d = make(100, 300, 6, 4, 0.0, 4, torch::kFloat64);
  const auto p = evaluate_embeddings(d.q, d.g, d.labels, {Metric::kPoincare, 0.0}, {});
  const auto e = evaluate_embeddings(d.q, d.g, d.labels, {Metric::kEuclidean, 0.0}, {});
  EXPECT_EQ(p.per_query_ap, e.per_query_ap);
}

TEST(RetrievalEvaluator, EuclideanAndCosineAgreeOnUnitVectors) {
  auto d = make(100, 300, 6, 4, 0.0, 5, torch::kFloat64);
  d.q = torch::nn::functional::normalize(d.q, torch::nn::functional::NormalizeFuncOptions().dim(1));
  d.g = torch::nn::functional::normalize(d.g, torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto e = evaluate_embeddings(d.q, d.g, d.labels, {Metric::kEuclidean, 0.0}, {});
  const auto c = evaluate_embeddings(d.q, d.g, d.labels, {Metric::kCosine, 0.0}, {});
  for (size_t i = 0; i < e.per_query_ap.size(); ++i)
    EXPECT_NEAR(e.per_query_ap[i], c.per_query_ap[i], 1e-12);
}

TEST(RetrievalEvaluator, PerfectEmbeddingsScoreOne) {
  // Every item sits exactly on its class centre.
  const auto centres = torch::eye(4, torch::kFloat64) * 0.5;
  const std::vector<int64_t> ql = {0, 1, 2, 3, 1}, gl = {3, 2, 1, 0, 0, 1};
  const auto q = centres.index_select(0, torch::tensor(ql));
  const auto g = centres.index_select(0, torch::tensor(gl));
  EvaluationOptions options;
  options.ks = {2};
  const auto r = evaluate_embeddings(q, g, {ql, gl, {}}, {Metric::kPoincare, 1.0}, options);
  EXPECT_DOUBLE_EQ(r.map_all, 1.0);
  EXPECT_DOUBLE_EQ(r.prec_at[0], (1.0 + 1.0 + 0.5 + 0.5 + 1.0) / 5.0);  // P@2 with R = 1 or 2
}

TEST(RetrievalEvaluator, QueriesWithoutRelevantItemsFollowThePolicy) {
  auto d = make(50, 100, 4, 3, 1.0, 6);
  d.labels.query[0] = 99;  // a class absent from the gallery
  EvaluationOptions zero, skip, error;
  skip.empty_queries = EmptyQueryPolicy::kSkip;
  error.empty_queries = EmptyQueryPolicy::kError;
  const auto z = evaluate_embeddings(d.q, d.g, d.labels, {}, zero);
  const auto s = evaluate_embeddings(d.q, d.g, d.labels, {}, skip);
  EXPECT_EQ(z.num_queries_without_relevant, 1);
  EXPECT_EQ(z.per_query_ap[0], 0.0);
  double rest = 0;
  for (size_t i = 1; i < z.per_query_ap.size(); ++i) rest += z.per_query_ap[i];
  EXPECT_NEAR(z.map_all, rest / 50.0, 1e-12);
  EXPECT_NEAR(s.map_all, rest / 49.0, 1e-12);
  EXPECT_THROW(evaluate_embeddings(d.q, d.g, d.labels, {}, error), hcmsn::Error);
}

TEST(RetrievalEvaluator, PerClassResultsAverageToTheTotal) {
  const auto d = make(120, 200, 5, 6, 1.0, 7);
  const auto r = evaluate_embeddings(d.q, d.g, d.labels, {}, {});
  double sum = 0;
  int64_t n = 0;
  for (const auto& c : r.per_class) {
    sum += c.map_all * static_cast<double>(c.num_queries);
    n += c.num_queries;
  }
  EXPECT_EQ(n, 120);
  EXPECT_NEAR(sum / 120.0, r.map_all, 1e-12);
}

TEST(RetrievalEvaluator, RejectsBadInput) {
  const auto d = make(10, 20, 4, 2, 1.0, 8);
  const DistanceOptions poincare{Metric::kPoincare, 1.0};
  // Dimension mismatch.
  EXPECT_THROW(evaluate_embeddings(d.q, d.g.slice(1, 0, 3), d.labels, poincare, {}), hcmsn::Error);
  // Label count mismatch.
  Labels short_labels = d.labels;
  short_labels.gallery.pop_back();
  EXPECT_THROW(evaluate_embeddings(d.q, d.g, short_labels, poincare, {}), hcmsn::Error);
  // NaN row.
  auto nan_q = d.q.clone();
  nan_q[3][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(evaluate_embeddings(nan_q, d.g, d.labels, poincare, {}), hcmsn::Error);
  // Outside the ball.
  auto far = d.g.clone();
  far[5] = torch::ones({4}) * 2.0f;
  try {
    evaluate_embeddings(d.q, far, d.labels, poincare, {});
    ADD_FAILURE() << "expected an error";
  } catch (const hcmsn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("gallery row 5"), std::string::npos) << e.what();
  }
  // Empty gallery.
  EXPECT_THROW(evaluate_embeddings(d.q, d.g.slice(0, 0, 0), {d.labels.query, {}, {}}, poincare, {}),
               hcmsn::Error);
  // Bad curvature and K.
  EXPECT_THROW(evaluate_embeddings(d.q, d.g, d.labels, {Metric::kPoincare, -1.0}, {}),
               hcmsn::Error);
  EvaluationOptions bad_k;
  bad_k.ks = {0};
  EXPECT_THROW(evaluate_embeddings(d.q, d.g, d.labels, poincare, bad_k), hcmsn::Error);
  // Zero vector under cosine.
  auto zero = d.q.clone();
  zero[0].zero_();
  EXPECT_THROW(evaluate_embeddings(zero, d.g, d.labels, {Metric::kCosine, 0.0}, {}), hcmsn::Error);
}

TEST(RetrievalEvaluator, EncodeLabelsUsesSortedNames) {
  const auto l = encode_labels({"dog", "cat"}, {"cat", "zebra", "dog"});
  EXPECT_EQ(l.class_names, (std::vector<std::string>{"cat", "dog", "zebra"}));
  EXPECT_EQ(l.query, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(l.gallery, (std::vector<int64_t>{0, 2, 1}));
}

}  // namespace
}  // namespace hcmsn::metrics
