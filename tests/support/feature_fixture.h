// A class-structured feature cache for training tests: each class's semantic vector lifted to the
// feature space by one random matrix, plus noise; sketches and photos alternate within a class.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::test {

struct FeatureFixtureOptions {
  int64_t classes = 12;
  int64_t per_modality = 10;  // rows per class and modality
  int64_t dim = 24;
  int64_t sem_dim = 6;
  double noise = 0.3;
  uint64_t seed = 3;
  std::vector<std::string> unseen = {"class_9", "class_10", "class_11"};
};

/// Writes DIR/features.hfc (classes class_0 …), DIR/semantics.npy, DIR/classes.txt and
/// DIR/unseen.txt, creating DIR.
void write_feature_fixture(const std::string& dir, const FeatureFixtureOptions& options = {});

}  // namespace hcmsn::test
