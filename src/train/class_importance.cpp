#include "hcmsn/train/class_importance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "hcmsn/util/check.h"

namespace hcmsn::train {
namespace {

void check_sample(const std::vector<double>& sample, const char* what) {
  HCMSN_CHECK(!sample.empty(), "importance weights need at least one ", what, " value");
  for (const double x : sample) {
    HCMSN_CHECK(std::isfinite(x), "a ", what, " value for importance weights is not finite (", x,
                ")");
  }
}

// log of the Gaussian kernel density of `sample` at x, without the 1/(h√(2π)) both densities
// share; log-sum-exp, so a point far from every sample value still has a finite log density.
double log_density(double x, const std::vector<double>& sample, double h) {
  std::vector<double> z(sample.size());
  for (size_t i = 0; i < sample.size(); ++i) {
    const double d = (x - sample[i]) / h;
    z[i] = -0.5 * d * d;
  }
  const double top = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (const double v : z) sum += std::exp(v - top);
  return top + std::log(sum) - std::log(static_cast<double>(sample.size()));
}

// w_i = min(cap, a r_i) with mean 1: with the k largest ratios clipped,
// a = (n - k cap) / (sum of the others), valid when it clips exactly those k.
std::vector<double> capped_to_mean_one(const std::vector<double>& ratio, double cap) {
  const size_t n = ratio.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return ratio[i] > ratio[j]; });
  double rest = std::accumulate(ratio.begin(), ratio.end(), 0.0);
  for (size_t k = 0; k < n; ++k) {
    const double remaining = static_cast<double>(n) - static_cast<double>(k) * cap;
    if (remaining > 0 && rest > 0) {
      const double a = remaining / rest;
      const bool fits_next = a * ratio[order[k]] <= cap;
      const bool clips_previous = k == 0 || a * ratio[order[k - 1]] >= cap;
      if (fits_next && clips_previous) {
        std::vector<double> w(n);
        for (size_t i = 0; i < n; ++i) w[i] = std::min(cap, a * ratio[i]);
        return w;
      }
    }
    rest -= ratio[order[k]];
  }
  // Only when fewer than n / cap ratios are above zero: no capped weights reach mean 1.
  const double mean = std::accumulate(ratio.begin(), ratio.end(), 0.0) / static_cast<double>(n);
  std::vector<double> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = ratio[i] / mean;
  return w;
}

}  // namespace

double silverman_bandwidth(const std::vector<double>& source, const std::vector<double>& target) {
  std::vector<double> all = source;
  all.insert(all.end(), target.begin(), target.end());
  HCMSN_CHECK(all.size() >= 2, "a bandwidth needs at least two values");
  const double n = static_cast<double>(all.size());
  const double mean = std::accumulate(all.begin(), all.end(), 0.0) / n;
  double ss = 0;
  for (const double x : all) ss += (x - mean) * (x - mean);
  const double sigma = std::sqrt(ss / (n - 1));
  return std::max(1e-6, 1.06 * sigma * std::pow(n, -0.2));
}

std::vector<double> density_ratio_weights(const std::vector<double>& source,
                                          const std::vector<double>& target,
                                          const ImportanceOptions& options) {
  check_sample(source, "source");
  check_sample(target, "target");
  HCMSN_CHECK(options.max_weight >= 1,
              "the largest importance weight must be at least 1 (the mean), got ",
              options.max_weight);
  HCMSN_CHECK(options.bandwidth >= 0 && std::isfinite(options.bandwidth),
              "the kernel bandwidth must be positive (or 0 for Silverman's rule), got ",
              options.bandwidth);
  const double h = options.bandwidth > 0 ? options.bandwidth : silverman_bandwidth(source, target);
  std::vector<double> log_ratio(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    log_ratio[i] = log_density(source[i], target, h) - log_density(source[i], source, h);
  }
  // Scaled by the largest before exp: the mean-1 normalisation removes any common factor.
  const double top = *std::max_element(log_ratio.begin(), log_ratio.end());
  std::vector<double> ratio(source.size());
  for (size_t i = 0; i < source.size(); ++i) ratio[i] = std::exp(log_ratio[i] - top);
  return capped_to_mean_one(ratio, options.max_weight);
}

torch::Tensor teacher_similarity(const torch::Tensor& semantics, const torch::Tensor& concepts) {
  HCMSN_CHECK(semantics.defined() && semantics.dim() == 2 && semantics.size(0) > 0,
              "class semantics must be a non-empty (M, D) matrix");
  HCMSN_CHECK(concepts.defined() && concepts.dim() == 2 && concepts.size(0) > 0,
              "teacher concepts must be a non-empty (K, D) matrix");
  HCMSN_CHECK(semantics.size(1) == concepts.size(1), "class semantics have ", semantics.size(1),
              " dimensions and the teacher's concepts ", concepts.size(1),
              ": embed both with the same text encoder");
  const auto unit = [](const torch::Tensor& x, const char* what) {
    const auto xd = x.to(torch::kFloat64);
    const auto norm = xd.norm(2, 1, /*keepdim=*/true);
    HCMSN_CHECK(norm.min().item<double>() > 0, what, " hold a zero row: it has no direction");
    return xd / norm;
  };
  return std::get<0>(
      unit(semantics, "class semantics").mm(unit(concepts, "teacher concepts").t()).max(1));
}

std::map<std::string, double> match_teacher_similarity(const std::vector<std::string>& class_names,
                                                       const torch::Tensor& semantics,
                                                       const torch::Tensor& concepts,
                                                       const std::vector<std::string>& validation,
                                                       const std::vector<std::string>& target,
                                                       const ImportanceOptions& options) {
  HCMSN_CHECK(static_cast<int64_t>(class_names.size()) == semantics.size(0), class_names.size(),
              " class names for ", semantics.size(0), " semantic vectors");
  const auto similarity = teacher_similarity(semantics, concepts).contiguous();
  const auto* t = similarity.data_ptr<double>();
  const auto values_of = [&](const std::vector<std::string>& classes, const char* what) {
    HCMSN_CHECK(!classes.empty(), "matching teacher similarity needs ", what, " classes");
    std::vector<double> values;
    for (const auto& name : classes) {
      const auto it = std::find(class_names.begin(), class_names.end(), name);
      HCMSN_CHECK(it != class_names.end(), "the ", what, " class '", name,
                  "' has no semantic vector: embed every class of the split");
      values.push_back(t[it - class_names.begin()]);
    }
    return values;
  };
  const auto weights = density_ratio_weights(values_of(validation, "validation"),
                                             values_of(target, "target"), options);
  std::map<std::string, double> by_class;
  for (size_t i = 0; i < validation.size(); ++i) by_class[validation[i]] = weights[i];
  return by_class;
}

}  // namespace hcmsn::train
