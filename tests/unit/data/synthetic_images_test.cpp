// Tests of the synthetic sketch/photo dataset: the class set and its zero-shot split,
// determinism of the renderers, pixel statistics that separate the two modalities, and the
// folder written by write_synthetic_dataset.
#include "hcmsn/data/synthetic_images.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <string>
#include <vector>

#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::data {
namespace {

namespace fs = std::filesystem;

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

cv::Mat grey(const cv::Mat& bgr) {
  cv::Mat g;
  cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
  return g;
}

double fraction_at_least(const cv::Mat& g, int level) {
  return static_cast<double>(cv::countNonZero(g >= level)) / static_cast<double>(g.total());
}

TEST(SyntheticImagesTest, ClassSetIsAFamilyByMarkGridWithTwoLevels) {
  const auto classes = synthetic_classes();
  ASSERT_GE(classes.size(), 30u);
  EXPECT_EQ(classes.size(), synthetic_family_names().size() * synthetic_mark_names().size());
  std::set<std::string> names;
  std::set<std::pair<int, int>> cells;
  for (const auto& c : classes) {
    names.insert(c.name);
    cells.insert({c.family, c.mark});
    EXPECT_EQ(c.parent, synthetic_family_names()[static_cast<size_t>(c.family)]);
    EXPECT_EQ(c.name, c.parent + "_" + synthetic_mark_names()[static_cast<size_t>(c.mark)]);
    EXPECT_NE(c.name, c.parent);  // two distinct levels
    for (char ch : c.name)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') << c.name;
    ASSERT_EQ(static_cast<int64_t>(c.attributes.size()), synthetic_attribute_dim());
    EXPECT_EQ(c.attributes[static_cast<size_t>(c.family)], 1.0f);
    const size_t mark_at = synthetic_family_names().size() + static_cast<size_t>(c.mark);
    EXPECT_EQ(c.attributes[mark_at], 1.0f);
  }
  EXPECT_EQ(names.size(), classes.size());
  EXPECT_EQ(cells.size(), classes.size());
  EXPECT_EQ(synthetic_attribute_dim(), 15);
  EXPECT_EQ(synthetic_class("star_ring").name, "star_ring");
  EXPECT_EQ(synthetic_class("star_ring").attributes, classes[4 * 6 + 1].attributes);
}

TEST(SyntheticImagesTest, AttributeVectorsAreDistinctPerClass) {
  std::set<std::vector<float>> seen;
  for (const auto& c : synthetic_classes()) EXPECT_TRUE(seen.insert(c.attributes).second);
  // Golden row: cross_xmark = family 5, mark 5, 12 corners, not convex, has a mark.
  const auto& c = synthetic_class("cross_xmark");
  const std::vector<float> want{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1.0f, 0, 1};
  EXPECT_EQ(c.attributes, want);
  const auto& plain = synthetic_class("circle_plain");
  const std::vector<float> want_plain{1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0};
  EXPECT_EQ(plain.attributes, want_plain);
}

TEST(SyntheticImagesTest, UnseenSplitKeepsEveryAttributeSeen) {
  const auto classes = synthetic_classes();
  const auto unseen = synthetic_unseen_classes();
  EXPECT_EQ(unseen.size(), 10u);
  const std::set<std::string> unseen_set(unseen.begin(), unseen.end());
  EXPECT_EQ(unseen_set.size(), unseen.size());
  std::map<int, int> seen_family, seen_mark, unseen_family, unseen_mark;
  int seen = 0;
  for (const auto& c : classes) {
    if (unseen_set.count(c.name)) {
      ++unseen_family[c.family];
      ++unseen_mark[c.mark];
    } else {
      ++seen;
      ++seen_family[c.family];
      ++seen_mark[c.mark];
    }
  }
  for (const auto& name : unseen) EXPECT_NO_THROW(synthetic_class(name));
  EXPECT_EQ(seen + unseen.size(), classes.size());
  for (int f = 0; f < static_cast<int>(synthetic_family_names().size()); ++f) {
    EXPECT_GE(seen_family[f], 4) << synthetic_family_names()[static_cast<size_t>(f)];
    EXPECT_GE(unseen_family[f], 1);
  }
  for (int m = 0; m < static_cast<int>(synthetic_mark_names().size()); ++m) {
    EXPECT_GE(seen_mark[m], 4) << synthetic_mark_names()[static_cast<size_t>(m)];
    EXPECT_GE(unseen_mark[m], 1);
  }
  EXPECT_EQ(unseen, synthetic_unseen_classes());  // deterministic
  EXPECT_TRUE(unseen_set.count("circle_plain"));
  EXPECT_TRUE(unseen_set.count("circle_dots"));
  EXPECT_TRUE(unseen_set.count("cross_xmark"));
  EXPECT_FALSE(unseen_set.count("cross_ring"));
}

TEST(SyntheticImagesTest, UnknownClassNameIsAnError) {
  const std::string msg = test::error_of([] { synthetic_class("dragon_ring"); });
  EXPECT_TRUE(test::contains(msg, "dragon_ring"));
  EXPECT_TRUE(test::contains(msg, "star_ring"));  // lists the valid names
}

TEST(SyntheticImagesTest, RenderingIsDeterministicPerClassAndSeed) {
  const auto& cls = synthetic_class("hexagon_bar");
  const auto& other = synthetic_class("hexagon_dots");
  for (int64_t size : {32, 64}) {
    const cv::Mat p1 = render_photo(cls, 7, size), p2 = render_photo(cls, 7, size);
    const cv::Mat s1 = render_sketch(cls, 7, size), s2 = render_sketch(cls, 7, size);
    EXPECT_EQ(p1.type(), CV_8UC3);
    EXPECT_EQ(s1.type(), CV_8UC3);
    EXPECT_EQ(p1.rows, size);
    EXPECT_EQ(p1.cols, size);
    EXPECT_EQ(s1.rows, size);
    EXPECT_TRUE(same_pixels(p1, p2));
    EXPECT_TRUE(same_pixels(s1, s2));
    EXPECT_FALSE(same_pixels(p1, render_photo(cls, 8, size)));
    EXPECT_FALSE(same_pixels(s1, render_sketch(cls, 8, size)));
    EXPECT_FALSE(same_pixels(p1, render_photo(other, 7, size)));
    EXPECT_FALSE(same_pixels(s1, render_sketch(other, 7, size)));
  }
}

TEST(SyntheticImagesTest, RenderingIsDeterministicUnderParallelCalls) {
  const auto classes = synthetic_classes();
  std::vector<cv::Mat> serial, parallel(classes.size());
  for (size_t i = 0; i < classes.size(); ++i) serial.push_back(render_photo(classes[i], i, 32));
  at::parallel_for(0, static_cast<int64_t>(classes.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      parallel[static_cast<size_t>(i)] =
          render_photo(classes[static_cast<size_t>(i)], static_cast<uint64_t>(i), 32);
  });
  for (size_t i = 0; i < classes.size(); ++i)
    EXPECT_TRUE(same_pixels(serial[i], parallel[i])) << classes[i].name;
}

TEST(SyntheticImagesTest, SketchesAreDarkStrokesOnWhiteAndPhotosAreNot) {
  const auto classes = synthetic_classes();
  double sketch_white = 0, photo_white = 0;
  int n = 0;
  for (const auto& c : classes) {
    for (uint64_t seed = 0; seed < 3; ++seed, ++n) {
      const cv::Mat s = render_sketch(c, seed, 64);
      const cv::Mat g = grey(s);
      const double white = fraction_at_least(g, 250);
      sketch_white += white;
      // Mostly paper, but some ink: an outline of at least a few dozen dark pixels.
      EXPECT_GT(white, 0.6) << c.name;
      EXPECT_GT(cv::countNonZero(g < 128), 30) << c.name << " seed " << seed;
      double lo = 0, hi = 0;
      cv::minMaxLoc(g, &lo, &hi);
      EXPECT_LT(lo, 100) << c.name;
      // Black and white: the three channels agree.
      std::vector<cv::Mat> ch;
      cv::split(s, ch);
      EXPECT_EQ(cv::norm(ch[0], ch[2], cv::NORM_INF), 0);
      const cv::Mat p = render_photo(c, seed, 64);
      photo_white += fraction_at_least(grey(p), 250);
    }
  }
  EXPECT_GT(sketch_white / n, 0.8);
  EXPECT_LT(photo_white / n, 0.1);
}

TEST(SyntheticImagesTest, PhotosAreColouredAndVaried) {
  const auto& cls = synthetic_class("square_ring");
  std::vector<cv::Scalar> means;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    const cv::Mat p = render_photo(cls, seed, 48);
    cv::Mat hsv;
    cv::cvtColor(p, hsv, cv::COLOR_BGR2HSV);
    cv::Scalar mean, sd;
    cv::meanStdDev(p, mean, sd);
    EXPECT_GT(sd[0] + sd[1] + sd[2], 10.0) << "seed " << seed;  // not a flat image
    means.push_back(mean);
  }
  // Random colours per image: mean colours spread out across seeds.
  double spread = 0;
  for (size_t i = 1; i < means.size(); ++i) spread += cv::norm(means[i] - means[0]);
  EXPECT_GT(spread / static_cast<double>(means.size() - 1), 20.0);
}

