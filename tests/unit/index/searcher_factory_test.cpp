// Backend choice by name and by gallery size; both backends answer the same on a small gallery.
#include <gtest/gtest.h>

#include "hcmsn/index/searcher_factory.h"
#include "support/ball_points.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

index::Gallery gallery_of(int64_t n) {
  index::Gallery g;
  g.curvature = 1.0;
  std::vector<index::GalleryEntry> entries(static_cast<size_t>(n), {"/p.jpg", ""});
  index::append(g, test::points(n, 8, 1.0, 0.0, 0.9, 5, torch::kFloat32), entries);
  return g;
}

index::BackendOptions backend(const std::string& kind) {
  index::BackendOptions o;
  o.kind = kind;
  return o;
}

TEST(SearcherFactory, ChoosesByNameAndSize) {
  const index::Gallery g = gallery_of(400);
  EXPECT_EQ(index::make_searcher(g, backend("exact"))->name(), "exact");
  EXPECT_EQ(index::make_searcher(g, backend("faiss"))->name(), "faiss-ivf");
  index::BackendOptions automatic;
  automatic.auto_threshold = 401;
  EXPECT_EQ(index::make_searcher(g, automatic)->name(), "exact");
  automatic.auto_threshold = 400;
  EXPECT_EQ(index::make_searcher(g, automatic)->name(), "faiss-ivf");
  EXPECT_TRUE(test::contains(test::error_of([&] { index::make_searcher(g, backend("annoy")); }),
                             "unknown search backend 'annoy'"));
}

TEST(SearcherFactory, BackendsAgreeOnASmallGallery) {
  const index::Gallery g = gallery_of(400);
  const torch::Tensor q = test::points(6, 8, 1.0, 0.0, 0.9, 6, torch::kFloat32);
  index::BackendOptions faiss = backend("faiss");
  faiss.faiss.nprobe = 1000;  // every list: the candidates are exact, so must be the answer
  const auto a = index::make_searcher(g, backend("exact"))->search(q, 10);
  const auto b = index::make_searcher(g, faiss)->search(q, 10);
  EXPECT_TRUE(torch::equal(a.ids, b.ids));
  EXPECT_TRUE(torch::allclose(a.distances, b.distances));
}

}  // namespace
}  // namespace hcmsn
