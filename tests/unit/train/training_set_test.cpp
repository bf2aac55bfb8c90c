// Tests of TrainingSet: class subsets (relabelling, missing names), modality selection,
// validation errors, and the lookup of class embeddings by name.
#include "hcmsn/train/training_set.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::train {
namespace {

// 8 rows of 4 classes; feature row i is (i, 10 i) so a row can be recognised after selection.
TrainingSet make_set() {
  TrainingSet s;
  s.labels = torch::tensor({0, 1, 2, 3, 2, 1, 0, 2}, torch::kInt64);
  s.modality = torch::tensor({0, 1, 0, 1, 1, 0, 1, 0}, torch::kInt64);
  const auto i = torch::arange(8, torch::kFloat32);
  s.inputs = torch::stack({i, 10 * i}, 1);
  s.class_names = {"cat", "dog", "eel", "fox"};
  for (int k = 0; k < 8; ++k) s.item_ids.push_back("item" + std::to_string(k));
  return s;
}

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(TrainingSetTest, ClassesLackingAModalityAreLeftOut) {
  const TrainingSet s = make_set();
  // fox has one photo and no sketch; owl is unknown (kept: subset_classes reports it).
  EXPECT_EQ(classes_with_both_modalities(s, {"fox", "eel", "cat", "owl"}, "seen"),
            (std::vector<std::string>{"eel", "cat", "owl"}));
  EXPECT_TRUE(
      test::contains(test::error_of([&] { classes_with_both_modalities(s, {"fox"}, "unseen"); }),
                     "no unseen class has both sketches and photos"));
}

TEST(TrainingSetTest, SubsetClassesRelabelsInTheGivenOrderAndDropsOtherRows) {
  const TrainingSet s = make_set();
  s.validate();
  const TrainingSet sub = s.subset_classes({"eel", "cat"});
  sub.validate();
  EXPECT_EQ(sub.class_names, (std::vector<std::string>{"eel", "cat"}));
  // Rows keep their original order: 0 (cat), 2 (eel), 4 (eel), 6 (cat), 7 (eel).
  EXPECT_EQ(to_vector(sub.labels), (std::vector<int64_t>{1, 0, 0, 1, 0}));
  EXPECT_EQ(to_vector(sub.modality), (std::vector<int64_t>{0, 0, 1, 1, 0}));
  EXPECT_TRUE(torch::equal(sub.inputs.select(1, 0), torch::tensor({0.f, 2.f, 4.f, 6.f, 7.f})));
  EXPECT_TRUE(torch::equal(sub.inputs.select(1, 1), torch::tensor({0.f, 20.f, 40.f, 60.f, 70.f})));
  EXPECT_EQ(sub.item_ids, (std::vector<std::string>{"item0", "item2", "item4", "item6", "item7"}));
  // The source is untouched.
  EXPECT_EQ(s.size(), 8);
  EXPECT_EQ(s.class_names.size(), 4u);
}

TEST(TrainingSetTest, SubsetOfAClassWithoutRowsIsEmptyButValid) {
  TrainingSet s = make_set();
  s.class_names.push_back("gnu");  // a class with no rows
  const TrainingSet sub = s.subset_classes({"gnu"});
  EXPECT_EQ(sub.size(), 0);
  EXPECT_EQ(sub.inputs.size(0), 0);
  sub.validate();
}

TEST(TrainingSetTest, SubsetListsEveryMissingName) {
  const TrainingSet s = make_set();
  const std::string msg = test::error_of([&] { s.subset_classes({"cat", "yak", "dog", "emu"}); });
  EXPECT_TRUE(test::contains(msg, "yak")) << msg;
  EXPECT_TRUE(test::contains(msg, "emu")) << msg;
  EXPECT_TRUE(test::contains(msg, "2 class")) << msg;
  EXPECT_FALSE(test::contains(msg, "cat")) << msg;
}

TEST(TrainingSetTest, SubsetRejectsRepeatedNames) {
  const TrainingSet s = make_set();
  const std::string msg = test::error_of([&] { s.subset_classes({"dog", "cat", "dog"}); });
  EXPECT_TRUE(test::contains(msg, "dog")) << msg;
  EXPECT_TRUE(test::contains(msg, "more than once")) << msg;
}

TEST(TrainingSetTest, RowsOfModalityKeepsLabelsAndOrder) {
  const TrainingSet s = make_set();
  const TrainingSet photos = s.rows_of_modality(1);
  EXPECT_EQ(to_vector(photos.labels), (std::vector<int64_t>{1, 3, 2, 0}));
  EXPECT_TRUE(torch::equal(photos.modality, torch::ones({4}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(photos.inputs.select(1, 0), torch::tensor({1.f, 3.f, 4.f, 6.f})));
  EXPECT_EQ(photos.item_ids, (std::vector<std::string>{"item1", "item3", "item4", "item6"}));
  EXPECT_EQ(photos.class_names, s.class_names);
  const TrainingSet sketches = s.rows_of_modality(0);
  EXPECT_EQ(to_vector(sketches.labels), (std::vector<int64_t>{0, 2, 1, 2}));
  EXPECT_EQ(s.modality_counts(), (std::pair<int64_t, int64_t>{4, 4}));
  EXPECT_EQ(photos.modality_counts(), (std::pair<int64_t, int64_t>{0, 4}));
  // Without item ids the selection has none either.
  TrainingSet no_ids = make_set();
  no_ids.item_ids.clear();
  EXPECT_TRUE(no_ids.rows_of_modality(0).item_ids.empty());
}

TEST(TrainingSetTest, ImagesAreValid) {
  TrainingSet s = make_set();
  s.inputs = torch::zeros({8, 3, 4, 4}, torch::kUInt8);
  s.validate();
  EXPECT_TRUE(s.is_images());
  EXPECT_FALSE(make_set().is_images());
}

TEST(TrainingSetTest, ValidateNamesEachInconsistency) {
  {
    TrainingSet s = make_set();
    s.inputs[5][1] = std::numeric_limits<float>::quiet_NaN();
    const std::string msg = test::error_of([&] { s.validate(); });
    EXPECT_TRUE(test::contains(msg, "row 5")) << msg;
    EXPECT_TRUE(test::contains(msg, "finite")) << msg;
  }
  {
    TrainingSet s = make_set();
    s.inputs[2][0] = std::numeric_limits<float>::infinity();
    EXPECT_TRUE(test::contains(test::error_of([&] { s.validate(); }), "row 2"));
  }
  {
    TrainingSet s = make_set();
    s.labels[3] = 4;  // only 4 classes
    EXPECT_TRUE(test::contains(test::error_of([&] { s.validate(); }), "[0, 4)"));
    s.labels[3] = -1;
    test::error_of([&] { s.validate(); });
  }
  {
    TrainingSet s = make_set();
    s.modality[0] = 2;
    EXPECT_TRUE(test::contains(test::error_of([&] { s.validate(); }), "modality"));
  }
  {
    TrainingSet s = make_set();
    s.labels = s.labels.to(torch::kInt32);
    EXPECT_TRUE(test::contains(test::error_of([&] { s.validate(); }), "int64"));
  }
  {
    TrainingSet s = make_set();
    s.modality = s.modality.to(torch::kFloat32);
    test::error_of([&] { s.validate(); });
  }
  {
    TrainingSet s = make_set();
    s.inputs = s.inputs.to(torch::kInt64);  // features must be floating point
    test::error_of([&] { s.validate(); });
  }
  {
    TrainingSet s = make_set();
    s.inputs = torch::zeros({8, 3, 4, 4}, torch::kFloat32);  // images must be uint8
    EXPECT_TRUE(test::contains(test::error_of([&] { s.validate(); }), "uint8"));
    s.inputs = torch::zeros({8, 1, 4, 4}, torch::kUInt8);  // and RGB
    test::error_of([&] { s.validate(); });
  }
  {
    TrainingSet s = make_set();
    s.inputs = s.inputs.narrow(0, 0, 7);
    test::error_of([&] { s.validate(); });
  }
  {
    TrainingSet s = make_set();
    s.item_ids.pop_back();
    test::error_of([&] { s.validate(); });
  }
  {
    TrainingSet s;
    test::error_of([&] { s.validate(); });
  }
}

TEST(TrainingSetTest, ClassEmbeddingsForPicksRowsByName) {
  const std::vector<std::string> classes = {"a", "b", "c"};
  const auto sem = torch::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, torch::kFloat64).view({3, 2});
  const auto w = class_embeddings_for({"c", "a"}, classes, sem);
  EXPECT_EQ(w.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(w, torch::tensor({5.f, 6.f, 1.f, 2.f}).view({2, 2})));

  const std::string msg = test::error_of([&] {
    class_embeddings_for({"a", "x", "b", "y"}, classes, sem);
  });
  EXPECT_TRUE(test::contains(msg, "x")) << msg;
  EXPECT_TRUE(test::contains(msg, "y")) << msg;
  EXPECT_TRUE(test::contains(msg, "2 class")) << msg;
  test::error_of([&] { class_embeddings_for({"a"}, {"a", "b"}, sem); });  // 3 rows, 2 names
  test::error_of([&] { class_embeddings_for({"a"}, classes, torch::zeros({3})); });
}

}  // namespace
}  // namespace hcmsn::train
