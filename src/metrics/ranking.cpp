#include "hcmsn/metrics/ranking.h"

namespace hcmsn::metrics::detail {
namespace {

// Turns a histogram into bucket start offsets; false when one bucket holds all n elements
// (the pass would not move anything and is skipped).
bool prefix_offsets(std::array<uint32_t, kRadixBuckets>& h, int64_t n) {
  uint32_t sum = 0;
  for (uint32_t b = 0; b < kRadixBuckets; ++b) {
    if (static_cast<int64_t>(h[b]) == n) return false;
    const uint32_t c = h[b];
    h[b] = sum;
    sum += c;
  }
  return true;
}

}  // namespace

void sort_packed32(RankingScratch& s, int64_t n) {
  uint64_t* src = s.a.data();
  uint64_t* dst = s.b.data();
  for (int d = 0; d < 3; ++d) {
    auto& h = s.hist[static_cast<size_t>(d)];
    if (!prefix_offsets(h, n)) continue;
    const int shift = 32 + d * kRadixBits;
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t x = src[i];
      dst[h[(x >> shift) & (kRadixBuckets - 1)]++] = x;
    }
    std::swap(src, dst);
  }
  s.order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) s.order[static_cast<size_t>(i)] = static_cast<uint32_t>(src[i]);
}

void sort_packed64(RankingScratch& s, int64_t n) {
  KeyIndex64* src = s.a64.data();
  KeyIndex64* dst = s.b64.data();
  for (size_t d = 0; d < s.hist.size(); ++d) {
    auto& h = s.hist[d];
    if (!prefix_offsets(h, n)) continue;
    const size_t shift = d * kRadixBits;
    for (int64_t i = 0; i < n; ++i) {
      const KeyIndex64 x = src[i];
      dst[h[(x.key >> shift) & (kRadixBuckets - 1)]++] = x;
    }
    std::swap(src, dst);
  }
  s.order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) s.order[static_cast<size_t>(i)] = src[i].idx;
}

}  // namespace hcmsn::metrics::detail
