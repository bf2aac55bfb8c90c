#include "hcmsn/metrics/ranking.h"

#include <algorithm>
#include <cmath>

namespace hcmsn::metrics::detail {

void rank_relevant_bucketed(int64_t n, double lo, double hi, const int64_t* gallery_labels,
                            int64_t label, int64_t num_relevant, RankingScratch& s) {
  s.ranks.clear();
  s.tie_ends.clear();
  if (n == 0 || num_relevant == 0) return;
  // About 4 items per bucket; the map is monotone (subtraction, scaling and truncation all are),
  // so a smaller bucket never holds a larger key.
  const uint32_t buckets = static_cast<uint32_t>(std::clamp<int64_t>(n / 4, 1, 1 << 16));
  const double span = hi - lo;
  const double scale = span > 0 && std::isfinite(span) ? buckets / span : 0.0;
  const auto bucket = [&](double k) -> uint32_t {
    if (scale == 0.0) return 0;  // equal or non-finite keys: one bucket, sorted exactly
    const double b = (k - lo) * scale;
    return b >= buckets ? buckets - 1 : static_cast<uint32_t>(b);
  };

  s.bucket_of.resize(static_cast<size_t>(n));
  s.bucket_start.assign(buckets + 1, 0);
  s.marked.assign(buckets, 0);
  // Raw pointers: through the scratch struct the compiler would reload them on every store.
  const double* keys = s.keys.data();
  uint32_t* bucket_of = s.bucket_of.data();
  uint32_t* start = s.bucket_start.data();
  uint8_t* marked = s.marked.data();
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t b = bucket(keys[j]);
    bucket_of[j] = b;
    ++start[b + 1];
    marked[b] |= static_cast<uint8_t>(gallery_labels[j] == label);
  }
  // Counts -> offsets (items before each bucket); gather offsets of the marked buckets.
  s.gather_start.assign(buckets + 1, 0);
  uint32_t* gather_start = s.gather_start.data();
  uint32_t gathered = 0;
  for (uint32_t b = 0; b < buckets; ++b) {
    gather_start[b] = gathered;
    if (marked[b]) gathered += start[b + 1];
    start[b + 1] += start[b];
  }
  gather_start[buckets] = gathered;
  // Branchless gather: unmarked buckets write to a trash slot at the end and never advance.
  s.members.resize(gathered + 1);
  auto* members = s.members.data();
  s.cursor.resize(buckets);
  uint32_t* cur = s.cursor.data();
  for (uint32_t b = 0; b < buckets; ++b) cur[b] = marked[b] ? gather_start[b] : gathered;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t b = bucket_of[j];
    const uint32_t at = cur[b];
    members[at] = {keys[j], static_cast<uint32_t>(j)};
    cur[b] = at + marked[b];
  }
  for (uint32_t b = 0; b < buckets; ++b) {
    if (!marked[b]) continue;
    auto* first = members + gather_start[b];
    auto* last = members + gather_start[b + 1];
    // Members were gathered in index order; pairs compare by key, then index.
    std::sort(first, last);
    int64_t rank = start[b];
    for (auto* it = first; it != last;) {
      // A run of equal keys: every relevant item in it gets the run's last rank as tie end.
      auto* run_end = it + 1;
      while (run_end != last && run_end->first == it->first) ++run_end;
      const int64_t tie_end = rank + (run_end - it);
      for (; it != run_end; ++it) {
        ++rank;
        if (gallery_labels[it->second] == label) {
          s.ranks.push_back(rank);
          s.tie_ends.push_back(tie_end);
        }
      }
    }
  }
}

}  // namespace hcmsn::metrics::detail
