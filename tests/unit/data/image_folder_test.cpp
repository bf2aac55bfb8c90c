// Tests of the ROOT/{sketch,photo}/<class>/ scanner and the image decoder: ordering, skipped
// entries, missing folders, corrupt files, resizing, channel handling and pixel round trips.
#include "hcmsn/data/image_folder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::data {
namespace {

namespace fs = std::filesystem;

// A small BGR image whose pixel (y, x) is (x·10 + c, y·10, 200) in BGR channel c order.
cv::Mat pattern(int h, int w) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 10 + 1, y * 10, 200);
  return img;
}

void write_png(const std::string& path, const cv::Mat& img) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_TRUE(cv::imwrite(path, img)) << path;
}

class ImageFolderTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = test::temp_dir("image_folder"); }
  void TearDown() override { fs::remove_all(root_); }
  std::string at(const std::string& rel) const { return root_ + "/" + rel; }

  // sketch/{cat,ant}, photo/{cat,bee}: the class list is the sorted union.
  void make_tree() {
    const cv::Mat img = pattern(4, 6);
    write_png(at("sketch/cat/b.png"), img);
    write_png(at("sketch/cat/a.PNG"), img);
    write_png(at("sketch/ant/z.bmp"), img);
    write_png(at("photo/cat/10.jpg"), img);
    write_png(at("photo/cat/09.jpeg"), img);
    write_png(at("photo/bee/x.png"), img);
    util::write_file_atomic(at("sketch/cat/readme.txt"), "not an image");
    util::write_file_atomic(at("sketch/cat/.hidden.png"), "hidden");
    util::write_file_atomic(at("photo/loose.png"), "a file outside any class folder");
    fs::create_directories(at("photo/cat/nested"));
    write_png(at("photo/.cache/y.png"), img);
  }

  std::string root_;
};

TEST_F(ImageFolderTest, ScanOrdersByModalityClassAndFileName) {
  make_tree();
  const ImageFolder f = scan_image_folder(root_);
  EXPECT_EQ(f.class_names, (std::vector<std::string>{"ant", "bee", "cat"}));
  ASSERT_EQ(f.items.size(), 6u);
  const std::vector<std::string> want{"sketch/ant/z.bmp", "sketch/cat/a.PNG",  "sketch/cat/b.png",
                                      "photo/bee/x.png",  "photo/cat/09.jpeg", "photo/cat/10.jpg"};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(f.items[i].path, at(want[i])) << i;
  EXPECT_EQ(f.items[0].modality, model::kSketch);
  EXPECT_EQ(f.items[5].modality, model::kPhoto);
  EXPECT_EQ(f.items[0].class_name, "ant");
  EXPECT_EQ(f.items[0].class_index, 0);
  EXPECT_EQ(f.items[3].class_index, 1);
  EXPECT_EQ(f.items[5].class_index, 2);
  EXPECT_EQ(f.num_sketches, 3);
  EXPECT_EQ(f.num_photos, 3);
  // readme.txt, .hidden.png, photo/loose.png, photo/cat/nested, photo/.cache
  EXPECT_EQ(f.skipped_entries, 5);
}

TEST_F(ImageFolderTest, ImageExtensions) {
  EXPECT_TRUE(is_image_file_name("a.png"));
  EXPECT_TRUE(is_image_file_name("a.JPEG"));
  EXPECT_TRUE(is_image_file_name("a.b.Jpg"));
  EXPECT_TRUE(is_image_file_name("x.bmp"));
  EXPECT_FALSE(is_image_file_name("png"));
  EXPECT_FALSE(is_image_file_name(".png"));
  EXPECT_FALSE(is_image_file_name("a.gif"));
  EXPECT_FALSE(is_image_file_name("a.png.txt"));
}

TEST_F(ImageFolderTest, MissingFoldersAreClearErrors) {
  EXPECT_TRUE(
      test::contains(test::error_of([&] { scan_image_folder(at("nowhere")); }), "does not exist"));
  fs::create_directories(at("photo/cat"));
  std::string msg = test::error_of([&] { scan_image_folder(root_); });
  EXPECT_TRUE(test::contains(msg, "'sketch'")) << msg;
  fs::remove_all(at("photo"));
  write_png(at("sketch/cat/a.png"), pattern(2, 2));
  msg = test::error_of([&] { scan_image_folder(root_); });
  EXPECT_TRUE(test::contains(msg, "'photo'")) << msg;
  fs::create_directories(at("photo/cat"));
  msg = test::error_of([&] { scan_image_folder(root_); });
  EXPECT_TRUE(test::contains(msg, "no photo images")) << msg;
}

