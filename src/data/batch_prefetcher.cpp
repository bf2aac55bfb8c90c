#include "hcmsn/data/batch_prefetcher.h"

#include <chrono>

#include "hcmsn/util/check.h"

namespace hcmsn::data {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t item_seed(uint64_t seed, int64_t index, int64_t position) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(index)) ^
                    static_cast<uint64_t>(position));
}

BatchPrefetcher::BatchPrefetcher(std::vector<std::vector<int64_t>> batches, int64_t first_index,
                                 ItemLoader load, int64_t image_size, uint64_t seed,
                                 PrefetchOptions options,
                                 std::vector<std::vector<int64_t>> positions)
    : batches_(std::move(batches)),
      positions_(std::move(positions)),
      first_index_(first_index),
      load_(std::move(load)),
      image_size_(image_size),
      seed_(seed),
      options_(options) {
  HCMSN_CHECK(image_size_ >= 1, "the image size must be ≥ 1, got ", image_size_);
  HCMSN_CHECK(options_.window >= 1, "the prefetch window must be ≥ 1 batch, got ", options_.window);
  HCMSN_CHECK(options_.workers >= 0, "the number of loader workers must be ≥ 0, got ",
              options_.workers);
  HCMSN_CHECK(static_cast<bool>(load_), "the batch prefetcher needs an item loader");
  HCMSN_CHECK(positions_.empty() || positions_.size() == batches_.size(),
              "positions must be given for every batch or for none");
  for (size_t i = 0; i < positions_.size(); ++i) {
    HCMSN_CHECK(positions_[i].size() == batches_[i].size(), "batch ", i, " has ",
                batches_[i].size(), " rows but ", positions_[i].size(), " positions");
  }
  for (int64_t w = 0; w < options_.workers; ++w) workers_.emplace_back([this] { work(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  claimable_.notify_all();
  for (auto& t : workers_) t.join();
}

LoadedBatch BatchPrefetcher::load_batch(int64_t position) const {
  const auto& rows = batches_[static_cast<size_t>(position)];
  LoadedBatch batch;
  batch.index = first_index_ + position;
  auto pixels =
      torch::empty({static_cast<int64_t>(rows.size()), 3, image_size_, image_size_}, torch::kUInt8);
  int64_t n = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    torch::Tensor image;
    try {
      const int64_t place = positions_.empty() ? static_cast<int64_t>(i)
                                               : positions_[static_cast<size_t>(position)][i];
      image = load_(rows[i], item_seed(seed_, batch.index, place));
    } catch (const std::exception& e) {
      batch.unreadable.emplace_back(rows[i], e.what());
      continue;
    }
    HCMSN_ASSERT(image.defined() && image.scalar_type() == torch::kUInt8 && image.dim() == 3 &&
                     image.size(0) == 3 && image.size(1) == image_size_ &&
                     image.size(2) == image_size_,
                 "the item loader must return uint8 (3, ", image_size_, ", ", image_size_, ")");
    pixels[n++].copy_(image);
    batch.rows.push_back(rows[i]);
  }
  batch.pixels = n == pixels.size(0) ? pixels : pixels.narrow(0, 0, n).clone();
  return batch;
}

void BatchPrefetcher::work() {
  const auto total = static_cast<int64_t>(batches_.size());
  for (;;) {
    int64_t position = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      claimable_.wait(
          lock, [&] { return stop_ || claimed_ >= total || claimed_ < taken_ + options_.window; });
      if (stop_ || claimed_ >= total) return;
      position = claimed_++;
      max_in_flight_ = std::max(max_in_flight_, claimed_ - taken_);
    }
    std::optional<LoadedBatch> batch;
    std::exception_ptr error;
    try {
      batch = load_batch(position);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error) {
        failed_[position] = error;
      } else {
        ready_[position] = std::move(*batch);
      }
    }
    ready_cv_.notify_all();
  }
}

std::optional<LoadedBatch> BatchPrefetcher::next() {
  const auto total = static_cast<int64_t>(batches_.size());
  if (workers_.empty()) {
    if (taken_ >= total) return std::nullopt;
    max_in_flight_ = 1;
    return load_batch(taken_++);
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (taken_ >= total) return std::nullopt;
  const int64_t position = taken_;
  const auto start = std::chrono::steady_clock::now();
  ready_cv_.wait(lock, [&] { return ready_.count(position) > 0 || failed_.count(position) > 0; });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++taken_;
  lock.unlock();
  claimable_.notify_all();
  lock.lock();
  if (auto it = failed_.find(position); it != failed_.end()) std::rethrow_exception(it->second);
  LoadedBatch batch = std::move(ready_.at(position));
  ready_.erase(position);
  return batch;
}

double BatchPrefetcher::wait_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return wait_seconds_;
}

int64_t BatchPrefetcher::max_in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return max_in_flight_;
}

}  // namespace hcmsn::data
