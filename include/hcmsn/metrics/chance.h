// The chance level of retrieval: what a uniformly random ranking scores in expectation. Reports
// show it next to a model's figures, since mAP@all is only meaningful against it (with R of N
// gallery items relevant it is about R/N, not 0).
#pragma once

#include <cstdint>

#include "hcmsn/metrics/retrieval_evaluator.h"

namespace hcmsn::metrics {

/// E[AP] of a uniformly random ranking of N items of which R are relevant (1 ≤ R ≤ N):
///   E[AP] = (R − 1)/(N − 1) + H_N (N − R) / (N (N − 1)),   H_N = Σ_{k≤N} 1/k,
/// since a relevant item at rank k has E[P@k] = (1 + (k − 1)(R − 1)/(N − 1)) / k and its rank
/// is uniform. 1 when N = 1. 0 when R = 0.
double expected_random_ap(int64_t num_relevant, int64_t gallery_size);

/// The mean of expected_random_ap over the queries (the standard protocol's mAP@all of a random
/// ranking); queries whose class has no gallery item count as 0, as in the evaluator's default.
double chance_map_all(const Labels& labels);

}  // namespace hcmsn::metrics
