#include "hcmsn/util/sharding.h"

#include <algorithm>

#include "hcmsn/util/check.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::util {

void Sharding::check() const {
  HCMSN_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "rank ", rank, " of ", ranks,
              " does not exist");
  HCMSN_CHECK(ranks == 1 || static_cast<bool>(sum),
              "work sharded over several ranks needs their sum (an all-reduce)");
}

std::vector<torch::Tensor> compute_in_blocks(int64_t rows, int64_t block,
                                             const BlockCompute& compute, const Sharding& sharding,
                                             bool progress, const char* what) {
  HCMSN_CHECK(block > 0, "the block size (rows per forward pass) must be > 0");
  sharding.check();
  if (rows == 0) return compute(0, 0);
  // Per block: its outputs, or none where another rank computes it.
  std::vector<std::vector<torch::Tensor>> blocks;
  std::vector<int64_t> sizes;
  std::vector<torch::Tensor> shape_of;  // one computed block's outputs, for the zeros
  Progress bar(rows, {what, "items", progress});
  for (int64_t start = 0, b = 0; start < rows; start += block, ++b) {
    const int64_t n = std::min(block, rows - start);
    sizes.push_back(n);
    blocks.emplace_back();
    if (sharding.owns(b)) {
      blocks.back() = compute(start, n);
      if (shape_of.empty()) shape_of = blocks.back();
    }
    bar.advance(n);
  }
  // A rank that owns no block learns the outputs' widths from one row.
  if (shape_of.empty()) shape_of = compute(0, 1);
  std::vector<torch::Tensor> out;
  for (size_t k = 0; k < shape_of.size(); ++k) {
    std::vector<torch::Tensor> parts;
    for (size_t b = 0; b < blocks.size(); ++b) {
      parts.push_back(blocks[b].empty()
                          ? torch::zeros({sizes[b], shape_of[k].size(1)}, shape_of[k].options())
                          : blocks[b][k]);
    }
    out.push_back(torch::cat(parts).contiguous());
    // x + 0 is x: the sum over the ranks copies each block from the rank that computed it.
    if (sharding.active()) sharding.sum(out.back());
  }
  return out;
}

}  // namespace hcmsn::util
