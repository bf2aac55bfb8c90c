// FaissSearcher (hcmsn/index/faiss_search.h) against a brute-force reference written here: d_c
// by the arcosh formula in double precision for every (query, row) pair, then a sort (ties by
// id). Data: a few thousand points in 16 clustered classes on the ball (class centres in the
// tangent space, noise around them, clip and exp0), queries drawn the same way.
//  * FaissRecall*: recall@k ≥ 0.99 for HNSW and IVF with generous search settings, c = 1 and
//    c = 0; returned distances are the exact d_c of the returned ids, ascending;
//  * FaissEdge*: k > N returns all N rows in exact order; IVF queries whose probed lists are
//    too small still get min(k, N) results; concurrent searches agree with serial ones;
//  * FaissMemory*: memory_bytes against the index layout computed here;
//  * FaissErrors*: bad input throws hcmsn::Error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/index/faiss_search.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

constexpr int64_t kDim = 16;

// n points of `classes` clusters on the ball of curvature c (reproducible per seed).
torch::Tensor clustered_points(int64_t n, int64_t classes, double c, uint64_t seed) {
  torch::manual_seed(seed);
  const auto centres = torch::randn({classes, kDim}, torch::kFloat64) * (1.6 / std::sqrt(kDim));
  torch::manual_seed(seed + 1);
  const auto label = torch::randint(classes, {n}, torch::kLong);
  const auto noise = torch::randn({n, kDim}, torch::kFloat64) * (0.5 / std::sqrt(kDim));
  const auto u = geometry::clip_features(centres.index_select(0, label) + noise, 2.5);
  return geometry::expmap0(u, c).to(torch::kFloat32).contiguous();
}

struct Reference {
  std::vector<std::vector<int64_t>> ids;       // per query, all rows by ascending d_c
  std::vector<std::vector<double>> distances;  // d_c of every row, by row id
};

Reference brute_force(const torch::Tensor& queries, const torch::Tensor& gallery, double c) {
  const auto q = queries.to(torch::kFloat64).contiguous();
  const auto g = gallery.to(torch::kFloat64).contiguous();
  const int64_t nq = q.size(0), n = g.size(0), d = g.size(1);
  const double* qp = q.data_ptr<double>();
  const double* gp = g.data_ptr<double>();
  Reference ref;
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<double> dist(static_cast<size_t>(n));
    double x2 = 0;
    for (int64_t t = 0; t < d; ++t) x2 += qp[i * d + t] * qp[i * d + t];
    for (int64_t j = 0; j < n; ++j) {
      double y2 = 0, diff2 = 0;
      for (int64_t t = 0; t < d; ++t) {
        const double y = gp[j * d + t];
        y2 += y * y;
        diff2 += (qp[i * d + t] - y) * (qp[i * d + t] - y);
      }
      dist[j] = c == 0
                    ? 2 * std::sqrt(diff2)
                    : std::acosh(1 + 2 * c * diff2 / ((1 - c * x2) * (1 - c * y2))) / std::sqrt(c);
    }
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return dist[a] < dist[b]; });
    ref.ids.push_back(std::move(order));
    ref.distances.push_back(std::move(dist));
  }
  return ref;
}

// Mean over queries of |returned ∩ true top-k| / k.
double recall(const Neighbors& got, const Reference& ref, int64_t k) {
  const auto ids = got.ids.contiguous();
  double sum = 0;
  for (int64_t i = 0; i < ids.size(0); ++i) {
    const std::set<int64_t> truth(ref.ids[i].begin(), ref.ids[i].begin() + k);
    int64_t hits = 0;
    for (int64_t t = 0; t < k; ++t) hits += truth.count(ids[i][t].item<int64_t>());
    sum += static_cast<double>(hits) / k;
  }
  return sum / ids.size(0);
}

