// The streaming input pipeline's prefetcher (data/batch_prefetcher.h): batches come in order
// with the same pixels for any number of workers, unreadable items are reported and left out,
// the window bounds what is loaded ahead, a loader bug surfaces, and destruction never hangs.
#include "hcmsn/data/batch_prefetcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::data {
namespace {

constexpr int64_t kSize = 4;

// Pixels that depend on the row and on the seed: any mix-up of rows or seeds shows.
torch::Tensor pattern(int64_t row, uint64_t seed) {
  return torch::full({3, kSize, kSize}, static_cast<int64_t>((row * 7 + seed) % 251),
                     torch::kUInt8);
}

std::vector<std::vector<int64_t>> batches_of(int64_t count, int64_t size) {
  std::vector<std::vector<int64_t>> batches;
  for (int64_t b = 0; b < count; ++b) {
    batches.emplace_back();
    for (int64_t i = 0; i < size; ++i) batches.back().push_back((b * 13 + i * 5) % 97);
  }
  return batches;
}

std::vector<LoadedBatch> drain(BatchPrefetcher& prefetcher) {
  std::vector<LoadedBatch> out;
  while (auto batch = prefetcher.next()) out.push_back(std::move(*batch));
  return out;
}

TEST(BatchPrefetcher, SameBatchesInOrderForAnyNumberOfWorkers) {
  const auto batches = batches_of(12, 5);
  std::vector<std::vector<LoadedBatch>> runs;
  for (int64_t workers : {0, 1, 3}) {
    BatchPrefetcher prefetcher(batches, 40, pattern, kSize, 7, {workers, 3});
    runs.push_back(drain(prefetcher));
  }
  for (const auto& run : runs) {
    ASSERT_EQ(run.size(), batches.size());
    for (size_t b = 0; b < run.size(); ++b) {
      EXPECT_EQ(run[b].index, 40 + static_cast<int64_t>(b));
      EXPECT_EQ(run[b].rows, batches[b]);
      EXPECT_TRUE(run[b].unreadable.empty());
      ASSERT_EQ(run[b].pixels.sizes(), (std::vector<int64_t>{5, 3, kSize, kSize}));
      for (int64_t i = 0; i < 5; ++i) {
        // The seed is the item's own: (seed, sequence index, position).
        const auto expected =
            pattern(batches[b][static_cast<size_t>(i)], item_seed(7, run[b].index, i));
        EXPECT_TRUE(torch::equal(run[b].pixels[i], expected)) << b << " " << i;
      }
    }
  }
  // A resumed sequence (batches 5 … with first index 45) sees the same pixels.
  std::vector<std::vector<int64_t>> rest(batches.begin() + 5, batches.end());
  BatchPrefetcher resumed(rest, 45, pattern, kSize, 7, {2, 2});
  const auto tail = drain(resumed);
  ASSERT_EQ(tail.size(), 7u);
  for (size_t b = 0; b < tail.size(); ++b) {
    EXPECT_TRUE(torch::equal(tail[b].pixels, runs[0][b + 5].pixels)) << b;
  }
}

TEST(BatchPrefetcher, ItemSeedsDifferByBatchAndPosition) {
  EXPECT_EQ(item_seed(1, 2, 3), item_seed(1, 2, 3));
  EXPECT_NE(item_seed(1, 2, 3), item_seed(1, 3, 2));
  EXPECT_NE(item_seed(1, 2, 3), item_seed(2, 2, 3));
  EXPECT_NE(item_seed(1, 0, 1), item_seed(1, 1, 0));
}

TEST(BatchPrefetcher, UnreadableItemsAreReportedAndLeftOut) {
  const auto loader = [](int64_t row, uint64_t seed) {
    HCMSN_CHECK(row != 3, "cannot decode item 3: not an image");
    if (row == 4) throw std::runtime_error("truncated file");
    return pattern(row, seed);
  };
  BatchPrefetcher prefetcher({{1, 3, 2}, {4, 3}, {5}}, 0, loader, kSize, 1, {2, 4});
  const auto out = drain(prefetcher);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].rows, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(out[0].pixels.size(0), 2);
  EXPECT_TRUE(torch::equal(out[0].pixels[1], pattern(2, item_seed(1, 0, 2))));
  ASSERT_EQ(out[0].unreadable.size(), 1u);
  EXPECT_EQ(out[0].unreadable[0].first, 3);
  EXPECT_TRUE(test::contains(out[0].unreadable[0].second, "not an image"));
  EXPECT_TRUE(out[1].rows.empty());
  EXPECT_EQ(out[1].pixels.size(0), 0);
  EXPECT_EQ(out[1].unreadable.size(), 2u);
  EXPECT_EQ(out[2].rows, (std::vector<int64_t>{5}));
}

TEST(BatchPrefetcher, TheWindowBoundsWhatIsLoadedAhead) {
  std::atomic<int64_t> loaded{0};
  const auto loader = [&](int64_t row, uint64_t seed) {
    ++loaded;
    return pattern(row, seed);
  };
  BatchPrefetcher prefetcher(batches_of(30, 2), 0, loader, kSize, 3, {3, 4});
  // A slow consumer: the workers fill the window, and no further.
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(prefetcher.next().has_value());
    EXPECT_LE(loaded.load(), 2 * (i + 1 + 4)) << i;  // taken + window batches at most
  }
  EXPECT_EQ(prefetcher.max_in_flight(), 4);  // and they did fill it: loading runs ahead
}

TEST(BatchPrefetcher, ALoaderBugSurfacesAndDestructionDoesNotHang) {
  const auto wrong = [](int64_t, uint64_t) { return torch::zeros({3, kSize, kSize}); };  // float
  BatchPrefetcher bad({{1}}, 0, wrong, kSize, 0, {1, 1});
  std::string message;  // an internal error (a bug), not a caller's hcmsn::Error
  try {
    bad.next();
  } catch (const std::exception& e) {
    message = e.what();
  }
  EXPECT_TRUE(test::contains(message, "must return uint8")) << message;

  const auto slow = [](int64_t row, uint64_t seed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return pattern(row, seed);
  };
  {
    BatchPrefetcher early(batches_of(100, 4), 0, slow, kSize, 0, {2, 3});
    ASSERT_TRUE(early.next().has_value());
  }  // destroyed with batches loading and waiting
  EXPECT_TRUE(test::contains(test::error_of([] {
                               BatchPrefetcher({{1}}, 0, pattern, kSize, 0, {1, 0});
                             }),
                             "window"));
  EXPECT_TRUE(test::contains(test::error_of([] {
                               BatchPrefetcher({{1}}, 0, pattern, kSize, 0, {-1, 1});
                             }),
                             "workers"));
}

}  // namespace
}  // namespace hcmsn::data
