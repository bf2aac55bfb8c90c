// Feature extraction: rows equal the backbone on the preprocessed pixels, drawings are rendered,
// photo views are seeded augmentations, unreadable items are reported and left out, and resuming
// reuses intact chunks bit for bit.
#include "hcmsn/features/feature_extractor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/synthetic_images.h"
#include "hcmsn/model/small_cnn.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/interrupt.h"
#include "support/test_support.h"

namespace hcmsn::features {
namespace {

namespace fs = std::filesystem;
using test::contains;
using test::error_of;

class FeatureExtractorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("feature_extractor"));
    data::SyntheticImageOptions o;
    o.image_size = 40;
    o.photos_per_class = 3;
    o.sketches_per_class = 3;
    const auto summary = data::write_synthetic_dataset(*dir_ + "/data", o, false);
    items_ = new std::vector<data::DatasetItem>();
    classes_ = new std::vector<std::string>{"c0", "c1"};
    int64_t n = 0;
    for (const char* modality : {"sketch", "photo"}) {
      int64_t folders = 0;
      for (const auto& entry : fs::directory_iterator(summary.root + "/" + modality)) {
        if (folders++ == 3) break;
        for (int i = 0; i < 2; ++i) {
          data::DatasetItem item;
          item.path = (entry.path() / ("000" + std::to_string(i) + ".png")).string();
          item.id = std::string(modality) + "/" + entry.path().filename().string() + "/" +
                    std::to_string(i);
          item.class_name = (*classes_)[n % 2];
          item.modality = std::string(modality) == "photo";
          items_->push_back(item);
          ++n;
        }
      }
    }
    // Two QuickDraw drawings.
    std::ofstream(*dir_ + "/line.ndjson")
        << R"({"word":"line","drawing":[[[0,255],[10,10]]]})"
        << "\n"
        << R"({"word":"line","drawing":[[[0,100,200],[0,200,0]],[[50],[50]]]})"
        << "\n";
    for (int r = 0; r < 2; ++r) {
      data::DatasetItem item;
      item.path = *dir_ + "/line.ndjson";
      item.record = r;
      item.id = "line.ndjson#" + std::to_string(r);
      item.class_name = "c1";
      items_->push_back(item);
    }
  }
  static ExtractOptions options() {
    ExtractOptions o;
    o.transform.size = 32;
    o.render.size = 64;
    o.batch_size = 3;
    o.chunk_size = 4;
    o.show_progress = false;
    return o;
  }
  static model::SmallCNN backbone() {
    torch::manual_seed(0);
    model::SmallCNN cnn(model::SmallCNNOptions().channels({4, 8}));
    cnn->eval();
    return cnn;
  }
  static std::string* dir_;
  static std::vector<data::DatasetItem>* items_;
  static std::vector<std::string>* classes_;
};
std::string* FeatureExtractorTest::dir_ = nullptr;
std::vector<data::DatasetItem>* FeatureExtractorTest::items_ = nullptr;
std::vector<std::string>* FeatureExtractorTest::classes_ = nullptr;

