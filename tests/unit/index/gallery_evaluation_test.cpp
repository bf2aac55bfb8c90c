// Scoring labelled queries against a gallery: classes joined by their normalised key, rows
// without a class as distractors, and mAP equal to an independent brute force.
#include <gtest/gtest.h>

#include "hcmsn/index/gallery_evaluation.h"
#include "support/ball_points.h"
#include "support/brute_force.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

index::Gallery curved_gallery(double c) {
  index::Gallery g;
  g.curvature = c;
  g.embeddings = test::points(9, 4, c, 0.1, 0.9, 7, torch::kFloat32);
  const char* classes[] = {"alarm_clock", "cat", "",    "Cat",       "sea turtle",
                           "alarm_clock", "",    "cat", "sea turtle"};
  for (int i = 0; i < 9; ++i) g.entries.push_back({"/p/" + std::to_string(i), classes[i]});
  return g;
}

TEST(GalleryEvaluation, LabelsJoinSpellingsAndKeepDistractorsApart) {
  const index::Gallery g = curved_gallery(1.0);
  const metrics::Labels l = index::gallery_labels(g, {"Alarm Clock", "cat", "zebra", "sea-turtle"});
  // Gallery spellings ("Cat" sorts before "cat"), then the queries' for classes it lacks.
  EXPECT_EQ(l.class_names, (std::vector<std::string>{"Cat", "alarm_clock", "sea turtle", "zebra"}));
  EXPECT_EQ(l.query, (std::vector<int64_t>{1, 0, 3, 2}));
  EXPECT_EQ(l.gallery, (std::vector<int64_t>{1, 0, -1, 0, 2, 1, -1, 0, 2}));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               index::gallery_labels(g, {"cat", " "});
                             }),
                             "query 1 has no class"));
}

TEST(GalleryEvaluation, MeanApEqualsBruteForce) {
  for (const double c : {0.0, 0.5, 1.3}) {
    const index::Gallery g = curved_gallery(c);
    const torch::Tensor q = test::points(5, 4, c, 0.1, 0.9, 11, torch::kFloat32);
    const std::vector<std::string> classes = {"cat", "ALARM clock", "sea_turtle", "cat", "zebra"};
    metrics::EvaluationOptions options;
    options.ks = {3};
    const auto r = index::evaluate_gallery(g, q, classes, options);
    // Relevance written out: the keys of the spellings above.
    const std::vector<std::vector<int64_t>> relevant = {{1, 3, 7}, {0, 5}, {4, 8}, {1, 3, 7}, {}};
    double sum = 0;
    for (int64_t i = 0; i < 5; ++i) {
      const auto order = test::ranking(test::poincare_distances(q[i], g.embeddings, c));
      const auto& rel = relevant[static_cast<size_t>(i)];
      const double ap = test::average_precision(
          order, [&](int64_t id) { return std::find(rel.begin(), rel.end(), id) != rel.end(); });
      EXPECT_NEAR(r.per_query_ap[static_cast<size_t>(i)], ap, 1e-12) << "c " << c << " query " << i;
      sum += ap;
    }
    EXPECT_NEAR(r.map_all, sum / 5, 1e-12) << "c " << c;  // zebra counts as 0
    EXPECT_EQ(r.num_queries_without_relevant, 1);
    EXPECT_EQ(r.num_gallery, 9);
    EXPECT_EQ(r.curvature, c);
  }
}

TEST(GalleryEvaluation, EmptyClassesFollowThePolicy) {
  const index::Gallery g = curved_gallery(1.0);
  const torch::Tensor q = test::points(2, 4, 1.0, 0.1, 0.9, 3, torch::kFloat32);
  metrics::EvaluationOptions options;
  options.empty_queries = metrics::EmptyQueryPolicy::kError;
  const std::string e = test::error_of([&] {
    index::evaluate_gallery(g, q, {"cat", "zebra"}, options);
  });
  EXPECT_TRUE(test::contains(e, "zebra")) << e;
  options.empty_queries = metrics::EmptyQueryPolicy::kSkip;
  const auto skipped = index::evaluate_gallery(g, q, {"cat", "zebra"}, options);
  EXPECT_NEAR(skipped.map_all, skipped.per_query_ap[0], 1e-12);  // zebra left out
  EXPECT_TRUE(
      test::contains(test::error_of([&] { index::evaluate_gallery(g, q, {"cat"}, options); }),
                     "one class per row"));
}

}  // namespace
}  // namespace hcmsn
