// On-the-fly item pixels for streaming training (data/item_pixels.h, data/drawing_reader.h):
// random access to .ndjson drawings equals the sequential reader, augmentation is
// torchvision-style crop + flip drawn from the item's seed alone, evaluation pixels equal the
// extraction transform, and unreadable items name themselves.
#include "hcmsn/data/item_pixels.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "hcmsn/data/image_decode.h"
#include "support/test_support.h"

namespace hcmsn::data {
namespace {

std::string write_ndjson(const std::string& dir, int lines) {
  const std::string path = dir + "/cat.ndjson";
  std::ofstream out(path);
  for (int i = 0; i < lines; ++i) {
    out << R"({"word":"cat","drawing":[[[0,)" << 10 + i << R"(,40],[0,30,)" << 5 * i
        << R"(]],[[5,6],[7,)" << i << "]]]}\n";
  }
  return path;
}

TEST(DrawingReader, RandomAccessEqualsTheSequentialReader) {
  const auto dir = test::temp_dir("drawing_reader");
  const auto path = write_ndjson(dir, 25);
  DrawingReader reader;
  for (int64_t record : {24, 0, 13, 13, 7}) {
    const auto a = reader.read(path, record);
    const auto b = read_drawing(path, record);
    ASSERT_EQ(a.strokes.size(), b.strokes.size());
    for (size_t s = 0; s < a.strokes.size(); ++s) {
      EXPECT_EQ(a.strokes[s].x, b.strokes[s].x);
      EXPECT_EQ(a.strokes[s].y, b.strokes[s].y);
    }
  }
  EXPECT_TRUE(test::contains(test::error_of([&] { reader.read(path, 25); }), "has no drawing 25"));
  EXPECT_TRUE(
      test::contains(test::error_of([&] { reader.read(dir + "/none.ndjson", 0); }), "cannot open"));
}

TEST(ItemPixels, AugmentedFromTheSeedAloneAndEvalAsExtraction) {
  const auto dir = test::temp_dir("item_pixels");
  torch::manual_seed(3);
  const auto image = torch::randint(0, 256, {3, 40, 60}, torch::kUInt8);
  cv::Mat mat(40, 60, CV_8UC3);
  const auto hwc = image.permute({1, 2, 0}).flip({2}).contiguous();  // RGB → BGR for OpenCV
  std::memcpy(mat.data, hwc.data_ptr<uint8_t>(), static_cast<size_t>(hwc.numel()));
  ASSERT_TRUE(cv::imwrite(dir + "/a.png", mat));
  DatasetItem item;
  item.path = dir + "/a.png";
  item.id = "photo/cat/a.png";
  DrawingReader drawings;
  ItemPixelOptions options;
  options.size = 24;

  const auto a = load_item_pixels(item, options, 99, drawings);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(99);
  const auto expected =
      random_resized_crop(decode_image_file(item.path), 24, options.augment_options, generator);
  EXPECT_TRUE(torch::equal(a, expected));
  EXPECT_TRUE(torch::equal(load_item_pixels(item, options, 99, drawings), a));  // same seed
  bool differs = false;
  for (uint64_t seed = 100; seed < 110 && !differs; ++seed) {
    differs = !torch::equal(load_item_pixels(item, options, seed, drawings), a);
  }
  EXPECT_TRUE(differs);

  options.augment = false;
  TransformOptions transform;
  transform.size = 24;
  EXPECT_TRUE(torch::equal(load_item_pixels(item, options, 1, drawings),
                           eval_resize(decode_image_file(item.path), transform)));

  // A drawing is rendered, then transformed the same way.
  DatasetItem drawing;
  drawing.path = write_ndjson(dir, 3);
  drawing.record = 2;
  drawing.id = "quickdraw/cat.ndjson#2";
  EXPECT_TRUE(torch::equal(
      load_item_pixels(drawing, options, 1, drawings),
      eval_resize(render_drawing(read_drawing(drawing.path, 2), options.render), transform)));

  std::ofstream(dir + "/bad.png") << "not a png";
  item.path = dir + "/bad.png";
  item.id = "photo/cat/bad.png";
  EXPECT_TRUE(test::contains(test::error_of([&] { load_item_pixels(item, options, 1, drawings); }),
                             "item photo/cat/bad.png"));
}

}  // namespace
}  // namespace hcmsn::data