TEST_F(FeatureExtractorTest, RowsAreTheBackboneOnThePreprocessedPixels) {
  auto cnn = backbone();
  const auto o = options();
  const auto result = extract_features(*items_, *classes_, *cnn, o, {{"note", "x"}});
  const auto& cache = result.cache;
  ASSERT_EQ(cache.size(), static_cast<int64_t>(items_->size()));
  EXPECT_EQ(result.computed_items, cache.size());
  EXPECT_TRUE(result.unreadable.empty());
  EXPECT_EQ(cache.meta["note"], "x");
  EXPECT_EQ(cache.meta["backbone"], "small-cnn");
  data::TransformOptions t = o.transform;
  t.mean = cnn->input_options().mean;
  t.std = cnn->input_options().std;
  for (size_t i = 0; i < items_->size(); ++i) {
    const auto& item = (*items_)[i];
    torch::NoGradGuard no_grad;
    const auto expected =
        cnn->forward(data::to_backbone_input(load_item_pixels(item, o), t).unsqueeze(0))[0];
    EXPECT_TRUE(torch::allclose(cache.features[static_cast<int64_t>(i)], expected, 1e-5, 1e-6))
        << item.id;
    EXPECT_EQ(cache.item_ids[i], item.id);
    EXPECT_EQ(cache.modality[static_cast<int64_t>(i)].item<int64_t>(), item.modality);
    EXPECT_EQ(cache.class_names[static_cast<size_t>(
                  cache.labels[static_cast<int64_t>(i)].item<int64_t>())],
              item.class_name);
  }
  // The drawings were rendered: dark strokes on white, 32 × 32 after the transform.
  const auto pixels = load_item_pixels(items_->back(), o);
  EXPECT_EQ(pixels.sizes(), torch::IntArrayRef({3, 32, 32}));
  EXPECT_LT(pixels.min().item<int>(), 100);
  EXPECT_EQ(pixels.max().item<int>(), 255);
}

TEST_F(FeatureExtractorTest, PhotoViewsAreSeededAugmentationsOfThePhotosOnly) {
  const auto views = photo_view_items(*items_, 2);
  int64_t photos = 0;
  for (const auto& item : *items_) photos += item.modality;
  ASSERT_EQ(static_cast<int64_t>(views.size()), 2 * photos);
  EXPECT_EQ(views[0].id, (*items_)[6].id + "#view1");  // items 0 to 5 are sketches
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].modality, 1);
    EXPECT_EQ(views[i].view, static_cast<int64_t>(i % 2) + 1);
    EXPECT_TRUE(contains(views[i].id, "#view" + std::to_string(i % 2 + 1))) << views[i].id;
  }
  EXPECT_TRUE(contains(error_of([&] { photo_view_items(*items_, 0); }), "1 to 100 views"));
  EXPECT_TRUE(contains(error_of([&] { photo_view_items(views, 1); }), "already a view"));

  ExtractOptions o = options();
  const auto image = data::decode_image_file(views[0].path);
  // The same view is the same pixels; another view, id or seed is another draw.
  const auto a = photo_view_pixels(image, views[0], 32, o.views);
  EXPECT_EQ(a.sizes(), torch::IntArrayRef({3, 32, 32}));
  EXPECT_TRUE(torch::equal(a, photo_view_pixels(image, views[0], 32, o.views)));
  EXPECT_FALSE(torch::equal(a, photo_view_pixels(image, views[1], 32, o.views)));
  PhotoViewOptions reseeded = o.views;
  reseeded.seed = 1;
  EXPECT_FALSE(torch::equal(a, photo_view_pixels(image, views[0], 32, reseeded)));
  // Without crop, flip or jitter a view is the evaluation resize (squash) of the photo.
  PhotoViewOptions plain;
  plain.crop.scale = {1.0, 1.0};
  const double aspect = static_cast<double>(image.size(2)) / static_cast<double>(image.size(1));
  plain.crop.ratio = {aspect, aspect};
  plain.crop.flip_probability = 0;
  plain.jitter = {};
  EXPECT_TRUE(torch::equal(photo_view_pixels(image, views[0], 32, plain),
                           load_item_pixels((*items_)[6], o)))
      << views[0].id;

  // Extracted: the views' rows are the backbone on those pixels, and the cache records them.
  auto cnn = backbone();
  const auto result = extract_features(views, *classes_, *cnn, o);
  ASSERT_EQ(result.cache.size(), static_cast<int64_t>(views.size()));
  EXPECT_EQ(result.cache.meta["photo_views"]["seed"], 0);
  EXPECT_DOUBLE_EQ(result.cache.meta["photo_views"]["brightness"].get<double>(), 0.3);
  data::TransformOptions t = o.transform;
  t.mean = cnn->input_options().mean;
  t.std = cnn->input_options().std;
  torch::NoGradGuard no_grad;
  const auto expected = cnn->forward(data::to_backbone_input(a, t).unsqueeze(0))[0];
  EXPECT_TRUE(torch::allclose(result.cache.features[0], expected, 1e-5, 1e-6));
  // A plain extraction's meta and fingerprint do not mention views.
  EXPECT_FALSE(extract_features(*items_, *classes_, *cnn, o).cache.meta.contains("photo_views"));
}

