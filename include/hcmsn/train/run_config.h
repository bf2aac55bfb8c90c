// A run directory holds everything needed to rebuild, resume and evaluate a trained model:
//
//   RUN_DIR/config.json              RunConfig (below), written once when training starts
//   RUN_DIR/semantics.npy            float32 (M, D) class embeddings of seen + unseen classes
//   RUN_DIR/semantics_classes.txt    their M class names
//   RUN_DIR/last.ckpt, best.ckpt     checkpoints (checkpoint.h)
//   RUN_DIR/log.jsonl                one JSON object per epoch (trainer.h)
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hcmsn/model/backbone.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/model/losses.h"
#include "hcmsn/model/retrieval_network.h"
#include "hcmsn/train/trainer_options.h"

namespace hcmsn::train {

/// Where a run's rows come from.
struct DataSpec {
  /// "features": a feature cache file (data/feature_cache.h); "images":
  /// ROOT/{sketch,photo}/<class>/.
  std::string kind = "features";
  std::string path;
};

/// The backbone in front of HCMSN: "none" (cached features) or "small-cnn".
struct BackboneSpec {
  std::string kind = "none";
  std::vector<int64_t> channels = {16, 32, 64, 64};
  int64_t convs_per_stage = 1;
  /// 0: the pooled features (channels.back() values).
  int64_t out_dim = 0;
  model::ImageInputOptions input;
};

struct RunConfig {
  static constexpr int kVersion = 1;
  model::HCMSNModelOptions model{1};
  BackboneSpec backbone;
  model::LossOptions loss;
  TrainerOptions trainer;
  DataSpec data;
  std::vector<std::string> seen_classes;
  std::vector<std::string> unseen_classes;
  /// Seen classes held out of training to select the checkpoint and the fusion weights (never
  /// the classes a run reports); empty: the run evaluates on the unseen classes while training.
  std::vector<std::string> validation_classes;

  nlohmann::json to_json() const;
  /// Throws hcmsn::Error on a missing key, a wrong type or a newer version.
  static RunConfig from_json(const nlohmann::json& json);
};

/// A freshly initialised network of this configuration (seeded by the caller).
model::RetrievalNetwork build_network(const RunConfig& config);

std::string config_path(const std::string& run_dir);
std::string semantics_path(const std::string& run_dir);
std::string semantics_classes_path(const std::string& run_dir);
std::string last_checkpoint_path(const std::string& run_dir);
std::string best_checkpoint_path(const std::string& run_dir);
std::string log_path(const std::string& run_dir);

void write_run_config(const std::string& run_dir, const RunConfig& config);
/// Throws hcmsn::Error saying that the folder is not a run when config.json is missing.
RunConfig read_run_config(const std::string& run_dir);

}  // namespace hcmsn::train