TEST(SyntheticImagesTest, RejectsBadRenderArguments) {
  SyntheticClass bad = synthetic_class("star_bar");
  bad.family = 17;
  EXPECT_TRUE(test::contains(test::error_of([&] { render_photo(bad, 0, 64); }), "family"));
  EXPECT_TRUE(test::contains(
      test::error_of([] { render_sketch(synthetic_class("star_bar"), 0, 8); }), "size"));
}

TEST(SyntheticImagesTest, WritesTheDatasetFolder) {
  const std::string root = test::temp_dir("synthetic_images");
  SyntheticImageOptions o;
  o.image_size = 24;
  o.photos_per_class = 2;
  o.sketches_per_class = 3;
  o.seed = 5;
  const auto summary = write_synthetic_dataset(root, o, false);
  const auto classes = synthetic_classes();
  EXPECT_EQ(summary.num_classes, static_cast<int64_t>(classes.size()));
  EXPECT_EQ(summary.num_unseen, 10);
  EXPECT_EQ(summary.num_photos, 2 * summary.num_classes);
  EXPECT_EQ(summary.num_sketches, 3 * summary.num_classes);
  EXPECT_EQ(summary.photo_dir, root + "/photo");

  std::vector<std::string> names;
  for (const auto& c : classes) names.push_back(c.name);
  EXPECT_EQ(io::read_labels(summary.classes_file), names);
  EXPECT_EQ(io::read_labels(summary.unseen_file), synthetic_unseen_classes());
  const std::string hierarchy = util::read_file(summary.hierarchy_file);
  EXPECT_TRUE(test::contains(hierarchy, "star_ring star\n"));
  EXPECT_EQ(std::count(hierarchy.begin(), hierarchy.end(), '\n'),
            static_cast<long>(classes.size()));

  const torch::Tensor sem = io::read_npy(summary.semantics_file);
  ASSERT_EQ(sem.scalar_type(), torch::kFloat32);
  ASSERT_EQ(sem.sizes(), (std::vector<int64_t>{summary.num_classes, synthetic_attribute_dim()}));
  for (size_t i = 0; i < classes.size(); ++i)
    for (size_t j = 0; j < classes[i].attributes.size(); ++j)
      EXPECT_EQ(sem[static_cast<int64_t>(i)][static_cast<int64_t>(j)].item<float>(),
                classes[i].attributes[j]);

  for (const auto& c : classes) {
    EXPECT_TRUE(fs::exists(root + "/photo/" + c.name + "/0001.png"));
    EXPECT_FALSE(fs::exists(root + "/photo/" + c.name + "/0002.png"));
    EXPECT_TRUE(fs::exists(root + "/sketch/" + c.name + "/0002.png"));
  }
  // Stored images are exactly the renderer's output for the documented per-image seed.
  const auto& cls = synthetic_class("triangle_dots");
  const cv::Mat stored = cv::imread(root + "/sketch/triangle_dots/0002.png", cv::IMREAD_COLOR);
  EXPECT_TRUE(same_pixels(
      stored, render_sketch(cls, synthetic_image_seed(5, "triangle_dots", 0, 2), o.image_size)));
  const cv::Mat photo = cv::imread(root + "/photo/triangle_dots/0001.png", cv::IMREAD_COLOR);
  EXPECT_TRUE(same_pixels(
      photo, render_photo(cls, synthetic_image_seed(5, "triangle_dots", 1, 1), o.image_size)));

  // Regenerating with fewer images removes the stale ones and leaves foreign files alone.
  util::write_file_atomic(root + "/photo/star_ring/notes.txt", "mine");
  o.photos_per_class = 1;
  write_synthetic_dataset(root, o, false);
  EXPECT_TRUE(fs::exists(root + "/photo/star_ring/0000.png"));
  EXPECT_FALSE(fs::exists(root + "/photo/star_ring/0001.png"));
  EXPECT_TRUE(fs::exists(root + "/photo/star_ring/notes.txt"));
  EXPECT_TRUE(same_pixels(cv::imread(root + "/sketch/triangle_dots/0002.png", cv::IMREAD_COLOR),
                          stored));  // same options → same pixels
  fs::remove_all(root);
}