TEST_F(FeatureExtractorTest, UnreadableItemsAreReportedAndLeftOut) {
  auto items = *items_;
  const std::string bad = *dir_ + "/corrupt.png";
  util::write_file_atomic(bad, "not a png");
  items[3].path = bad;
  items[5].path = *dir_ + "/missing.png";
  auto cnn = backbone();
  const auto result = extract_features(items, *classes_, *cnn, options());
  ASSERT_EQ(result.unreadable.size(), 2u);
  EXPECT_EQ(result.unreadable[0].first, items[3].id);
  EXPECT_TRUE(contains(result.unreadable[0].second, "corrupt.png"));
  EXPECT_TRUE(contains(result.unreadable[1].second, "missing.png"));
  EXPECT_EQ(result.cache.size(), static_cast<int64_t>(items.size()) - 2);
  for (const auto& id : result.cache.item_ids) {
    EXPECT_NE(id, items[3].id);
    EXPECT_NE(id, items[5].id);
  }
}

TEST_F(FeatureExtractorTest, ResumeReusesIntactChunksBitForBit) {
  auto cnn = backbone();
  auto o = options();
  const auto fresh = extract_features(*items_, *classes_, *cnn, o).cache;
  o.work_dir = *dir_ + "/work";
  fs::remove_all(o.work_dir);

  // Interrupted before the first batch: nothing computed, nothing lost.
  util::set_interrupt_requested(true);
  const auto stopped = extract_features(*items_, *classes_, *cnn, o);
  util::set_interrupt_requested(false);
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_EQ(stopped.computed_items, 0);

  const auto first = extract_features(*items_, *classes_, *cnn, o);
  EXPECT_EQ(first.computed_items, static_cast<int64_t>(items_->size()));
  EXPECT_TRUE(torch::equal(first.cache.features, fresh.features));

  const auto again = extract_features(*items_, *classes_, *cnn, o);
  EXPECT_EQ(again.reused_items, static_cast<int64_t>(items_->size()));
  EXPECT_EQ(again.computed_items, 0);
  EXPECT_TRUE(torch::equal(again.cache.features, fresh.features));

  // A corrupt chunk is recomputed; the others are reused.
  const std::string chunk = o.work_dir + "/chunk-00001.bin";
  std::string bytes = util::read_file(chunk);
  bytes[bytes.size() - 5] ^= 0x40;
  util::write_file_atomic(chunk, bytes);
  const auto repaired = extract_features(*items_, *classes_, *cnn, o);
  EXPECT_EQ(repaired.computed_items, o.chunk_size);
  EXPECT_TRUE(torch::equal(repaired.cache.features, fresh.features));

  // Other preprocessing: a new fingerprint, everything recomputed.
  o.transform.size = 24;
  const auto changed = extract_features(*items_, *classes_, *cnn, o);
  EXPECT_EQ(changed.reused_items, 0);
}

TEST_F(FeatureExtractorTest, RejectsUnknownClassesAndDuplicateIds) {
  auto cnn = backbone();
  auto items = *items_;
  items[0].class_name = "nope";
  EXPECT_TRUE(
      contains(error_of([&] { extract_features(items, *classes_, *cnn, options()); }), "'nope'"));
  items = *items_;
  items[1].id = items[0].id;
  EXPECT_TRUE(contains(error_of([&] { extract_features(items, *classes_, *cnn, options()); }),
                       "appears twice"));
}

}  // namespace
}  // namespace hcmsn::features
