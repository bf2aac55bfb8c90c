#include "hcmsn/metrics/ranking.h"

#include <array>
#include <cstring>

#include "hcmsn/util/check.h"

namespace hcmsn::metrics {
namespace {

constexpr int kDigitBits = 11;
constexpr uint32_t kBuckets = 1u << kDigitBits;

// Order-preserving maps from IEEE floats to unsigned integers.
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

// One stable counting-sort pass over `digit(x)`; returns false (and moves nothing) when every
// element has the same digit, so that pass can be skipped.
template <typename Elem, typename Digit>
bool radix_pass(const Elem* src, Elem* dst, int64_t n, Digit digit) {
  std::array<int64_t, kBuckets> count{};
  for (int64_t i = 0; i < n; ++i) ++count[digit(src[i])];
  for (uint32_t b = 0; b < kBuckets; ++b) {
    if (count[b] == n) return false;
    if (count[b] != 0) break;
  }
  int64_t sum = 0;
  for (uint32_t b = 0; b < kBuckets; ++b) {
    const int64_t c = count[b];
    count[b] = sum;
    sum += c;
  }
  for (int64_t i = 0; i < n; ++i) dst[count[digit(src[i])]++] = src[i];
  return true;
}

}  // namespace

void argsort(const float* keys, int64_t n, std::vector<uint32_t>& order, RankingScratch& s) {
  HCMSN_ASSERT(n >= 0 && n <= int64_t{UINT32_MAX}, "gallery too large for 32-bit indices");
  s.a.resize(static_cast<size_t>(n));
  s.b.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    s.a[i] = (static_cast<uint64_t>(ordered_bits(keys[i])) << 32) | static_cast<uint64_t>(i);
  }
  uint64_t* src = s.a.data();
  uint64_t* dst = s.b.data();
  for (int shift = 32; shift < 64; shift += kDigitBits) {
    const auto digit = [shift](uint64_t x) {
      return static_cast<uint32_t>(x >> shift) & (kBuckets - 1);
    };
    if (radix_pass(src, dst, n, digit)) std::swap(src, dst);
  }
  order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(src[i]);
}

void argsort(const double* keys, int64_t n, std::vector<uint32_t>& order, RankingScratch& s) {
  HCMSN_ASSERT(n >= 0 && n <= int64_t{UINT32_MAX}, "gallery too large for 32-bit indices");
  s.a64.resize(static_cast<size_t>(n));
  s.b64.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    s.a64[i] = KeyIndex64{ordered_bits(keys[i]), static_cast<uint32_t>(i)};
  }
  KeyIndex64* src = s.a64.data();
  KeyIndex64* dst = s.b64.data();
  for (int shift = 0; shift < 64; shift += kDigitBits) {
    const auto digit = [shift](const KeyIndex64& p) {
      return static_cast<uint32_t>(p.key >> shift) & (kBuckets - 1);
    };
    if (radix_pass(src, dst, n, digit)) std::swap(src, dst);
  }
  order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = src[i].idx;
}

template <typename T>
void rank_relevant(const T* keys, int64_t n, const int64_t* gallery_labels, int64_t label,
                   int64_t num_relevant, RankingScratch& s) {
  argsort(keys, n, s.idx, s);
  s.ranks.clear();
  s.ranks.reserve(static_cast<size_t>(num_relevant));
  for (int64_t r = 0; r < n && static_cast<int64_t>(s.ranks.size()) < num_relevant; ++r) {
    if (gallery_labels[s.idx[r]] == label) s.ranks.push_back(r + 1);
  }
}

template void rank_relevant<float>(const float*, int64_t, const int64_t*, int64_t, int64_t,
                                   RankingScratch&);
template void rank_relevant<double>(const double*, int64_t, const int64_t*, int64_t, int64_t,
                                    RankingScratch&);

}  // namespace hcmsn::metrics
