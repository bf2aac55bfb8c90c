// Poincaré disk plot (hcmsn/report/poincare_disk_plot.h): the radius is √c‖h‖ exactly, the
// direction is the projection on the top-2 principal axes (checked against an independent SVD
// and, for points on a 2-D subspace, by exact angle preservation), degenerate sizes, input
// validation, and the SVG (well formed, escaped, subsampled deterministically, markers by
// modality).
#include "hcmsn/report/poincare_disk_plot.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/report/svg_chart.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"
#include "unit/report/xml_check.h"

namespace hcmsn::report {
namespace {

using test::count_of;
using test::xml_problems;

// Points spread over the whole ball of curvature -c, some very close to the boundary.
torch::Tensor ball_points(int64_t n, int64_t d, double c, torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor v = torch::randn({n, d}, torch::kFloat64) *
                          torch::linspace(0.05, 12.0, n, torch::kFloat64).unsqueeze(1) /
                          std::sqrt(static_cast<double>(d) * c);
  return geometry::expmap0(v.to(dtype), c);  // projected in `dtype`: strictly inside
}

// The drawn part of the SVG: the markers of the points.
std::string points_group(const std::string& svg) {
  const size_t begin = svg.find("<g class=\"points\"");
  const size_t end = svg.find("<g class=\"legend\"");
  EXPECT_NE(begin, std::string::npos);
  EXPECT_NE(end, std::string::npos);
  return svg.substr(begin, end - begin);
}

TEST(ReportPoincareDisk, RadiusIsSqrtCTimesNormAndInsideTheDisk) {
  for (double c : {0.01, 1.0, 2.5}) {
    for (torch::ScalarType dtype : {torch::kFloat64, torch::kFloat32}) {
      const torch::Tensor h = ball_points(200, 16, c, dtype, 3);
      const torch::Tensor xy = disk_coordinates(h, c);
      ASSERT_EQ(xy.sizes(), torch::IntArrayRef({200, 2}));
      EXPECT_EQ(xy.scalar_type(), torch::kFloat64);
      const torch::Tensor expected = h.to(torch::kFloat64).norm(2, 1) * std::sqrt(c);
      const torch::Tensor got = xy.norm(2, 1);
      EXPECT_LT((got - expected).abs().max().item<double>(), 1e-12) << c << " " << dtype;
      EXPECT_LT(got.max().item<double>(), 1.0);
      EXPECT_GT(got.max().item<double>(), 0.99);  // the fixture does reach the boundary region
    }
  }
  // A float32 point projected onto the boundary stays inside the disk.
  const torch::Tensor edge = geometry::project(torch::full({1, 4}, 10.0f), 1.0);
  EXPECT_LT(disk_coordinates(edge, 1.0).norm().item<double>(), 1.0);
  // A hair outside (float rounding of a boundary point) is projected, not rejected.
  const torch::Tensor hair = torch::tensor({{1.0 + 1e-6, 0.0}}, torch::kFloat64) / 2.0;
  EXPECT_LT(disk_coordinates(hair, 4.0).norm().item<double>(), 1.0);
}

TEST(ReportPoincareDisk, DirectionIsTheProjectionOnTheTopTwoPrincipalAxes) {
  // Anisotropic 5-D data: a clear gap between the 2nd and 3rd singular values.
  const double c = 0.5;
  torch::manual_seed(11);
  const torch::Tensor scales = torch::tensor({3.0, 2.0, 1.0, 0.5, 0.2}, torch::kFloat64);
  const torch::Tensor rotation =
      std::get<0>(torch::linalg::qr(torch::randn({5, 5}, torch::kFloat64)));
  const torch::Tensor v = (torch::randn({40, 5}, torch::kFloat64) * scales).mm(rotation.t()) * 0.4;
  const torch::Tensor h = geometry::expmap0(v, c);
  const torch::Tensor xy = disk_coordinates(h, c);

  // Independent reference: SVD of the tangent vectors, projection, rescaled to √c‖h‖.
  const torch::Tensor u = geometry::logmap0(h, c);
  const torch::Tensor vt = std::get<2>(torch::linalg::svd(u, /*full_matrices=*/false, {}));
  const torch::Tensor p = u.mm(vt.slice(0, 0, 2).t());
  const torch::Tensor expected = p / p.norm(2, 1, true) * (h.norm(2, 1, true) * std::sqrt(c));
  for (int64_t k = 0; k < 2; ++k) {
    const torch::Tensor got = xy.select(1, k), want = expected.select(1, k);
    const double same = (got - want).abs().max().item<double>();
    const double flipped = (got + want).abs().max().item<double>();
    EXPECT_LT(std::min(same, flipped), 1e-9) << "axis " << k;
  }
  // The first disk axis carries the larger spread.
  EXPECT_GT(xy.select(1, 0).square().sum().item<double>(),
            xy.select(1, 1).square().sum().item<double>());
  // Deterministic, including the signs.
  EXPECT_TRUE(torch::equal(xy, disk_coordinates(h, c)));
}

TEST(ReportPoincareDisk, PointsOnAPlaneKeepTheirAngles) {
  const double c = 2.0;
  torch::manual_seed(5);
  const torch::Tensor basis = std::get<0>(torch::linalg::qr(torch::randn({6, 2}, torch::kFloat64)));
  const torch::Tensor angle = torch::rand({30}, torch::kFloat64) * 2 * M_PI;
  const torch::Tensor radius = torch::rand({30}, torch::kFloat64) * 0.99 / std::sqrt(c);
  const torch::Tensor a = torch::stack({angle.cos(), angle.sin()}, 1) * radius.unsqueeze(1);
  const torch::Tensor h = a.mm(basis.t());  // (30, 6), on a plane through the origin
  const torch::Tensor xy = disk_coordinates(h, c);
  // The disk picture is the plane up to a rotation/reflection and the √c scale: equal Gram
  // matrices.
  const torch::Tensor gram_disk = xy.mm(xy.t());
  const torch::Tensor gram_plane = a.mm(a.t()) * c;
  EXPECT_LT((gram_disk - gram_plane).abs().max().item<double>(), 1e-12);
}

TEST(ReportPoincareDisk, SmallAndDegenerateInputs) {
  const torch::Tensor none = disk_coordinates(torch::zeros({0, 8}), 1.0);
  EXPECT_EQ(none.sizes(), torch::IntArrayRef({0, 2}));

  const torch::Tensor one_h = torch::tensor({{-0.3, 0.1, 0.2}}, torch::kFloat64);
  const torch::Tensor one = disk_coordinates(one_h, 1.0);
  EXPECT_NEAR(one.norm().item<double>(), one_h.norm().item<double>(), 1e-15);
  EXPECT_NEAR(one[0][1].item<double>(), 0.0, 1e-15);  // the only point lies on the first axis

  const torch::Tensor origin = disk_coordinates(torch::zeros({2, 3}), 1.0);
  EXPECT_EQ(origin.abs().max().item<double>(), 0.0);

  // d = 1: the line is drawn along the first axis, signs kept apart.
  const torch::Tensor line = disk_coordinates(torch::tensor({{0.5}, {-0.25}}), 1.0);
  EXPECT_NEAR(std::fabs(line[0][0].item<double>() - line[1][0].item<double>()), 0.75, 1e-7);
  EXPECT_EQ(line.select(1, 1).abs().max().item<double>(), 0.0);
}

TEST(ReportPoincareDisk, RejectsBadInput) {
  const torch::Tensor h = torch::zeros({3, 2});
  for (double c : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity()}) {
    EXPECT_TRUE(test::contains(test::error_of([&] { disk_coordinates(h, c); }), "curvature")) << c;
  }
  EXPECT_TRUE(
      test::contains(test::error_of([] { disk_coordinates(torch::zeros({3}), 1.0); }), "(N, d)"));
  EXPECT_TRUE(test::contains(test::error_of([] {
                               disk_coordinates(torch::zeros({2, 3}, torch::kInt64), 1.0);
                             }),
                             "float"));
  torch::Tensor bad = torch::zeros({4, 2});
  bad[2][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(test::contains(test::error_of([&] { disk_coordinates(bad, 1.0); }), "point 2"));
  // A point of the c = 0.01 ball (radius 10) read with c = 1: the wrong curvature.
  const torch::Tensor far = torch::tensor({{0.0, 0.0}, {5.0, 0.0}});
  const std::string msg = test::error_of([&] { disk_coordinates(far, 1.0); });
  EXPECT_TRUE(test::contains(msg, "point 1")) << msg;
  EXPECT_TRUE(test::contains(msg, "curvature")) << msg;

  const torch::Tensor ok = torch::zeros({2, 2});
  EXPECT_TRUE(test::contains(test::error_of([&] { svg_poincare_disk(ok, {0}, {"a"}, 1.0); }),
                             "one label per point"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               svg_poincare_disk(ok, {0, 1}, {"a"}, 1.0);
                             }),
                             "label 1"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               svg_poincare_disk(ok, {0, -1}, {}, 1.0);
                             }),
                             "label -1"));
  const std::vector<int64_t> modality = {0, 2};
  DiskPlotOptions options;
  options.modality = &modality;
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               svg_poincare_disk(ok, {0, 0}, {"a"}, 1.0, options);
                             }),
                             "modality"));
  options = {};
  options.max_points = -1;
  EXPECT_THROW(svg_poincare_disk(ok, {0, 0}, {"a"}, 1.0, options), Error);
  options = {};
  options.ring_distances = {0.0};
  EXPECT_THROW(svg_poincare_disk(ok, {0, 0}, {"a"}, 1.0, options), Error);
}

