// Ranking one query's gallery: stable argsort of keys (ascending, ties by gallery index), and
// the ranks of the items relevant to the query.
//
// Floats are mapped to unsigned integers with the same order (sign-magnitude flip, −0 = +0) and
// sorted by an LSD radix sort with 11-bit digits: 3 passes for float32, at most 6 for float64,
// each O(N); the digit histograms are all counted while the keys are produced, and passes where
// every key shares the digit are skipped. Being stable on input order, the sort breaks ties by
// gallery index with no extra work. NaN keys are not supported: callers reject them first.
//
// Keys come from a functor `key(j)` so that callers can compute them on the fly from a raw
// matrix product (no separate elementwise passes over the distance block).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "hcmsn/util/check.h"

namespace hcmsn::metrics {

inline constexpr int kRadixBits = 11;
inline constexpr uint32_t kRadixBuckets = 1u << kRadixBits;

/// A float64 sort element: the order-preserving key and the gallery index.
struct KeyIndex64 {
  uint64_t key;
  uint32_t idx;
};

/// Reusable per-thread storage (sized on first use).
struct RankingScratch {
  std::vector<uint64_t> a, b;        // float32 path: key << 32 | index
  std::vector<KeyIndex64> a64, b64;  // float64 path
  std::vector<std::array<uint32_t, kRadixBuckets>> hist;  // one histogram per digit
  std::vector<uint32_t> order;       // the permutation found by the last sort
  std::vector<int64_t> ranks;        // output of rank_relevant
};

namespace detail {

inline uint32_t ordered_bits(float f) {
  uint32_t u;
  if (f == 0.0f) f = 0.0f;  // −0 sorts with +0
  std::memcpy(&u, &f, sizeof(u));
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
inline uint64_t ordered_bits(double f) {
  uint64_t u;
  if (f == 0.0) f = 0.0;
  std::memcpy(&u, &f, sizeof(u));
  return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
}

/// Sorts scratch.a (float32 path) or scratch.a64 (float64 path) given their histograms and
/// writes the permutation to scratch.order.
void sort_packed32(RankingScratch& s, int64_t n);
void sort_packed64(RankingScratch& s, int64_t n);

}  // namespace detail

/// Stable ascending argsort of key(0..n) into scratch.order. T is float or double.
template <typename T, typename KeyFn>
void argsort_keys(KeyFn key, int64_t n, RankingScratch& s) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double keys");
  HCMSN_ASSERT(n >= 0 && n <= int64_t{UINT32_MAX}, "gallery too large for 32-bit indices");
  const auto un = static_cast<size_t>(n);
  constexpr size_t kDigits = std::is_same_v<T, float> ? 3 : 6;
  s.hist.resize(kDigits);
  for (auto& h : s.hist) h.fill(0);
  if constexpr (std::is_same_v<T, float>) {
    s.a.resize(un);
    s.b.resize(un);
    auto& h = s.hist;
    for (int64_t j = 0; j < n; ++j) {
      const uint32_t u = detail::ordered_bits(static_cast<float>(key(j)));
      s.a[static_cast<size_t>(j)] = (static_cast<uint64_t>(u) << 32) | static_cast<uint64_t>(j);
      ++h[0][u & (kRadixBuckets - 1)];
      ++h[1][(u >> kRadixBits) & (kRadixBuckets - 1)];
      ++h[2][u >> (2 * kRadixBits)];
    }
    detail::sort_packed32(s, n);
  } else {
    s.a64.resize(un);
    s.b64.resize(un);
    for (int64_t j = 0; j < n; ++j) {
      const uint64_t u = detail::ordered_bits(static_cast<double>(key(j)));
      s.a64[static_cast<size_t>(j)] = KeyIndex64{u, static_cast<uint32_t>(j)};
      for (size_t d = 0; d < kDigits; ++d) ++s.hist[d][(u >> (d * kRadixBits)) & (kRadixBuckets - 1)];
    }
    detail::sort_packed64(s, n);
  }
}

/// Stable ascending argsort of an array into `order`.
template <typename T>
void argsort(const T* keys, int64_t n, std::vector<uint32_t>& order, RankingScratch& s) {
  argsort_keys<T>([keys](int64_t j) { return keys[j]; }, n, s);
  order = s.order;
}

/// Fills scratch.ranks with the ascending 1-based ranks of the gallery items whose label equals
/// `label` in the ranking of key(0..n) (ascending = better). `num_relevant` is how many there
/// are (the scan stops once all are found).
template <typename T, typename KeyFn>
void rank_relevant_keys(KeyFn key, int64_t n, const int64_t* gallery_labels, int64_t label,
                        int64_t num_relevant, RankingScratch& s) {
  argsort_keys<T>(key, n, s);
  s.ranks.clear();
  for (int64_t r = 0; r < n && static_cast<int64_t>(s.ranks.size()) < num_relevant; ++r) {
    if (gallery_labels[s.order[static_cast<size_t>(r)]] == label) s.ranks.push_back(r + 1);
  }
}

template <typename T>
void rank_relevant(const T* keys, int64_t n, const int64_t* gallery_labels, int64_t label,
                   int64_t num_relevant, RankingScratch& s) {
  rank_relevant_keys<T>([keys](int64_t j) { return keys[j]; }, n, gallery_labels, label,
                        num_relevant, s);
}

}  // namespace hcmsn::metrics