TEST_F(ImageFolderTest, PngRoundTripIsExactAndChannelsFirstRgb) {
  const cv::Mat img = pattern(8, 8);
  write_png(at("p.png"), img);
  const torch::Tensor t = load_image(at("p.png"), 8);
  ASSERT_EQ(t.scalar_type(), torch::kUInt8);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 8, 8}));
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) {
      const cv::Vec3b bgr = img.at<cv::Vec3b>(y, x);
      EXPECT_EQ(t[0][y][x].item<uint8_t>(), bgr[2]);  // R
      EXPECT_EQ(t[1][y][x].item<uint8_t>(), bgr[1]);  // G
      EXPECT_EQ(t[2][y][x].item<uint8_t>(), bgr[0]);  // B
    }
}

TEST_F(ImageFolderTest, ResizesToSquareOfRequestedSize) {
  cv::Mat img(40, 80, CV_8UC3, cv::Scalar(10, 20, 30));
  write_png(at("wide.png"), img);
  for (int64_t size : {1, 16, 32, 100}) {
    const torch::Tensor t = load_image(at("wide.png"), size);
    EXPECT_EQ(t.sizes(), (std::vector<int64_t>{3, size, size}));
    // A uniform image stays uniform under any interpolation.
    EXPECT_EQ(t[0].min().item<uint8_t>(), 30);
    EXPECT_EQ(t[0].max().item<uint8_t>(), 30);
    EXPECT_EQ(t[2].max().item<uint8_t>(), 10);
  }
  // Shrinking by 2 with INTER_AREA averages 2×2 blocks exactly.
  cv::Mat checker(4, 4, CV_8UC3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) checker.at<cv::Vec3b>(y, x) = cv::Vec3b::all((x + y) % 2 ? 200 : 0);
  write_png(at("checker.png"), checker);
  const torch::Tensor half = load_image(at("checker.png"), 2);
  EXPECT_EQ(half.min().item<uint8_t>(), 100);
  EXPECT_EQ(half.max().item<uint8_t>(), 100);
  EXPECT_TRUE(test::contains(test::error_of([&] { load_image(at("wide.png"), 0); }), "size"));
}

