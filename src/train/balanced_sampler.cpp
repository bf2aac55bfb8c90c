#include "hcmsn/train/balanced_sampler.h"

#include <algorithm>
#include <map>
#include <random>

#include "hcmsn/util/check.h"
#include "hcmsn/util/mix64.h"

namespace hcmsn::train {
namespace {

// splitmix64: decorrelates the (seed, epoch) pair into one engine seed.
uint64_t mix(uint64_t x) {
  return util::mix64(x + 0x9E3779B97F4A7C15ULL);
}

}  // namespace

BalancedSampler::BalancedSampler(const torch::Tensor& labels, const torch::Tensor& modality,
                                 BalancedSamplerOptions options)
    : options_(options) {
  HCMSN_CHECK(options_.classes_per_batch() > 0 && options_.per_class() > 0,
              "classes per batch and items per class must be > 0");
  HCMSN_CHECK(options_.batches_per_epoch() >= 0, "batches per epoch must be >= 0");
  HCMSN_CHECK(labels.dim() == 1 && modality.dim() == 1 && labels.size(0) == modality.size(0),
              "labels and modality must be vectors of one length, got ", labels.sizes(), " and ",
              modality.sizes());
  HCMSN_CHECK(labels.size(0) > 0, "cannot sample batches from an empty training set");
  const auto lab = labels.to(torch::kInt64).contiguous();
  const auto mod = modality.to(torch::kInt64).contiguous();
  const int64_t* l = lab.data_ptr<int64_t>();
  const int64_t* m = mod.data_ptr<int64_t>();
  std::map<int64_t, size_t> slot;
  for (int64_t i = 0; i < lab.size(0); ++i) {
    HCMSN_CHECK(l[i] >= 0, "negative label ", l[i], " at row ", i);
    HCMSN_CHECK(m[i] == 0 || m[i] == 1, "modality must be 0 (sketch) or 1 (photo), got ", m[i],
                " at row ", i);
    auto [it, inserted] = slot.emplace(l[i], rows_.size());
    if (inserted) {
      classes_.push_back(l[i]);
      rows_.emplace_back();
    }
    rows_[it->second][m[i]].push_back(i);
  }
  const int64_t batch_rows = options_.classes_per_batch() * options_.per_class() * 2;
  batches_per_epoch_ = options_.batches_per_epoch() > 0
                           ? options_.batches_per_epoch()
                           : std::max<int64_t>(1, (lab.size(0) + batch_rows - 1) / batch_rows);
}

std::vector<torch::Tensor> BalancedSampler::epoch_batches(int64_t epoch) const {
  HCMSN_CHECK(epoch >= 0, "epoch must be >= 0");
  std::mt19937_64 rng(mix(options_.seed() ^ mix(static_cast<uint64_t>(epoch))));
  const size_t num_classes = classes_.size();
  // Per class and modality, a shuffled pool and a cursor into it.
  std::vector<std::array<std::vector<int64_t>, 2>> pools = rows_;
  std::vector<std::array<size_t, 2>> cursor(num_classes, {0, 0});
  for (auto& p : pools) {
    for (auto& v : p) std::shuffle(v.begin(), v.end(), rng);
  }
  std::vector<size_t> order(num_classes);
  size_t next_class = num_classes;  // forces a shuffle on first use
  const size_t per_batch = std::min<size_t>(options_.classes_per_batch(), num_classes);

  std::vector<torch::Tensor> batches;
  batches.reserve(batches_per_epoch_);
  for (int64_t b = 0; b < batches_per_epoch_; ++b) {
    std::vector<int64_t> rows;
    std::vector<size_t> chosen;
    while (chosen.size() < per_batch) {
      if (next_class == num_classes) {
        for (size_t c = 0; c < num_classes; ++c) order[c] = c;
        std::shuffle(order.begin(), order.end(), rng);
        // A pass that starts inside a batch defers the batch's classes to its end rather than
        // skipping them, so the batch gets no repeat and every class still comes once per pass.
        std::stable_partition(order.begin(), order.end(), [&chosen](size_t c) {
          return std::find(chosen.begin(), chosen.end(), c) == chosen.end();
        });
        next_class = 0;
      }
      chosen.push_back(order[next_class++]);
    }
    for (const size_t c : chosen) {
      for (int mod = 0; mod < 2; ++mod) {
        auto& pool = pools[c][mod];
        if (pool.empty()) continue;
        for (int64_t k = 0; k < options_.per_class(); ++k) {
          if (cursor[c][mod] == pool.size()) {
            std::shuffle(pool.begin(), pool.end(), rng);
            cursor[c][mod] = 0;
          }
          rows.push_back(pool[cursor[c][mod]++]);
        }
      }
    }
    batches.push_back(torch::tensor(rows, torch::kInt64));
  }
  return batches;
}

}  // namespace hcmsn::train
