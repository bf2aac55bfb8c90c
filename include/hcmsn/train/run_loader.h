// Loading what a run needs: its rows (from the DataSpec), its class semantics, and a trained
// network from a run folder. The commands train, eval, embed and demo share these, so every
// command sees the same rows in the same order.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/model/retrieval_network.h"
#include "hcmsn/train/checkpoint.h"
#include "hcmsn/train/run_config.h"
#include "hcmsn/train/training_set.h"

namespace hcmsn::train {

/// A feature cache's rows (features, labels, modality, class names, item ids), validated.
TrainingSet rows_of_cache(data::FeatureCache cache);

/// Every row of the data source: a feature cache's rows, or an image folder's images decoded
/// and resized to the backbone's input size (unreadable images are an error that lists them).
/// `cache_meta` (optional) receives a feature cache's meta (data::FeatureCache::meta).
TrainingSet load_rows(const DataSpec& data, const BackboneSpec& backbone, bool progress,
                      nlohmann::json* cache_meta = nullptr);

/// The rows of the feature cache `extra_photos` (DataSpec::extra_photos) whose class is one of
/// `classes` (the training classes), labelled by their index there: extra training photos for
/// a run on a feature cache whose meta is `meta`. The extra cache must be photos only, with the
/// same backbone, weights and preprocessing (throws hcmsn::Error saying which differs) and every
/// one of `classes` in its class list.
TrainingSet extra_photo_rows(const std::vector<std::string>& classes, const nlohmann::json& meta,
                             const std::string& extra_photos);

/// Class semantics as stored in a run: float32 (M, D) and M class names.
struct ClassSemantics {
  std::vector<std::string> class_names;
  torch::Tensor embeddings;
};
/// Reads an (M, D) .npy and an M-line class list; throws hcmsn::Error on a count mismatch.
ClassSemantics read_class_semantics(const std::string& npy_path, const std::string& classes_path);
void write_run_semantics(const std::string& run_dir, const ClassSemantics& semantics);
ClassSemantics read_run_semantics(const std::string& run_dir);

struct LoadedRun {
  RunConfig config;
  model::RetrievalNetwork network{nullptr};
  TrainerState state;
};
/// The network of a run with the weights of `which` ("best" or "last"), in eval mode.
LoadedRun load_run(const std::string& run_dir, const std::string& which = "best");

}  // namespace hcmsn::train
