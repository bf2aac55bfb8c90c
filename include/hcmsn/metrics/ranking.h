// Ranking one query's gallery: stable argsort of distances (ascending, ties by gallery index),
// and the ranks of the items relevant to the query.
//
// Floats are mapped to unsigned integers with the same order (sign-magnitude flip, −0 = +0) and
// sorted by an LSD radix sort with 11-bit digits: 3 passes for float32, at most 6 for float64,
// each O(N). Being stable on input order, it breaks ties by gallery index with no extra work.
// NaN keys are not supported: callers reject non-finite input first.
#pragma once

#include <cstdint>
#include <vector>

namespace hcmsn::metrics {

/// A float64 sort element: the order-preserving key and the gallery index.
struct KeyIndex64 {
  uint64_t key;
  uint32_t idx;
};

/// Reusable per-thread storage for rank_relevant (sized on first use).
struct RankingScratch {
  std::vector<uint64_t> a, b;    // float32 path: key << 32 | index
  std::vector<KeyIndex64> a64, b64;  // float64 path
  std::vector<uint32_t> idx;     // the order of the last argsort
  std::vector<int64_t> ranks;    // output of rank_relevant
};

/// Stable ascending argsort of `keys[0..n)` into `order` (resized to n).
void argsort(const float* keys, int64_t n, std::vector<uint32_t>& order, RankingScratch& scratch);
void argsort(const double* keys, int64_t n, std::vector<uint32_t>& order, RankingScratch& scratch);

/// Fills scratch.ranks with the ascending 1-based ranks of the gallery items whose label equals
/// `label`, for the ranking of `keys` (ascending = better). `num_relevant` is how many there
/// are (the scan stops once all are found).
template <typename T>
void rank_relevant(const T* keys, int64_t n, const int64_t* gallery_labels, int64_t label,
                   int64_t num_relevant, RankingScratch& scratch);

}  // namespace hcmsn::metrics
