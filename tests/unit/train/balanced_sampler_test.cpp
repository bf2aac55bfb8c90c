// Tests of the class-balanced, modality-paired batch sampler: batch composition, determinism in
// (seed, epoch), balance of classes and items, single-modality classes and argument errors.
#include "hcmsn/train/balanced_sampler.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <utility>
#include <vector>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::train {
namespace {

struct Rows {
  torch::Tensor labels;
  torch::Tensor modality;
};

// sketches[c] sketches and photos[c] photos of class c, interleaved so that row order says
// nothing about the class.
Rows make_rows(const std::vector<int64_t>& sketches, const std::vector<int64_t>& photos) {
  std::vector<int64_t> l, m;
  bool more = true;
  for (int64_t i = 0; more; ++i) {
    more = false;
    for (size_t c = 0; c < sketches.size(); ++c) {
      if (i < sketches[c]) l.push_back(static_cast<int64_t>(c)), m.push_back(0), more = true;
      if (i < photos[c]) l.push_back(static_cast<int64_t>(c)), m.push_back(1), more = true;
    }
  }
  return {torch::tensor(l, torch::kInt64), torch::tensor(m, torch::kInt64)};
}

Rows balanced_rows(int64_t classes, int64_t per_modality) {
  return make_rows(std::vector<int64_t>(classes, per_modality),
                   std::vector<int64_t>(classes, per_modality));
}

// (class, modality) → number of rows of the batch.
std::map<std::pair<int64_t, int64_t>, int64_t> composition(const Rows& rows,
                                                           const torch::Tensor& batch) {
  std::map<std::pair<int64_t, int64_t>, int64_t> out;
  for (int64_t i = 0; i < batch.size(0); ++i) {
    const int64_t r = batch[i].item<int64_t>();
    ++out[{rows.labels[r].item<int64_t>(), rows.modality[r].item<int64_t>()}];
  }
  return out;
}

bool same_batches(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].sizes().equals(b[i].sizes()) || !torch::equal(a[i], b[i])) return false;
  }
  return true;
}

TEST(BalancedSamplerTest, EveryBatchHasDistinctClassesWithPerClassItemsOfBothModalities) {
  // Uneven classes: class c has 2 + c sketches and 3 + c % 3 photos.
  std::vector<int64_t> sk, ph;
  for (int64_t c = 0; c < 7; ++c) sk.push_back(2 + c), ph.push_back(3 + c % 3);
  const Rows rows = make_rows(sk, ph);
  BalancedSampler sampler(rows.labels, rows.modality,
                          BalancedSamplerOptions().classes_per_batch(3).per_class(2).seed(5));
  EXPECT_EQ(sampler.num_classes(), 7);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    const auto batches = sampler.epoch_batches(epoch);
    ASSERT_EQ(static_cast<int64_t>(batches.size()), sampler.batches_per_epoch());
    for (const auto& b : batches) {
      ASSERT_EQ(b.scalar_type(), torch::kInt64);
      ASSERT_EQ(b.size(0), 3 * 2 * 2);
      EXPECT_GE(b.min().item<int64_t>(), 0);
      EXPECT_LT(b.max().item<int64_t>(), rows.labels.size(0));
      const auto comp = composition(rows, b);
      std::set<int64_t> classes;
      for (const auto& [key, count] : comp) {
        classes.insert(key.first);
        EXPECT_EQ(count, 2) << "class " << key.first << " modality " << key.second;
      }
      EXPECT_EQ(classes.size(), 3u);
      EXPECT_EQ(comp.size(), 6u);  // both modalities of every class
    }
  }
}

TEST(BalancedSamplerTest, FewerClassesThanClassesPerBatchUsesAllOfThem) {
  const Rows rows = balanced_rows(3, 5);
  BalancedSampler sampler(rows.labels, rows.modality,
                          BalancedSamplerOptions().classes_per_batch(8).per_class(3));
  for (const auto& b : sampler.epoch_batches(0)) {
    const auto comp = composition(rows, b);
    EXPECT_EQ(comp.size(), 6u);
    for (const auto& [key, count] : comp) EXPECT_EQ(count, 3);
  }
}

TEST(BalancedSamplerTest, BatchesDependOnlyOnSeedAndEpoch) {
  const Rows rows = balanced_rows(9, 6);
  const auto options = BalancedSamplerOptions().classes_per_batch(4).per_class(2).seed(11);
  BalancedSampler a(rows.labels, rows.modality, options);
  BalancedSampler b(rows.labels, rows.modality, options);
  EXPECT_TRUE(same_batches(a.epoch_batches(3), b.epoch_batches(3)));
  // Asking for other epochs in between changes nothing (no hidden state).
  const auto first = a.epoch_batches(0);
  a.epoch_batches(7);
  EXPECT_TRUE(same_batches(first, a.epoch_batches(0)));
  EXPECT_FALSE(same_batches(a.epoch_batches(0), a.epoch_batches(1)));
  BalancedSampler other_seed(rows.labels, rows.modality, BalancedSamplerOptions(options).seed(12));
  EXPECT_FALSE(same_batches(a.epoch_batches(0), other_seed.epoch_batches(0)));
}