TEST_F(ImageFolderTest, GreyAndTransparentImages) {
  cv::Mat g(3, 3, CV_8UC1, cv::Scalar(77));
  write_png(at("g.png"), g);
  const torch::Tensor tg = load_image(at("g.png"), 3);
  EXPECT_EQ(tg.min().item<uint8_t>(), 77);
  EXPECT_EQ(tg.max().item<uint8_t>(), 77);
  // Fully transparent black pixels become white; opaque ones keep their colour.
  cv::Mat rgba(2, 2, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  rgba.at<cv::Vec4b>(0, 0) = cv::Vec4b(10, 20, 30, 255);
  write_png(at("a.png"), rgba);
  const torch::Tensor ta = load_image(at("a.png"), 2);
  EXPECT_EQ(ta[0][0][0].item<uint8_t>(), 30);
  EXPECT_EQ(ta[2][0][0].item<uint8_t>(), 10);
  EXPECT_EQ(ta[0][1][1].item<uint8_t>(), 255);
  EXPECT_EQ(ta[1][0][1].item<uint8_t>(), 255);
  // 16-bit: 65535 → 255.
  cv::Mat deep(2, 2, CV_16UC3, cv::Scalar(65535, 0, 257 * 100));
  write_png(at("d.png"), deep);
  const torch::Tensor td = load_image(at("d.png"), 2);
  EXPECT_EQ(td[0][0][0].item<uint8_t>(), 100);
  EXPECT_EQ(td[2][0][0].item<uint8_t>(), 255);
}

TEST_F(ImageFolderTest, CorruptAndMissingFilesNameTheFile) {
  util::write_file_atomic(at("x.png"), "\x89PNG garbage bytes, not a real image");
  std::string msg = test::error_of([&] { load_image(at("x.png"), 8); });
  EXPECT_TRUE(test::contains(msg, at("x.png"))) << msg;
  EXPECT_TRUE(test::contains(msg, "cannot decode")) << msg;
  msg = test::error_of([&] { load_image(at("missing.png"), 8); });
  EXPECT_TRUE(test::contains(msg, at("missing.png"))) << msg;
}

TEST_F(ImageFolderTest, LoadImagesDecodesEveryItemInOrder) {
  make_tree();
  const ImageFolder f = scan_image_folder(root_);
  const LoadedImages loaded = load_images(f.items, 6);
  ASSERT_EQ(loaded.pixels.sizes(), (std::vector<int64_t>{6, 3, 6, 6}));
  EXPECT_TRUE(loaded.failed.empty());
  for (size_t i = 0; i < f.items.size(); ++i) {
    const torch::Tensor one = load_image(f.items[i].path, 6);
    EXPECT_TRUE(torch::equal(loaded.pixels[static_cast<int64_t>(i)], one)) << f.items[i].path;
  }
  EXPECT_EQ(load_images({}, 6).pixels.sizes(), (std::vector<int64_t>{0, 3, 6, 6}));
}

TEST_F(ImageFolderTest, UnreadableFilesThrowOrAreReportedNeverDropped) {
  const cv::Mat img = pattern(5, 5);
  std::vector<ImageItem> items;
  for (int i = 0; i < 40; ++i) {
    const std::string path = at("s/" + std::to_string(i) + ".png");
    if (i == 3 || i == 31) {
      fs::create_directories(at("s"));
      util::write_file_atomic(path, "garbage");
    } else {
      write_png(path, img);
    }
    items.push_back({path, "c", model::kSketch, 0});
  }
  const std::string msg = test::error_of([&] { load_images(items, 5); });
  EXPECT_TRUE(test::contains(msg, "2 of 40")) << msg;
  EXPECT_TRUE(test::contains(msg, at("s/3.png"))) << msg;
  EXPECT_TRUE(test::contains(msg, at("s/31.png"))) << msg;

  LoadOptions skip;
  skip.skip_unreadable = true;
  const LoadedImages loaded = load_images(items, 5, skip);
  EXPECT_EQ(loaded.failed, (std::vector<int64_t>{3, 31}));
  ASSERT_EQ(loaded.pixels.size(0), 40);
  EXPECT_EQ(loaded.pixels[3].max().item<uint8_t>(), 0);
  EXPECT_EQ(loaded.pixels[31].max().item<uint8_t>(), 0);
  EXPECT_TRUE(torch::equal(loaded.pixels[4], load_image(items[4].path, 5)));
}

TEST_F(ImageFolderTest, FloatInputScalesAndNormalises) {
  const torch::Tensor px =
      torch::tensor({0, 51, 255, 255, 0, 102}, torch::kUInt8).reshape({1, 3, 1, 2});
  const torch::Tensor f = to_float_input(px);
  EXPECT_EQ(f.scalar_type(), torch::kFloat32);
  EXPECT_EQ(f.sizes(), px.sizes());
  EXPECT_FLOAT_EQ(f[0][0][0][1].item<float>(), 0.2f);
  EXPECT_FLOAT_EQ(f[0][1][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(f[0][2][0][1].item<float>(), 0.4f);

  InputNormalization n;
  n.mean = {0.5f, 0.0f, 0.2f};
  n.std = {0.5f, 2.0f, 0.1f};
  const torch::Tensor g = to_float_input(px[0], n);  // (3, S, S) works too
  EXPECT_EQ(g.sizes(), px[0].sizes());
  EXPECT_FLOAT_EQ(g[0][0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(g[1][0][0].item<float>(), 0.5f);
  EXPECT_NEAR(g[2][0][1].item<float>(), 2.0f, 1e-5);
  const auto im = InputNormalization::imagenet();
  EXPECT_FLOAT_EQ(im.mean[0], 0.485f);

  EXPECT_TRUE(
      test::contains(test::error_of([&] { to_float_input(px.to(torch::kFloat32)); }), "uint8"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               to_float_input(torch::zeros({2, 4, 3, 3}, torch::kUInt8));
                             }),
                             "(N, 3, S, S)"));
  n.std[1] = 0;
  EXPECT_TRUE(test::contains(test::error_of([&] { to_float_input(px, n); }), "std > 0"));
}

}  // namespace
}  // namespace hcmsn::data
