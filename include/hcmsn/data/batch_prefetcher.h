// Streaming training input (issue 12): worker threads load the items of the coming batches
// while the step runs, into a bounded window, so decoding, rendering, resizing and augmentation
// overlap training and memory does not grow with the dataset.
//
// Work is a fixed sequence of batches (row lists; e.g. the rest of an epoch of the balanced
// sampler). One worker loads one whole batch into its own uint8 (n, 3, S, S) tensor. A worker
// starts batch b only when b < taken + window (taken: batches next() has handed out), so at most
// `window` batches are being loaded or wait at once. Memory bound: (window + 1) · B · 3 · S²
// bytes of batches (the +1 is the batch the step holds), plus one decoded source image per
// worker; S = 224, B = 64, window = 4 gives 48 MB whatever the dataset's size.
//
// Determinism: the loader gets a seed per item, mixed from (seed, the batch's sequence index,
// the item's position in it), never a shared generator, so the pixels depend neither on the
// number of workers nor on their timing: a run resumed at batch k sees the batches an
// uninterrupted run would have seen, given the same sequence index for batch k.
//
// Unreadable items: a loader that throws hcmsn::Error or std::exception for an item (corrupt
// file, missing file, bad drawing) has that item left out of its batch and reported in
// LoadedBatch::unreadable (row and reason), never silently. A loader that returns a tensor of the
// wrong shape or dtype is a bug: next() rethrows it.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hcmsn::data {

struct PrefetchOptions {
  /// Worker threads; 0 loads each batch on the calling thread inside next().
  int64_t workers = 2;
  /// Batches loaded ahead (≥ 1).
  int64_t window = 4;
};

struct LoadedBatch {
  /// The batch's sequence index (first_index + its position in the sequence).
  int64_t index = 0;
  /// uint8 (n, 3, S, S): the items that loaded, in batch order.
  torch::Tensor pixels;
  /// The rows of `pixels`, in order (n).
  std::vector<int64_t> rows;
  /// Rows that could not be loaded, with the reason.
  std::vector<std::pair<int64_t, std::string>> unreadable;
};

/// Loads row `row` as uint8 (3, S, S), drawing any randomness from `seed` alone.
using ItemLoader = std::function<torch::Tensor(int64_t row, uint64_t seed)>;

/// The seed of the item at `position` of the batch with sequence index `index`.
uint64_t item_seed(uint64_t seed, int64_t index, int64_t position);

class BatchPrefetcher {
 public:
  /// `batches[i]` gets sequence index first_index + i. An item's seed is item_seed(seed, its
  /// batch's index, its position), the position being `positions[i][j]` for batches[i][j] when
  /// `positions` is given (a data-parallel rank's share keeps its places in the global batch,
  /// so its pixels do not depend on the number of ranks), else j. Throws hcmsn::Error on
  /// image_size < 1, window < 1, workers < 0 or positions not shaped like batches.
  BatchPrefetcher(std::vector<std::vector<int64_t>> batches, int64_t first_index, ItemLoader load,
                  int64_t image_size, uint64_t seed, PrefetchOptions options = {},
                  std::vector<std::vector<int64_t>> positions = {});
  /// Stops the workers (they finish the item at hand) and joins them.
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  /// The next batch in sequence order, waiting until it is loaded; nullopt after the last.
  std::optional<LoadedBatch> next();

  /// Seconds next() spent waiting for a batch that was not ready yet.
  double wait_seconds() const;
  /// The most batches that were being loaded or waiting at one time (≤ window).
  int64_t max_in_flight() const;

 private:
  void work();
  LoadedBatch load_batch(int64_t position) const;

  std::vector<std::vector<int64_t>> batches_;
  std::vector<std::vector<int64_t>> positions_;
  int64_t first_index_;
  ItemLoader load_;
  int64_t image_size_;
  uint64_t seed_;
  PrefetchOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable claimable_, ready_cv_;
  int64_t claimed_ = 0;  // batches a worker has started
  int64_t taken_ = 0;    // batches next() has handed out
  int64_t max_in_flight_ = 0;
  bool stop_ = false;
  double wait_seconds_ = 0;
  std::map<int64_t, LoadedBatch> ready_;
  std::map<int64_t, std::exception_ptr> failed_;
  std::vector<std::thread> workers_;
};

}  // namespace hcmsn::data
