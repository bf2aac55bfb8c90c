// Installing the frozen teacher of knowledge transfer (model/knowledge_transfer.h) in a run
// trained on an `hcmsn extract` feature cache: the classifier of the backbone the cache records
// (its kind and weights file) and the embeddings of the teacher's class names.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "hcmsn/model/hcmsn_model.h"

namespace hcmsn::train {

struct TeacherSource {
  /// The cache's meta (data::FeatureCache::meta): "backbone" and "weights" name the teacher.
  nlohmann::json cache_meta;
  /// float32 (K, sem_dim) .npy of the teacher's class names and its class list (one per line,
  /// K lines; e.g. share/semantics/bert_minilm_imagenet1000.npy and .classes.txt).
  std::string concepts, concepts_classes;
};

/// Reads the teacher and installs it in `model` (built with teacher_classes = K). Throws
/// hcmsn::Error when the cache does not record a pretrained backbone, its weights file is gone
/// or changed shape, or the concept embeddings do not have K rows of sem_dim values.
void install_teacher(model::HCMSNModelImpl& model, const TeacherSource& source);

/// K of the teacher of this cache meta (the rows of its classifier), read from the weights.
int64_t teacher_classes_of(const nlohmann::json& cache_meta);

}  // namespace hcmsn::train
