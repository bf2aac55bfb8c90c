// Ranking one query's gallery: the 1-based ranks of the items relevant to the query when the
// gallery is ordered by ascending key (= distance), ties broken by gallery index.
//
// Only the ranks of the R relevant items are needed, not a full sort: keys are spread over
// about N/4 value buckets by a monotone map (so a lower bucket never holds a larger key), every
// bucket is counted, and only the buckets that hold a relevant item are gathered and sorted
// exactly by (key, index). That is three linear passes plus small sorts, and the ranks equal
// those of a full stable sort. Keys are compared after rounding to T (float or double); −0
// equals +0. Non-finite keys are allowed (they share one bucket) but NaN is not: callers reject
// non-finite input first.
//
// Keys come from a functor `key(j)` so that callers compute them on the fly from a raw matrix
// product (no separate elementwise passes over the distance block).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "hcmsn/util/check.h"

namespace hcmsn::metrics {

/// Reusable per-thread storage (sized on first use).
struct RankingScratch {
  std::vector<int64_t> ranks;     // the output of rank_relevant
  std::vector<int64_t> tie_ends;  // per relevant item: the last rank of its run of equal keys
  std::vector<double> keys;
  std::vector<uint32_t> bucket_of;
  std::vector<uint32_t> bucket_start;  // items before each bucket
  std::vector<uint32_t> gather_start;  // offsets of the marked buckets in `members`
  std::vector<uint32_t> cursor;
  std::vector<uint8_t> marked;  // bucket holds a relevant item
  std::vector<std::pair<double, uint32_t>> members;
};

namespace detail {
/// Ranks of the relevant items given s.keys[0..n) and their min and max. Fills s.ranks.
void rank_relevant_bucketed(int64_t n, double lo, double hi, const int64_t* gallery_labels,
                            int64_t label, int64_t num_relevant, RankingScratch& s);
}  // namespace detail

/// Fills scratch.ranks with the ascending 1-based ranks of the gallery items whose label equals
/// `label` in the ranking of key(0..n), and scratch.tie_ends with the rank of the last item
/// whose key equals theirs (= the rank itself when the key is unique). `num_relevant` is how
/// many such items there are.
template <typename T, typename KeyFn>
void rank_relevant_keys(KeyFn key, int64_t n, const int64_t* gallery_labels, int64_t label,
                        int64_t num_relevant, RankingScratch& s) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double keys");
  HCMSN_ASSERT(n >= 0 && n <= int64_t{UINT32_MAX}, "gallery too large for 32-bit indices");
  s.keys.resize(static_cast<size_t>(n));
  double lo = 0.0, hi = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    // Rounded to T first: the ranking is that of the T-valued keys (exact in double).
    double k = static_cast<double>(static_cast<T>(key(j)));
    if (k == 0.0) k = 0.0;  // −0 ties with +0
    s.keys[static_cast<size_t>(j)] = k;
    if (j == 0 || k < lo) lo = k;
    if (j == 0 || k > hi) hi = k;
  }
  detail::rank_relevant_bucketed(n, lo, hi, gallery_labels, label, num_relevant, s);
}

/// rank_relevant_keys over an array of keys.
template <typename T>
void rank_relevant(const T* keys, int64_t n, const int64_t* gallery_labels, int64_t label,
                   int64_t num_relevant, RankingScratch& s) {
  rank_relevant_keys<T>([keys](int64_t j) { return keys[j]; }, n, gallery_labels, label,
                        num_relevant, s);
}

}  // namespace hcmsn::metrics
