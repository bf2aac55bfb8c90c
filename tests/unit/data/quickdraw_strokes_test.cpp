// QuickDraw simplified-stroke parsing and rendering: geometry of the raster, anti-aliasing,
// line width, and malformed drawings; plus a real drawing from ../shared/data.
#include "hcmsn/data/quickdraw_strokes.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace hcmsn::data {
namespace {

using test::contains;
using test::error_of;

torch::Tensor ink(const torch::Tensor& rgb) {
  return 255 - rgb[0].to(torch::kInt32);
}

TEST(QuickdrawStrokes, ParsesGoogleSimplifiedLines) {
  const auto d =
      parse_drawing(R"({"word":"line","countrycode":"DE","recognized":true,"key_id":"1",)"
                    R"("drawing":[[[0,255],[10,10]],[[5],[7]]]})");
  EXPECT_EQ(d.word, "line");
  ASSERT_EQ(d.strokes.size(), 2u);
  EXPECT_EQ(d.strokes[0].x, (std::vector<float>{0, 255}));
  EXPECT_EQ(d.strokes[1].y, (std::vector<float>{7}));
  // A bare strokes array (the JSON body of the search API) is accepted too.
  EXPECT_EQ(parse_drawing("[[[1,2,3],[4,5,6]]]").strokes[0].x.size(), 3u);
}

TEST(QuickdrawStrokes, HorizontalLineIsCentredWithTheRequestedWidth) {
  Drawing d;
  d.strokes.push_back({{0, 100}, {50, 50}});
  RenderOptions options;
  options.size = 64;
  options.margin = 0.0;
  options.line_width = 3;
  const auto img = render_drawing(d, options);
  ASSERT_EQ(img.sizes(), torch::IntArrayRef({3, 64, 64}));
  EXPECT_TRUE(torch::equal(img[0], img[1]) && torch::equal(img[0], img[2]));
  const auto rows = ink(img).sum(1);  // ink per row
  // A flat drawing is centred vertically: rows 31/32 straddle the middle.
  const int64_t peak = rows.argmax().item<int64_t>();
  EXPECT_TRUE(peak == 31 || peak == 32) << peak;
  // Ink covers width × length: 3 px × (61 px + the round caps' 3 px).
  const double total = ink(img).sum().item<double>() / 255.0;
  EXPECT_NEAR(total, 3.0 * 64.0, 20.0);
  // Anti-aliased: some pixels are neither white nor black.
  const auto v = img[0];
  EXPECT_GT(((v > 0) & (v < 255)).sum().item<int64_t>(), 0);
  // Doubling the width about doubles the ink.
  options.line_width = 6;
  const double wide = ink(render_drawing(d, options)).sum().item<double>() / 255.0;
  EXPECT_NEAR(wide / total, 2.0, 0.15);
}

TEST(QuickdrawStrokes, KeepsAspectAndMargin) {
  Drawing d;
  d.strokes.push_back({{0, 0, 50, 50, 0}, {0, 200, 200, 0, 0}});  // a tall rectangle
  RenderOptions options;
  options.size = 100;
  options.margin = 0.1;
  const auto any_ink = ink(render_drawing(d, options)) > 64;
  const auto cols = any_ink.any(0).nonzero().squeeze(1);
  const auto rows = any_ink.any(1).nonzero().squeeze(1);
  const auto height = rows.max().item<int64_t>() - rows.min().item<int64_t>();
  const auto width = cols.max().item<int64_t>() - cols.min().item<int64_t>();
  // The centre lines span 77 × 19.25 px (box 100·0.8 − 3); ink adds the 3 px width.
  EXPECT_NEAR(static_cast<double>(height) / width, (77.0 + 3) / (19.25 + 3), 0.3);
  EXPECT_GE(rows.min().item<int64_t>(), 9);  // margin 10 px
  EXPECT_LE(rows.max().item<int64_t>(), 90);
  EXPECT_NEAR((cols.min() + cols.max()).item<int64_t>() / 2.0, 49.5, 1.5);  // centred
}

TEST(QuickdrawStrokes, RejectsMalformedDrawings) {
  EXPECT_TRUE(contains(error_of([] { parse_drawing("{", "d"); }), "not valid JSON"));
  EXPECT_TRUE(contains(error_of([] { parse_drawing(R"({"word":"x"})", "d"); }), "no \"drawing\""));
  EXPECT_TRUE(contains(error_of([] { parse_drawing("[]", "d"); }), "non-empty"));
  EXPECT_TRUE(contains(error_of([] { parse_drawing("[[[1,2],[3]]]", "d"); }), "2 x but 1 y"));
  EXPECT_TRUE(
      contains(error_of([] { parse_drawing(R"([[[1,"a"],[3,4]]])", "d"); }), "non-numeric"));
  EXPECT_TRUE(contains(error_of([] { parse_drawing("[[[1e300],[3]]]", "d"); }), "out of range"));
  EXPECT_TRUE(contains(error_of([] { parse_drawing("[[[],[]]]", "d"); }), "no x"));
  Drawing d;
  d.strokes.push_back({{0}, {0}});
  RenderOptions bad;
  bad.size = 4;
  EXPECT_TRUE(contains(error_of([&] { render_drawing(d, bad); }), "render size"));
  // A single point is a dot, not an error.
  EXPECT_GT(ink(render_drawing(d)).sum().item<int64_t>(), 0);
}

TEST(QuickdrawStrokes, RendersARealDrawing) {
  const std::string path = test::shared("data/quickdraw/cat.ndjson");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no " << path;
  const auto d = read_drawing(path, 24);  // the last of 25
  EXPECT_EQ(d.word, "cat");
  const auto img = render_drawing(d);
  const double inked = (ink(img) > 128).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(inked, 0.01);  // strokes are there
  EXPECT_LT(inked, 0.4);   // and it is still a line drawing
  EXPECT_TRUE(contains(error_of([&] { read_drawing(path, 25); }), "no drawing 25"));
}

}  // namespace
}  // namespace hcmsn::data