// Returned distances are the exact d_c of the returned ids (float32 tolerance), ascending, and
// ids are distinct gallery rows.
void expect_exact_distances(const Neighbors& got, const Reference& ref, int64_t n) {
  ASSERT_EQ(got.ids.scalar_type(), torch::kLong);
  ASSERT_EQ(got.distances.scalar_type(), torch::kFloat32);
  ASSERT_EQ(got.ids.sizes(), got.distances.sizes());
  for (int64_t i = 0; i < got.ids.size(0); ++i) {
    std::set<int64_t> seen;
    for (int64_t t = 0; t < got.ids.size(1); ++t) {
      const auto id = got.ids[i][t].item<int64_t>();
      ASSERT_TRUE(id >= 0 && id < n) << "query " << i << " rank " << t << ": id " << id;
      EXPECT_TRUE(seen.insert(id).second) << "query " << i << ": id " << id << " twice";
      const double d = got.distances[i][t].item<float>();
      const double want = ref.distances[i][id];
      EXPECT_NEAR(d, want, 2e-4 * (1 + want)) << "query " << i << " rank " << t;
      if (t > 0) {
        EXPECT_LE(got.distances[i][t - 1].item<float>(), d) << "query " << i;
      }
    }
  }
}

struct Case {
  const char* kind;
  double curvature;
};

class FaissRecall : public ::testing::TestWithParam<Case> {};

TEST_P(FaissRecall, MatchesBruteForce) {
  const auto [kind, c] = GetParam();
  const auto gallery = clustered_points(3000, 16, c, 1);
  const auto queries = clustered_points(60, 16, c, 2);
  FaissSearchOptions options;
  options.kind = kind;
  options.ef_search = 256;
  options.nlist = 32;
  options.nprobe = 12;
  const FaissSearcher searcher(gallery, c, options);
  EXPECT_EQ(searcher.name(), std::string("faiss-") + kind);
  const auto ref = brute_force(queries, gallery, c);
  for (const int64_t k : {1, 10, 50}) {
    const auto got = searcher.search(queries, k);
    ASSERT_EQ(got.ids.size(0), 60);
    ASSERT_EQ(got.ids.size(1), k);
    EXPECT_GE(recall(got, ref, k), 0.99) << kind << ", c = " << c << ", k = " << k;
    expect_exact_distances(got, ref, gallery.size(0));
  }
}

INSTANTIATE_TEST_SUITE_P(KindsAndCurvatures, FaissRecall,
                         ::testing::Values(Case{"hnsw", 1.0}, Case{"ivf", 1.0}, Case{"hnsw", 0.0},
                                           Case{"ivf", 0.0}, Case{"hnsw", 0.3}),
                         [](const auto& info) {
                           return std::string(info.param.kind) + "_c" +
                                  std::to_string(static_cast<int>(info.param.curvature * 10));
                         });

TEST(FaissEdge, KAboveGallerySizeReturnsEveryRowInExactOrder) {
  const auto gallery = clustered_points(40, 4, 1.0, 3);
  const auto queries = clustered_points(5, 4, 1.0, 4);
  const FaissSearcher searcher(gallery, 1.0, FaissSearchOptions{});
  const auto got = searcher.search(queries, 1000);
  ASSERT_EQ(got.ids.size(1), 40);
  const auto ref = brute_force(queries, gallery, 1.0);
  EXPECT_EQ(recall(got, ref, 40), 1.0);
  expect_exact_distances(got, ref, 40);
}

TEST(FaissEdge, SmallProbedListsStillGiveKResults) {
  // 76 lists of ~40 rows, one probed, 2·200 candidates wanted: the searcher must probe more.
  const auto gallery = clustered_points(3000, 16, 1.0, 5);
  const auto queries = clustered_points(20, 16, 1.0, 6);
  FaissSearchOptions options;
  options.kind = "ivf";
  options.nprobe = 1;
  const FaissSearcher searcher(gallery, 1.0, options);
  EXPECT_EQ(searcher.options().nlist, 3000 / 39);
  const auto got = searcher.search(queries, 200);
  ASSERT_EQ(got.ids.size(1), 200);
  const auto ref = brute_force(queries, gallery, 1.0);
  expect_exact_distances(got, ref, 3000);
  EXPECT_GE(recall(got, ref, 200), 0.9);
}