TEST(ReportPoincareDisk, SvgIsWellFormedEscapedAndColouredByClass) {
  const int64_t n = 120;
  const torch::Tensor h = ball_points(n, 8, 0.01, torch::kFloat32, 9);
  std::vector<int64_t> labels, modality;
  for (int64_t i = 0; i < n; ++i) {
    labels.push_back(i % 3);
    modality.push_back(i % 2);
  }
  const std::vector<std::string> names = {"cat", "<b>&\"'dog", "zebra"};
  DiskPlotOptions options;
  options.title = "Unseen <classes>";
  options.modality = &modality;
  const std::string svg = svg_poincare_disk(h, labels, names, 0.01, options);
  EXPECT_EQ(xml_problems(svg), "");
  EXPECT_EQ(count_of(svg, "<svg"), 1u);
  EXPECT_EQ(count_of(svg, "</svg>"), 1u);
  EXPECT_FALSE(test::contains(svg, "<b>"));
  EXPECT_TRUE(test::contains(svg, "&lt;b&gt;&amp;&quot;&#39;dog"));
  EXPECT_TRUE(test::contains(svg, "Unseen &lt;classes&gt;"));
  EXPECT_EQ(count_of(svg, ">cat<"), 1u);  // one legend entry per class
  // Rings at unit-disk distances 1, 2, 4 carry the ball's distance s/√c = 10, 20, 40.
  EXPECT_TRUE(test::contains(svg, ">d=10<"));
  EXPECT_TRUE(test::contains(svg, ">d=40<"));
  EXPECT_TRUE(test::contains(svg, ">photo<"));
  EXPECT_TRUE(test::contains(svg, ">sketch<"));

  const std::string points = points_group(svg);
  EXPECT_EQ(count_of(points, "<circle"), static_cast<size_t>(n / 2));  // photos
  EXPECT_EQ(count_of(points, "<path"), static_cast<size_t>(n / 2));    // sketches
  for (int64_t k = 0; k < 3; ++k) {
    EXPECT_EQ(count_of(points, "fill=\"" + palette_color(k) + "\""), static_cast<size_t>(n / 3));
  }
}

