#include "support/feature_fixture.h"

#include <torch/torch.h>

#include <filesystem>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"

namespace hcmsn::test {

void write_feature_fixture(const std::string& dir, const FeatureFixtureOptions& o) {
  std::filesystem::create_directories(dir);
  torch::manual_seed(o.seed);
  const auto semantics = torch::randn({o.classes, o.sem_dim});
  const auto lift = torch::randn({o.sem_dim, o.dim});
  data::FeatureCache cache;
  std::vector<int64_t> labels, modality;
  for (int64_t c = 0; c < o.classes; ++c) {
    cache.class_names.push_back("class_" + std::to_string(c));
    for (int64_t i = 0; i < 2 * o.per_modality; ++i) {
      labels.push_back(c);
      modality.push_back(i % 2);
      cache.item_ids.push_back("c" + std::to_string(c) + "_" + std::to_string(i));
    }
  }
  cache.labels = torch::tensor(labels, torch::kInt64);
  cache.modality = torch::tensor(modality, torch::kInt64);
  cache.features = (semantics.index_select(0, cache.labels).mm(lift) +
                    o.noise * torch::randn({o.classes * 2 * o.per_modality, o.dim}))
                       .contiguous();
  data::save_feature_cache(dir + "/features.hfc", cache);
  io::write_npy(dir + "/semantics.npy", semantics);
  io::write_labels(dir + "/classes.txt", cache.class_names);
  io::write_labels(dir + "/unseen.txt", o.unseen);
}

}  // namespace hcmsn::test