TEST(FaissEdge, ConcurrentSearchesAgreeWithSerialOnes) {
  const auto gallery = clustered_points(2000, 8, 1.0, 7);
  const auto queries = clustered_points(32, 8, 1.0, 8);
  for (const char* kind : {"hnsw", "ivf"}) {
    FaissSearchOptions options;
    options.kind = kind;
    options.threads = 2;
    const FaissSearcher searcher(gallery, 1.0, options);
    const auto serial = searcher.search(queries, 10);
    std::vector<Neighbors> results(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < results.size(); ++t)
      threads.emplace_back([&, t] { results[t] = searcher.search(queries, 10); });
    for (auto& th : threads) th.join();
    for (const auto& r : results) {
      EXPECT_TRUE(torch::equal(r.ids, serial.ids)) << kind;
      EXPECT_TRUE(torch::equal(r.distances, serial.distances)) << kind;
    }
  }
}

TEST(FaissMemory, BytesFollowTheIndexLayout) {
  const int64_t n = 2500;
  const auto gallery = clustered_points(n, 8, 1.0, 9);
  const int64_t vector_bytes = n * (kDim + 3) * 4;

  FaissSearchOptions ivf;
  ivf.kind = "ivf";
  ivf.nlist = 20;
  // IVF: centroids, then each row's vector and 8-byte id.
  EXPECT_EQ(FaissSearcher(gallery, 1.0, ivf).memory_bytes(),
            20 * (kDim + 3) * 4 + vector_bytes + n * 8);

  FaissSearchOptions hnsw;
  hnsw.kind = "hnsw";
  hnsw.hnsw_m = 16;
  // HNSW: vectors, 2M bottom-layer links of 4 bytes per row (upper layers add ~1/M of that), an
  // 8-byte offset and a 4-byte level per row.
  const int64_t floor = vector_bytes + n * 2 * 16 * 4 + n * 12;
  const int64_t bytes = FaissSearcher(gallery, 1.0, hnsw).memory_bytes();
  EXPECT_GE(bytes, floor);
  EXPECT_LE(bytes, floor + n * 16 * 4 / 2);
}

TEST(FaissErrors, BadInputThrows) {
  const auto gallery = clustered_points(500, 4, 1.0, 10);
  const FaissSearcher searcher(gallery, 1.0, FaissSearchOptions{});
  const auto queries = clustered_points(3, 4, 1.0, 11);
  EXPECT_THROW(searcher.search(queries, 0), Error);
  EXPECT_THROW(searcher.search(queries, -5), Error);
  EXPECT_THROW(searcher.search(queries.narrow(1, 0, kDim - 1), 5), Error);
  EXPECT_THROW(searcher.search(queries.to(torch::kFloat64), 5), Error);
  auto nan_query = queries.clone();
  nan_query[1][2] = NAN;
  EXPECT_THROW(searcher.search(nan_query, 5), Error);
  EXPECT_THROW(FaissSearcher(torch::empty({0, kDim}), 1.0, FaissSearchOptions{}), Error);
  EXPECT_THROW(FaissSearcher(gallery.to(torch::kFloat64), 1.0, FaissSearchOptions{}), Error);
  EXPECT_THROW(FaissSearcher(gallery, -1.0, FaissSearchOptions{}), Error);
  auto nan_gallery = gallery.clone();
  nan_gallery[7][0] = NAN;
  EXPECT_THROW(FaissSearcher(nan_gallery, 1.0, FaissSearchOptions{}), Error);
  FaissSearchOptions bad_kind;
  bad_kind.kind = "lsh";
  EXPECT_THROW(FaissSearcher(gallery, 1.0, bad_kind), Error);
  FaissSearchOptions bad_refine;
  bad_refine.refine = 0;
  EXPECT_THROW(FaissSearcher(gallery, 1.0, bad_refine), Error);
  FaissSearchOptions bad_nlist;
  bad_nlist.kind = "ivf";
  bad_nlist.nlist = 501;
  EXPECT_THROW(FaissSearcher(gallery, 1.0, bad_nlist), Error);
}

}  // namespace
}  // namespace hcmsn::index
