// Work split over the ranks of a data-parallel group (issue 13), for the layers below the
// distributed one (metrics, train, index): which share of the work is this rank's, and how to
// add a tensor up over the ranks. distributed::sharding_of makes one from a Communicator; the
// default is one rank, which does everything and never calls `sum`.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace hcmsn::util {

struct Sharding {
  int64_t rank = 0;
  int64_t ranks = 1;
  /// In place: the element-wise sum over the ranks of a contiguous CPU int64, float32 or float64
  /// tensor of the same shape on every rank (an all-reduce). Required when ranks > 1.
  std::function<void(torch::Tensor&)> sum;

  bool active() const { return ranks > 1; }
  /// Round-robin blocks (batches, chunks): block b is this rank's when b mod ranks == rank, so
  /// every block keeps the rows it has in one process and its results are bit for bit the same.
  bool owns(int64_t block) const { return block % ranks == rank; }
  /// [first, last) of `count` items in contiguous shares (the queries of a ranking).
  int64_t first_of(int64_t count) const { return count * rank / ranks; }
  int64_t last_of(int64_t count) const { return count * (rank + 1) / ranks; }
  /// Throws hcmsn::Error when rank lies outside [0, ranks) or `sum` is missing.
  void check() const;
};

/// Computes `rows` rows in blocks of `block` (row order kept): `compute(start, n)` returns CPU
/// tensors of n rows each (the same count and widths every call), and the result is each of them
/// concatenated over the rows. Sharded: a rank computes only the blocks it owns (Sharding::owns),
/// zeros stand for the others, and the sum over the ranks fills them in; every block keeps the
/// rows it has in one process, so every rank gets the single-process result bit for bit. A rank
/// that owns no block computes row 0 once to learn the widths. `progress` shows a bar labelled
/// `what`.
using BlockCompute = std::function<std::vector<torch::Tensor>(int64_t start, int64_t n)>;
std::vector<torch::Tensor> compute_in_blocks(int64_t rows, int64_t block,
                                             const BlockCompute& compute,
                                             const Sharding& sharding = {}, bool progress = false,
                                             const char* what = "embedding");

}  // namespace hcmsn::util
