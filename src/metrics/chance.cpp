#include "hcmsn/metrics/chance.h"

#include <unordered_map>

#include "hcmsn/util/check.h"

namespace hcmsn::metrics {

double expected_random_ap(int64_t r, int64_t n) {
  HCMSN_CHECK(n >= 1 && r >= 0 && r <= n, "need 0 <= R <= N and N >= 1, got R = ", r, ", N = ", n);
  if (r == 0) return 0.0;
  if (n == 1) return 1.0;
  double harmonic = 0.0;
  for (int64_t k = n; k >= 1; --k) harmonic += 1.0 / static_cast<double>(k);  // small terms first
  const double nd = static_cast<double>(n);
  return static_cast<double>(r - 1) / (nd - 1.0) +
         harmonic * static_cast<double>(n - r) / (nd * (nd - 1.0));
}

double chance_map_all(const Labels& labels) {
  HCMSN_CHECK(!labels.query.empty() && !labels.gallery.empty(),
              "chance level needs at least one query and one gallery item");
  std::unordered_map<int64_t, int64_t> count;
  for (const int64_t g : labels.gallery) ++count[g];
  const int64_t n = static_cast<int64_t>(labels.gallery.size());
  std::unordered_map<int64_t, double> per_class;
  double sum = 0.0;
  for (const int64_t q : labels.query) {
    auto it = per_class.find(q);
    if (it == per_class.end()) {
      const auto c = count.find(q);
      it = per_class.emplace(q, expected_random_ap(c == count.end() ? 0 : c->second, n)).first;
    }
    sum += it->second;
  }
  return sum / static_cast<double>(labels.query.size());
}

}  // namespace hcmsn::metrics