TEST(BalancedSamplerTest, OneEpochDrawsEveryItemAboutEqually) {
  // batches_per_epoch = 0 gives ceil(N / batch rows) batches: about one pass over the items.
  struct Case {
    int64_t classes, per_modality, classes_per_batch, per_class;
  };
  for (const Case& c : {Case{6, 4, 3, 2}, Case{5, 6, 2, 3}, Case{7, 4, 3, 2}}) {
    const Rows rows = balanced_rows(c.classes, c.per_modality);
    for (uint64_t seed = 0; seed < 20; ++seed) {
      BalancedSampler sampler(rows.labels, rows.modality,
                              BalancedSamplerOptions()
                                  .classes_per_batch(c.classes_per_batch)
                                  .per_class(c.per_class)
                                  .seed(seed));
      const int64_t batch_rows = c.classes_per_batch * c.per_class * 2;
      EXPECT_EQ(sampler.batches_per_epoch(), (rows.labels.size(0) + batch_rows - 1) / batch_rows);
      std::vector<int64_t> drawn(rows.labels.size(0), 0);
      for (const auto& b : sampler.epoch_batches(0)) {
        for (int64_t i = 0; i < b.size(0); ++i) ++drawn[b[i].item<int64_t>()];
      }
      const auto [lo, hi] = std::minmax_element(drawn.begin(), drawn.end());
      EXPECT_LE(*hi - *lo, 1) << c.classes << " classes, seed " << seed;
    }
  }
}

TEST(BalancedSamplerTest, EveryClassOncePerPass) {
  // 5 classes, 2 per batch: passes end inside batches; over an epoch of 51 batches (102 class
  // slots, 20.4 passes) every class appears 20 or 21 times.
  const Rows rows = balanced_rows(5, 3);
  for (uint64_t seed = 0; seed < 10; ++seed) {
    BalancedSampler sampler(
        rows.labels, rows.modality,
        BalancedSamplerOptions().classes_per_batch(2).per_class(1).batches_per_epoch(51).seed(
            seed));
    std::vector<int64_t> visits(5, 0);
    for (const auto& b : sampler.epoch_batches(0)) {
      for (const auto& [key, count] : composition(rows, b)) {
        if (key.second == 0) ++visits[key.first];
      }
    }
    const auto [lo, hi] = std::minmax_element(visits.begin(), visits.end());
    EXPECT_LE(*hi - *lo, 1) << "seed " << seed;
    EXPECT_EQ(std::accumulate(visits.begin(), visits.end(), int64_t{0}), 102);
  }
}

TEST(BalancedSamplerTest, ClassWithOnlyPhotosContributesPhotosOnly) {
  const Rows rows = make_rows({3, 0, 3, 3}, {3, 4, 3, 3});
  BalancedSampler sampler(
      rows.labels, rows.modality,
      BalancedSamplerOptions().classes_per_batch(2).per_class(2).batches_per_epoch(12));
  int64_t batches_with_class_1 = 0;
  for (const auto& b : sampler.epoch_batches(0)) {
    const auto comp = composition(rows, b);
    if (comp.count({1, 1})) {
      ++batches_with_class_1;
      EXPECT_EQ(comp.at({1, 1}), 2);
      EXPECT_EQ(comp.count({1, 0}), 0u);
      EXPECT_EQ(b.size(0), 2 * 2 + 2);
    } else {
      EXPECT_EQ(b.size(0), 2 * 2 * 2);
    }
  }
  EXPECT_GT(batches_with_class_1, 0);
}

TEST(BalancedSamplerTest, BatchesPerEpochOption) {
  const Rows rows = balanced_rows(4, 3);
  BalancedSampler sampler(
      rows.labels, rows.modality,
      BalancedSamplerOptions().classes_per_batch(2).per_class(2).batches_per_epoch(7));
  EXPECT_EQ(sampler.batches_per_epoch(), 7);
  EXPECT_EQ(sampler.epoch_batches(2).size(), 7u);
  // A set smaller than one batch still gives one batch.
  const Rows tiny = balanced_rows(1, 1);
  BalancedSampler one(tiny.labels, tiny.modality, BalancedSamplerOptions());
  EXPECT_EQ(one.batches_per_epoch(), 1);
  const auto b = one.epoch_batches(0);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].size(0), 2 * BalancedSamplerOptions().per_class());  // items repeat
}

TEST(BalancedSamplerTest, RejectsBadInput) {
  const auto l = torch::tensor({0, 1, 1}, torch::kInt64);
  const auto m = torch::tensor({0, 1, 0}, torch::kInt64);
  const BalancedSamplerOptions ok;
  const auto empty = torch::zeros({0}, torch::kInt64);
  EXPECT_TRUE(test::contains(test::error_of([&] { BalancedSampler(empty, empty, ok); }), "empty"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               BalancedSampler(l, torch::tensor({0, 2, 0}, torch::kInt64), ok);
                             }),
                             "modality"));
  test::error_of([&] { BalancedSampler(l, torch::tensor({0, 1}, torch::kInt64), ok); });
  test::error_of([&] { BalancedSampler(l.view({3, 1}), m.view({3, 1}), ok); });
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               BalancedSampler(torch::tensor({0, -1, 1}, torch::kInt64), m, ok);
                             }),
                             "negative"));
  test::error_of([&] { BalancedSampler(l, m, BalancedSamplerOptions().classes_per_batch(0)); });
  test::error_of([&] { BalancedSampler(l, m, BalancedSamplerOptions().per_class(0)); });
  test::error_of([&] { BalancedSampler(l, m, BalancedSamplerOptions().batches_per_epoch(-1)); });
  BalancedSampler sampler(l, m, ok);
  test::error_of([&] { sampler.epoch_batches(-1); });
}

}  // namespace
}  // namespace hcmsn::train