TEST(SyntheticImagesTest, DatasetSeedChangesTheImages) {
  EXPECT_NE(synthetic_image_seed(0, "star_ring", 1, 0), synthetic_image_seed(1, "star_ring", 1, 0));
  EXPECT_NE(synthetic_image_seed(0, "star_ring", 1, 0), synthetic_image_seed(0, "star_ring", 0, 0));
  EXPECT_NE(synthetic_image_seed(0, "star_ring", 1, 0), synthetic_image_seed(0, "star_bar", 1, 0));
  EXPECT_NE(synthetic_image_seed(0, "star_ring", 1, 0), synthetic_image_seed(0, "star_ring", 1, 1));
}

TEST(SyntheticImagesTest, RejectsBadDatasetOptions) {
  const std::string root = test::temp_dir("synthetic_bad");
  SyntheticImageOptions o;
  o.photos_per_class = 0;
  EXPECT_TRUE(test::contains(test::error_of([&] { write_synthetic_dataset(root, o, false); }),
                             "photos_per_class"));
  o = {};
  o.image_size = 4;
  EXPECT_TRUE(test::contains(test::error_of([&] { write_synthetic_dataset(root, o, false); }),
                             "image_size"));
  EXPECT_TRUE(fs::is_empty(root));  // options are checked before anything is written
  fs::remove_all(root);
}

}  // namespace
}  // namespace hcmsn::data