TEST(ReportPoincareDisk, SubsamplesDeterministically) {
  const torch::Tensor h = ball_points(500, 4, 1.0, torch::kFloat64, 2);
  const std::vector<int64_t> labels(500, 0);
  DiskPlotOptions options;
  options.max_points = 37;
  const std::string a = svg_poincare_disk(h, labels, {}, 1.0, options);
  EXPECT_EQ(a, svg_poincare_disk(h, labels, {}, 1.0, options));
  EXPECT_EQ(count_of(points_group(a), "<circle"), 37u);
  EXPECT_TRUE(test::contains(a, "37 of 500 points shown"));
  EXPECT_TRUE(test::contains(a, ">0<"));  // no class names: the label itself
  options.seed = 1;
  EXPECT_NE(a, svg_poincare_disk(h, labels, {}, 1.0, options));
  options.max_points = 0;
  EXPECT_EQ(count_of(points_group(svg_poincare_disk(h, labels, {}, 1.0, options)), "<circle"),
            500u);
}

TEST(ReportPoincareDisk, EmptyAndSinglePointPlots) {
  const std::string empty = svg_poincare_disk(torch::zeros({0, 3}), {}, {"a"}, 1.0);
  EXPECT_EQ(xml_problems(empty), "");
  EXPECT_TRUE(test::contains(empty, "no points"));
  const std::string one = svg_poincare_disk(torch::tensor({{0.1, 0.2, 0.3}}), {0}, {"only"}, 1.0);
  EXPECT_EQ(xml_problems(one), "");
  EXPECT_EQ(count_of(points_group(one), "<circle"), 1u);
}

}  // namespace
}  // namespace hcmsn::report
