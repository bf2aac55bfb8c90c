// The gallery file: round trip, appends that keep ids, and every kind of damage read as a clear
// error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hcmsn/index/gallery.h"
#include "hcmsn/util/atomic_file.h"
#include "support/ball_points.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

index::Gallery small_gallery(int64_t n = 5, int64_t d = 3) {
  index::Gallery g;
  g.curvature = 0.5;
  g.embedder = {{"run_dir", "/runs/a"}, {"dim", d}};
  g.meta = {{"created", "2026-11-25T00:00:00Z"}};
  std::vector<index::GalleryEntry> entries;
  for (int64_t i = 0; i < n; ++i) {
    entries.push_back({"/photos/p" + std::to_string(i) + ".jpg", i % 2 ? "cat" : ""});
  }
  index::append(g, test::points(n, d, g.curvature, 0.0, 0.9, 3, torch::kFloat32), entries);
  return g;
}

TEST(Gallery, RoundTripKeepsEverything) {
  const std::string path = test::temp_dir("gallery") + "/g.hcmsn";
  const index::Gallery g = small_gallery();
  index::save_gallery(path, g);
  const index::Gallery back = index::load_gallery(path);
  EXPECT_TRUE(torch::equal(back.embeddings, g.embeddings));
  ASSERT_EQ(back.entries.size(), g.entries.size());
  for (size_t i = 0; i < g.entries.size(); ++i) {
    EXPECT_EQ(back.entries[i].path, g.entries[i].path);
    EXPECT_EQ(back.entries[i].class_name, g.entries[i].class_name);
  }
  EXPECT_EQ(back.curvature, g.curvature);
  EXPECT_EQ(back.embedder, g.embedder);
  EXPECT_EQ(back.meta, g.meta);
  EXPECT_EQ(back.class_names(), std::vector<std::string>{"cat"});
}

TEST(Gallery, AppendKeepsExistingIds) {
  index::Gallery g = small_gallery(4);
  const torch::Tensor before = g.embeddings.clone();
  index::append(g, test::points(2, 3, 0.5, 0.0, 0.5, 9, torch::kFloat32),
                {{"/photos/new0.jpg", "dog"}, {"/photos/new1.jpg", "dog"}});
  ASSERT_EQ(g.size(), 6);
  EXPECT_TRUE(torch::equal(g.embeddings.slice(0, 0, 4), before));
  EXPECT_EQ(g.entries[4].path, "/photos/new0.jpg");
  EXPECT_EQ(g.class_names(), (std::vector<std::string>{"cat", "dog"}));
}

TEST(Gallery, BadAppendsLeaveTheGalleryUnchanged) {
  index::Gallery g = small_gallery(4);
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               index::append(g, torch::zeros({1, 5}), {{"/x.jpg", ""}});
                             }),
                             "5 dimensions but the gallery has 3"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               index::append(g, torch::zeros({2, 3}), {{"/x.jpg", ""}});
                             }),
                             "1 entries for 2 rows"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               index::append(g, torch::full({1, 3}, NAN), {{"/nan.jpg", ""}});
                             }),
                             "NaN"));
  // √0.5 · 1.5 > 1: outside the ball of curvature 0.5.
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               index::append(g, torch::full({1, 3}, 1.5f), {{"/out.jpg", ""}});
                             }),
                             "outside the ball"));
  EXPECT_EQ(g.size(), 4);
  EXPECT_EQ(g.entries.size(), 4u);
}

TEST(Gallery, DamagedFilesAreClearErrors) {
  const std::string dir = test::temp_dir("gallery_damage");
  const std::string path = dir + "/g.hcmsn";
  index::save_gallery(path, small_gallery());
  const std::string bytes = util::read_file(path);

  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x10;
  util::write_file_atomic(dir + "/flipped", flipped);
  EXPECT_TRUE(
      test::contains(test::error_of([&] { index::load_gallery(dir + "/flipped"); }), "checksum"));

  util::write_file_atomic(dir + "/short", bytes.substr(0, bytes.size() / 2));
  EXPECT_TRUE(
      test::contains(test::error_of([&] { index::load_gallery(dir + "/short"); }), "truncated"));

  util::write_file_atomic(dir + "/text", "not a gallery\n");
  EXPECT_FALSE(test::error_of([&] { index::load_gallery(dir + "/text"); }).empty());
  EXPECT_TRUE(
      test::contains(test::error_of([&] { index::load_gallery(dir + "/missing"); }), "missing"));
}

TEST(Gallery, ResultEntriesFormat) {
  const index::Gallery g = small_gallery(3);
  const auto j = index::result_entries(g, torch::tensor({{2, 1, -1}}, torch::kInt64),
                                       torch::tensor({{0.25f, 0.5f, INFINITY}}), 0);
  ASSERT_EQ(j.size(), 2u);  // the −1 is left out
  EXPECT_EQ(j[0]["id"], 2);
  EXPECT_EQ(j[0]["path"], "/photos/p2.jpg");
  EXPECT_TRUE(j[0]["class"].is_null());
  EXPECT_EQ(j[1]["class"], "cat");
  EXPECT_DOUBLE_EQ(j[1]["distance"].get<double>(), 0.5);
}

}  // namespace
}  // namespace hcmsn
